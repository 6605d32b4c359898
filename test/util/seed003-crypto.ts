// Seed 003's "Adding Crypto" block, verbatim, and a lab config with it added before `end`.

export const SEED003_CRYPTO = `crypto isakmp policy 10
 authentication pre-share
crypto isakmp key P4ssw0rd address 172.16.0.0 255.255.0.0
!
crypto ipsec transform-set MyTransformSet esp-aes esp-sha-hmac
!
crypto ipsec profile MyProfile
 set transform-set MyTransformSet
!
interface Tunnel0
 tunnel protection ipsec profile MyProfile
`;

export const withSeedCrypto = (cfg: string) => cfg.replace(/\nend\n?$/, `\n${SEED003_CRYPTO}end\n`);
