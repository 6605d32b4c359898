// The seed's crypto block in its IKEv2 form as IOS writes it: proposal, policy, keyring for
// 172.16.0.0/16 with `key`, an ikev2 profile, and the ipsec profile MyProfile that names it.
export const ikev2IosBlock = (key = 'P4ssw0rd') => `crypto ikev2 proposal P
 encryption aes-cbc-256
 integrity sha256
 group 14
crypto ikev2 policy POL
 proposal P
crypto ikev2 keyring KR
 peer ANY
  address 172.16.0.0 255.255.0.0
  pre-shared-key ${key}
crypto ikev2 profile IKEV2PROF
 match identity remote address 172.16.0.0 255.255.0.0
 authentication remote pre-share
 authentication local pre-share
 keyring local KR
!
crypto ipsec transform-set MyTransformSet esp-aes esp-sha-hmac
!
crypto ipsec profile MyProfile
 set transform-set MyTransformSet
 set ikev2-profile IKEV2PROF
`;
