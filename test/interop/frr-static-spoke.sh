#!/bin/sh
# Runs inside the interop VM after the nhrpd subtests (fed to /bin/sh through qemu-guest-agent): a
# *static* mGRE spoke of our hub for FRR's eigrpd, which cannot be an EIGRP neighbor over nhrpd's gre2
# (nhrpd needs a /32 tunnel address, eigrpd drops packets from outside its interface's prefix, FRR
# issue 5411). Without nhrpd on the tunnel the address can be a /24:
#   gre3 192.168.2.10/24, mGRE with local 172.16.98.3 (a second address on eth1; our hub maps
#   192.168.2.10 to it statically and sends its multicast there: `ip nhrp map multicast`)
#   the kernel's NBMA mapping for our hub is a permanent neighbour entry (an mGRE device is NOARP)
#   multicast (eigrpd's hellos to 224.0.0.10) goes to the device's broadcast address: for an
#   ARPHRD_IPGRE device the kernel maps a group to dev->broadcast when set (arp_mc_map ->
#   ip_ipgre_mc_map), else to the group address itself; so broadcast = the hub's NBMA address
# gre2 goes down first: its routes (192.168.2.0/24, nhrpd's) leave with it, so the tunnel network is
# gre3's alone. eigrpd keeps its config (`network 192.168.2.0/24` matches gre3 when it comes up):
# removing the router or the network in FRR 8.4 crashed eigrpd (eigrp_if_free), so nothing is removed.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
ip link set gre2 down
ip addr add 172.16.98.3/24 dev eth1
ip rule add from 172.16.98.3 table 100
ip tunnel add gre3 mode gre ttl 64 local 172.16.98.3
ip link set gre3 broadcast 172.16.15.2
ip addr add 192.168.2.10/24 dev gre3
ip neigh replace 192.168.2.1 lladdr 172.16.15.2 dev gre3 nud permanent
ip link set gre3 up
ip -d link show gre3
ip route show dev gre3
ip neigh show dev gre3
echo STATIC-SPOKE-UP
