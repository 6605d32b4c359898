#!/bin/sh
# Runs inside the interop VM (fed to /bin/sh by the test through qemu-guest-agent): addresses,
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
# spoke: a LAN of its own for EIGRP to advertise, on lo (the image has no dummy module); on lo the
# whole /24 is local, so 192.168.9.1 stands for the LAN's hosts
ip addr add 192.168.9.1/24 dev lo
# nhrpd learns about hairpinned traffic (gre1 in -> gre1 out) from NFLOG group 1 (FRR docs)
nft -f - <<'EON'
table ip nhrp {
  chain nhrpfwd {
    type filter hook forward priority 0;
    iifname "gre1" oifname "gre1" limit rate 4/second log group 1 snaplen 128
  }
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
cat > /etc/frr/frr.conf <<'EOC'
frr defaults traditional
hostname frr
log file /var/log/frr/frr.log debugging
debug nhrp all
!
nhrp nflog-group 1
nhrp multicast-nflog-group 2
debug eigrp packets all
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
chown frr:frr /etc/frr/frr.conf
sed -i 's/^nhrpd=no/nhrpd=yes/; s/^eigrpd=no/eigrpd=yes/; s/^bgpd=yes/bgpd=no/' /etc/frr/daemons
# watchfrr starts the daemons itself ("watchfrr.sh restart all") and kills that job after its restart
# timeout, 20 s by default: under TCG on a loaded host four daemons can take longer, and a killed job
# leaves them half started (seen: nhrpd never registered). Give it 180 s, and wait until it is done.
echo 'watchfrr_options="-T 180"' >> /etc/frr/daemons
/usr/lib/frr/frrinit.sh start >/var/log/frr/init.log 2>&1 || { cat /var/log/frr/init.log; exit 1; }
# idle: no start or restart job left, all four daemons Up
idle() {
  st=$(vtysh -c 'show watchfrr' 2>/dev/null || true)
  echo "$st" | grep -q 'global phase: Idle' && ! echo "$st" | grep -q 'running' \
    && [ "$(echo "$st" | grep -cE '^ +(zebra|nhrpd|eigrpd|staticd) +Up')" = 4 ]
}
n=0; until idle || [ $n -ge 200 ]; do sleep 1; n=$((n + 1)); done
idle || { echo "watchfrr not idle after $n s:"; echo "$st"; exit 1; }
for d in nhrpd eigrpd; do pgrep -x $d >/dev/null || { echo "$d not running"; cat /var/log/frr/init.log; exit 1; }; done
echo FRR-UP
