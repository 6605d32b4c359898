#!/bin/sh
# Sourced piece of the interop VM's setup: vm.ts (vmScript) feeds it to the guest's /bin/sh through
# qemu-guest-agent ahead of frr-vm-setup.sh or ipsec-vm-setup.sh, which both run FRR's nhrpd as the
# DMVPN hub of network 1 that our spokes register with (test/interop/frr-hub-spoke.ts):
#   eth0 172.16.99.2/24 (default via 172.16.99.1)   gre1 192.168.1.1/32, kernel mGRE, nhrpd hub
#   (network-id 1, redirect)
# Only functions here; the scripts after it call them.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

# nics_up NIC...: waits for each virtio NIC to appear (they can come after the guest agent), sets it up
nics_up() {
  for i in "$@"; do
    for n in $(seq 50); do [ -e "/sys/class/net/$i" ] && break; sleep 0.1; done
    ip link set "$i" up
  done
}

# frr_hub_net: forwarding, eth0's address and default route, gre1, and the NFLOG rule nhrpd learns
# hairpinned traffic (gre1 in -> gre1 out) from for Phase 3 redirects (FRR docs: group 1)
frr_hub_net() {
  sysctl -qw net.ipv4.ip_forward=1
  ip addr add 172.16.99.2/24 dev eth0
  ip route add default via 172.16.99.1
  ip tunnel add gre1 mode gre ttl 64 local 172.16.99.2
  # /32, as FRR wants it: with a /24 here nhrpd finds no protocol address on gre1 and answers
  # registrations with a zero-length destination protocol address (its log: "af 57488")
  ip addr add 192.168.1.1/32 dev gre1
  ip link set gre1 up
  nft -f - <<'EON'
table ip nhrp {
  chain nhrpfwd {
    type filter hook forward priority 0;
    iifname "gre1" oifname "gre1" limit rate 4/second log group 1 snaplen 128
  }
}
EON
}

# frr_hub_conf HOSTNAME DESCRIPTION: the head of frr.conf: logging, and nhrpd's hub on gre1
frr_hub_conf() {
  cat <<EOC
frr defaults traditional
hostname $1
log file /var/log/frr/frr.log debugging
debug nhrp all
!
nhrp nflog-group 1
!
interface gre1
 description $2
 ip nhrp network-id 1
 ip nhrp holdtime 60
 ip nhrp redirect
 ip nhrp registration no-unique
 tunnel source eth0
exit
!
EOC
}

# frr_start DAEMON...: enables those daemons (zebra and staticd run anyway, bgpd not), starts FRR
# from /etc/frr/frr.conf and waits until watchfrr is idle with every one of them up, then prints FRR-UP.
# watchfrr starts the daemons itself ("watchfrr.sh restart all") and kills that job after its restart
# timeout, 20 s by default: under TCG on a loaded host the daemons can take longer, and a killed job
# leaves them half started (seen: nhrpd never registered). Give it 180 s, and wait until it is done.
frr_start() {
  chown frr:frr /etc/frr/frr.conf
  for d in "$@"; do sed -i "s/^$d=no/$d=yes/" /etc/frr/daemons; done
  sed -i 's/^bgpd=yes/bgpd=no/' /etc/frr/daemons
  echo 'watchfrr_options="-T 180"' >> /etc/frr/daemons
  /usr/lib/frr/frrinit.sh start >/var/log/frr/init.log 2>&1 || { cat /var/log/frr/init.log; exit 1; }
  frr_up="zebra staticd $*"
  n=0; until frr_idle || [ $n -ge 200 ]; do sleep 1; n=$((n + 1)); done
  frr_idle || { echo "watchfrr not idle after $n s:"; echo "$st"; exit 1; }
  for d in "$@"; do pgrep -x "$d" >/dev/null || { echo "$d not running"; cat /var/log/frr/init.log; exit 1; }; done
  echo FRR-UP
}

# idle: no start or restart job left, every daemon of $frr_up Up
frr_idle() {
  st=$(vtysh -c 'show watchfrr' 2>/dev/null || true)
  echo "$st" | grep -q 'global phase: Idle' && ! echo "$st" | grep -q 'running' \
    && [ "$(echo "$st" | grep -cE "^ +($(echo $frr_up | tr ' ' '|')) +Up")" = "$(echo $frr_up | wc -w)" ]
}
