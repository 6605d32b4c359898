// Our spoke Rn of the FRR nhrpd hub the interop VM runs on gre1 (network 1, 192.168.1.0/24; set up by
// frr-vm-setup.sh and ipsec-vm-setup.sh alike): one config for interop-frr (GRE in the clear) and
// interop-ipsec (`crypto` given: that block, and the tunnel protected by its `MyProfile`).
// WAN addressing is test/lab/topology.sh's: FastEthernet0/0 172.16.n5.2/30, LAN 10.0.n.0/24.

/** The FRR hub's NBMA address: the VM's eth0. */
export const FRR_HUB_NBMA = '172.16.99.2';

/** Rn's NBMA address. */
export const spokeNbma = (n: number) => `172.16.${n}5.2`;

/** `crypto`: an IOS crypto block defining `crypto ipsec profile MyProfile`; without it no IPsec. */
export const frrHubSpokeConfig = (n: number, crypto?: string) => `hostname R${n}
!
interface FastEthernet0/0
 ip address ${spokeNbma(n)} 255.255.255.252
!
interface FastEthernet0/1
 ip address 10.0.${n}.1 255.255.255.0
!
${crypto ? `${crypto}!\n` : ''}interface Tunnel0
 ip address 192.168.1.${n} 255.255.255.0
 ip mtu 1400
 ip nhrp map 192.168.1.1 ${FRR_HUB_NBMA}
 ip nhrp map multicast ${FRR_HUB_NBMA}
 ip nhrp network-id 1
 ip nhrp nhs 192.168.1.1
 ip nhrp holdtime 60
 ip nhrp registration timeout 10
 ip nhrp shortcut
 tunnel source FastEthernet0/0
 tunnel mode gre multipoint
${crypto ? ' tunnel protection ipsec profile MyProfile\n' : ''}!
ip route 0.0.0.0 0.0.0.0 172.16.${n}5.1
ip route 10.0.0.0 255.0.0.0 192.168.1.1
end
`;
