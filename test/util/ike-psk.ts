// Seed 003's IKEv1 pre-shared-key crypto block with `mode transport`, the shortest IOS IPsec lifetime
// (120 s, so a phase 2 rekey happens within a test) and DPD, appended to a lab config.
export const IKE_PSK_CRYPTO = `crypto isakmp policy 10
 authentication pre-share
crypto isakmp key P4ssw0rd address 172.16.0.0 255.255.0.0
crypto isakmp keepalive 10 2
!
crypto ipsec transform-set MyTransformSet esp-aes esp-sha-hmac
 mode transport
!
crypto ipsec profile MyProfile
 set transform-set MyTransformSet
 set security-association lifetime seconds 120
!
interface Tunnel0
 tunnel protection ipsec profile MyProfile
`;

export const withIkePsk = (cfg: string) => cfg.replace(/\nend\n?$/, `\n${IKE_PSK_CRYPTO}end\n`);
