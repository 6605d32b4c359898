#!/bin/sh
# Runs inside the interop VM (fed to /bin/sh by the test through qemu-guest-agent, after frr-hub.sh): addresses,
# two multipoint GRE tunnels and FRR nhrpd on both of them, eigrpd on the spoke, then starts FRR.
#   eth0 172.16.99.2/24 (default via 172.16.99.1)  gre1 192.168.1.1/32  FRR NHRP *hub*   network-id 1
#   eth1 172.16.98.2/24 (source-routed via .98.1)  gre2 192.168.2.9/32  FRR NHRP *spoke* network-id 2,
#                                                   NHS 192.168.2.1 at NBMA 172.16.15.2 (our hub),
#                                                   eigrpd AS 100 towards our hub, its own LAN 192.168.9.0/24
# eigrpd logs "sendmsg ... failed ... Operation not permitted" for each multicast on gre2: that is the
# nft drop below, after nhrpd took its copy. It drops every packet from our hub ("network address is
# not same"): nhrpd needs the /32, eigrpd a neighbor inside its interface's prefix (FRR issue 5411).
# Two NICs (not two addresses on one) because nhrpd takes a tunnel's NBMA address from its
# `tunnel source` interface; the two mGRE tunnels are told apart by their local address (no keys).
set -eu
nics_up eth0 eth1
frr_hub_net
ip addr add 172.16.98.2/24 dev eth1
ip rule add from 172.16.98.2 table 100
ip route add default via 172.16.98.1 table 100
ip tunnel add gre2 mode gre ttl 64 local 172.16.98.2
ip addr add 192.168.2.9/32 dev gre2
ip link set gre2 up
# hub: the spoke LANs behind our two spokes (next hops resolved by NHRP registrations)
ip route add 10.0.2.0/24 via 192.168.1.2 dev gre1 onlink
ip route add 10.0.3.0/24 via 192.168.1.3 dev gre1 onlink
# spoke: the tunnel network of our hub's DMVPN
ip route add 192.168.2.0/24 dev gre2
# spoke: the appliance LAN behind our hub's other spoke, summarised via the hub (Phase 3)
ip route add 10.0.4.0/24 via 192.168.2.1 dev gre2 onlink
# spoke: a LAN of its own for EIGRP to advertise, on lo (the image has no dummy module); on lo the
# whole /24 is local, so 192.168.9.1 stands for the LAN's hosts
ip addr add 192.168.9.1/24 dev lo
nft -f - <<'EON'
table ip nhrp {
  # link-local multicast leaving gre2 (eigrpd's packets to 224.0.0.10): the kernel cannot send it on an
  # mGRE device (no NBMA address for a group), so nhrpd takes it from NFLOG group 2 and sends a copy to
  # each `ip nhrp map multicast` address (FRR docs, "Multicast Functionality"); the original is dropped
  chain nhrpmcast {
    type filter hook output priority 0;
    oifname "gre2" ip daddr 224.0.0.0/24 log group 2
    oifname "gre2" ip daddr 224.0.0.0/24 drop
  }
}
EON
{
  frr_hub_conf frr "NHRP hub for the appliance spokes"
  cat <<'EOC'
nhrp multicast-nflog-group 2
debug eigrp packets all
!
interface gre2
 description NHRP spoke of the appliance hub
 ip nhrp network-id 2
 ip nhrp holdtime 60
 ip nhrp nhs 192.168.2.1 nbma 172.16.15.2
 ip nhrp registration no-unique
 ip nhrp shortcut
 ip nhrp map multicast 172.16.15.2
 tunnel source eth1
exit
!
router eigrp 100
 eigrp router-id 192.168.9.1
 network 192.168.2.0/24
 network 192.168.9.0/24
 passive-interface lo
exit
!
EOC
} > /etc/frr/frr.conf
frr_start nhrpd eigrpd
