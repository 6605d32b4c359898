#!/bin/sh
# Runs inside the interop VM (fed to `/bin/sh -s PSK` by test/interop-ipsec.test.ts through
# qemu-guest-agent): a DMVPN hub as the team's reference lab runs one (../shared/lab, IPSEC=2):
#   eth0 172.16.99.2/24 (default via 172.16.99.1)   gre1 192.168.1.1/32   FRR nhrpd hub (network-id 1,
#   redirect), kernel mGRE                           lo 10.0.9.1/32        a "host" behind the hub
# and strongSwan charon protecting that GRE: ESP in transport mode (kernel xfrm, policies installed by
# charon) for IP protocol 47 between the NBMA addresses, PSK, responder only (Debian's strongSwan 5.9.8
# lacks the vici patches nhrpd's `tunnel protection vici` needs, so static swanctl connections):
#   ikev1: aes256-sha256-modp2048, ESP aes256-sha256   (the spokes' crypto isakmp / transform set)
#   ikev2: aes256-sha256-modp2048, ESP aes256gcm16      (the spokes' ikev2 proposal / esp-gcm 256)
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
PSK=${1:?pre-shared key}
# (drbg: the default RNG the ESP IV generators need, see build-image.sh; jitterentropy_rng may fail under TCG)
for m in esp4 xfrm_user authenc echainiv seqiv gcm ghash_generic aesni_intel jitterentropy_rng drbg; do modprobe $m 2>/dev/null || true; done
lsmod | grep -q '^esp4 ' || { echo "no esp4 module"; exit 1; }
sysctl -qw net.ipv4.ip_forward=1
for n in $(seq 50); do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
ip link set eth0 up
ip addr add 172.16.99.2/24 dev eth0
ip route add default via 172.16.99.1
ip addr add 10.0.9.1/32 dev lo
ip tunnel add gre1 mode gre ttl 64 local 172.16.99.2
# /32, as FRR wants it: with a /24 here nhrpd finds no protocol address on gre1 and answers
# registrations with a zero-length destination protocol address (its log: "af 57488")
ip addr add 192.168.1.1/32 dev gre1
ip link set gre1 up
# the LANs behind the spokes (next hops resolved by NHRP registrations)
for s in 2 3 4 5; do ip route add 10.0.$s.0/24 via 192.168.1.$s dev gre1 onlink; done
# nhrpd learns about hairpinned traffic (gre1 in -> gre1 out) from NFLOG group 1 (FRR docs): Phase 3
nft -f - <<'EON'
table ip nhrp {
  chain nhrpfwd {
    type filter hook forward priority 0;
    iifname "gre1" oifname "gre1" limit rate 4/second log group 1 snaplen 128
  }
}
EON

# ---- strongSwan ----------------------------------------------------------------------------------
mkdir -p /run/strongswan
cat > /etc/strongswan.d/zz-interop.conf <<'EOF'
charon {
  install_routes = no        # nhrpd and the static routes own routing
  filelog {
    charon {
      path = /var/log/charon.log
      flush_line = yes
      time_format = %T
      default = 1
      ike = 2
      cfg = 2
      knl = 2
    }
  }
  syslog { daemon { default = -1 } }
}
EOF
cat > /etc/swanctl/conf.d/dmvpn.conf <<EOF
connections {
  ikev1 {
    version = 1
    local_addrs = 172.16.99.2
    proposals = aes256-sha256-modp2048
    local { auth = psk
            id = 172.16.99.2 }
    remote { auth = psk }
    children {
      gre {
        mode = transport
        local_ts = dynamic[47]
        remote_ts = dynamic[47]
        esp_proposals = aes256-sha256
      }
    }
  }
  ikev2 {
    version = 2
    local_addrs = 172.16.99.2
    proposals = aes256-sha256-modp2048
    local { auth = psk
            id = 172.16.99.2 }
    remote { auth = psk }
    children {
      gre {
        mode = transport
        local_ts = dynamic[47]
        remote_ts = dynamic[47]
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike-spokes { secret = "$PSK" }
}
EOF
chmod 600 /etc/swanctl/conf.d/dmvpn.conf
/usr/lib/ipsec/charon > /var/log/charon.out 2>&1 &
for n in $(seq 100); do [ -S /run/charon.vici ] && break; sleep 0.1; done
[ -S /run/charon.vici ] || { echo "charon did not open its vici socket"; cat /var/log/charon.out; exit 1; }
swanctl --load-all || { echo "swanctl --load-all failed"; tail -30 /var/log/charon.log; exit 1; }
echo CHARON-UP

# ---- FRR nhrpd hub ---------------------------------------------------------------------------------
cat > /etc/frr/frr.conf <<'EOC'
frr defaults traditional
hostname frr-ipsec-hub
log file /var/log/frr/frr.log debugging
debug nhrp all
!
nhrp nflog-group 1
!
interface gre1
 description NHRP hub for the appliance spokes, GRE protected by charon's transport-mode SAs
 ip nhrp network-id 1
 ip nhrp holdtime 60
 ip nhrp redirect
 ip nhrp registration no-unique
 tunnel source eth0
exit
!
EOC
chown frr:frr /etc/frr/frr.conf
sed -i 's/^nhrpd=no/nhrpd=yes/; s/^bgpd=yes/bgpd=no/' /etc/frr/daemons
/usr/lib/frr/frrinit.sh start >/var/log/frr/init.log 2>&1 || { cat /var/log/frr/init.log; exit 1; }
pgrep -x nhrpd >/dev/null || { echo "nhrpd not running"; cat /var/log/frr/init.log; exit 1; }
echo FRR-UP
