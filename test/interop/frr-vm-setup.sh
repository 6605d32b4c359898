#!/bin/sh
# Runs inside the interop VM (fed to /bin/sh by the test through qemu-guest-agent): addresses,
# two multipoint GRE tunnels and FRR nhrpd on both of them, then starts FRR.
#   eth0 172.16.99.2/24 (default via 172.16.99.1)  gre1 192.168.1.1/32  FRR NHRP *hub*   network-id 1
#   eth1 172.16.98.2/24 (source-routed via .98.1)  gre2 192.168.2.9/32  FRR NHRP *spoke* network-id 2,
#                                                   NHS 192.168.2.1 at NBMA 172.16.15.2 (our hub)
# Two NICs (not two addresses on one) because nhrpd takes a tunnel's NBMA address from its
# `tunnel source` interface; the two mGRE tunnels are told apart by their local address (no keys).
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
sysctl -qw net.ipv4.ip_forward=1
for i in eth0 eth1; do for n in $(seq 50); do [ -e /sys/class/net/$i ] && break; sleep 0.1; done; ip link set $i up; done
ip addr add 172.16.99.2/24 dev eth0
ip addr add 172.16.98.2/24 dev eth1
ip route add default via 172.16.99.1
ip rule add from 172.16.98.2 table 100
ip route add default via 172.16.98.1 table 100
ip tunnel add gre1 mode gre ttl 64 local 172.16.99.2
ip addr add 192.168.1.1/32 dev gre1
ip link set gre1 up
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
# nhrpd learns about hairpinned traffic (gre1 in -> gre1 out) from NFLOG group 1 (FRR docs)
nft -f - <<'EON'
table ip nhrp {
  chain nhrpfwd {
    type filter hook forward priority 0;
    iifname "gre1" oifname "gre1" limit rate 4/second log group 1 snaplen 128
  }
}
EON
cat > /etc/frr/frr.conf <<'EOC'
frr defaults traditional
hostname frr
log file /var/log/frr/frr.log debugging
debug nhrp all
!
nhrp nflog-group 1
!
interface gre1
 description NHRP hub for the appliance spokes
 ip nhrp network-id 1
 ip nhrp holdtime 60
 ip nhrp redirect
 ip nhrp registration no-unique
 tunnel source eth0
exit
!
interface gre2
 description NHRP spoke of the appliance hub
 ip nhrp network-id 2
 ip nhrp holdtime 60
 ip nhrp nhs 192.168.2.1 nbma 172.16.15.2
 ip nhrp registration no-unique
 ip nhrp shortcut
 tunnel source eth1
exit
!
EOC
chown frr:frr /etc/frr/frr.conf
sed -i 's/^nhrpd=no/nhrpd=yes/; s/^bgpd=yes/bgpd=no/' /etc/frr/daemons
/usr/lib/frr/frrinit.sh start >/var/log/frr/init.log 2>&1 || { cat /var/log/frr/init.log; exit 1; }
pgrep -x nhrpd >/dev/null || { echo "nhrpd not running"; cat /var/log/frr/init.log; exit 1; }
echo FRR-UP
