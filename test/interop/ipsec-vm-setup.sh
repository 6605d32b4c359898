#!/bin/sh
# Runs inside the interop VM (fed to `/bin/sh -s PSK` by test/interop-ipsec.test.ts through
# qemu-guest-agent, after frr-hub.sh): a DMVPN hub as the team's reference lab runs one (../shared/lab, IPSEC=2):
#   eth0 172.16.99.2/24 (default via 172.16.99.1)   gre1 192.168.1.1/32   FRR nhrpd hub (network-id 1,
#   redirect), kernel mGRE                           lo 10.0.9.1/32        a "host" behind the hub
# and strongSwan charon protecting that GRE: ESP in transport mode (kernel xfrm, policies installed by
# charon) for IP protocol 47 between the NBMA addresses, PSK, responder only (Debian's strongSwan 5.9.8
# lacks the vici patches nhrpd's `tunnel protection vici` needs, so static swanctl connections):
#   ikev1: aes256-sha256-modp2048, ESP aes256-sha256   (the spokes' crypto isakmp / transform set)
#   ikev2: aes256-sha256-modp2048, ESP aes256gcm16      (the spokes' ikev2 proposal / esp-gcm 256)
set -eu
PSK=${1:?pre-shared key}
# (drbg: the default RNG the ESP IV generators need, see build-image.sh; jitterentropy_rng may fail under TCG)
for m in esp4 xfrm_user authenc echainiv seqiv gcm ghash_generic aesni_intel jitterentropy_rng drbg; do modprobe $m 2>/dev/null || true; done
lsmod | grep -q '^esp4 ' || { echo "no esp4 module"; exit 1; }
nics_up eth0
frr_hub_net
ip addr add 10.0.9.1/32 dev lo
# the LANs behind the spokes (next hops resolved by NHRP registrations)
for s in 2 3 4 5; do ip route add 10.0.$s.0/24 via 192.168.1.$s dev gre1 onlink; done

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
# spoke_connection NAME VERSION ESP: a responder for our spokes' IKE version, GRE in ESP transport mode
spoke_connection() {
  cat <<EOF
  $1 {
    version = $2
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
        esp_proposals = $3
      }
    }
  }
EOF
}
{
  echo 'connections {'
  spoke_connection ikev1 1 aes256-sha256
  spoke_connection ikev2 2 aes256gcm16
  echo '}'
  cat <<EOF
secrets {
  ike-spokes { secret = "$PSK" }
}
EOF
} > /etc/swanctl/conf.d/dmvpn.conf
chmod 600 /etc/swanctl/conf.d/dmvpn.conf
/usr/lib/ipsec/charon > /var/log/charon.out 2>&1 &
for n in $(seq 100); do [ -S /run/charon.vici ] && break; sleep 0.1; done
[ -S /run/charon.vici ] || { echo "charon did not open its vici socket"; cat /var/log/charon.out; exit 1; }
swanctl --load-all || { echo "swanctl --load-all failed"; tail -30 /var/log/charon.log; exit 1; }
echo CHARON-UP

# ---- FRR nhrpd hub ---------------------------------------------------------------------------------
frr_hub_conf frr-ipsec-hub "NHRP hub for the appliance spokes, GRE protected by charon's transport-mode SAs" > /etc/frr/frr.conf
frr_start nhrpd
