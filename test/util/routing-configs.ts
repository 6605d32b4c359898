// Routing configs the unit tests share: the seed-003 hub with OSPF and BGP (the grammar test parses it,
// the translation test turns it into FRR files and has FRR check them), and a loader that fails loudly.
import { parseStartupConfig } from '../../appliance/config/load.js';
import type { ApplianceConfig } from '../../appliance/config/model.js';

/** A startup-config as the model; throws with the load errors when it does not load. */
export function loadConfig(text: string): ApplianceConfig {
  const r = parseStartupConfig(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

/** Seed 003's hub R1: OSPF on the tunnel (hub DR, LANs passive), iBGP listen range with route
 *  reflection to the spokes and an eBGP upstream, static routes redistributed. */
export const HUB_ROUTING = `hostname R1
interface FastEthernet0/0
 ip address 172.16.15.2 255.255.255.252
interface FastEthernet0/1
 ip address 10.0.1.1 255.255.255.0
interface Tunnel0
 ip address 192.168.0.1 255.255.255.0
 ip nhrp map multicast dynamic
 ip ospf network broadcast
 ip ospf priority 255
 ip ospf hello-interval 2
 tunnel source 172.16.15.2
 tunnel mode gre multipoint
router ospf 1
 router-id 1.1.1.1
 log-adjacency-changes detail
 passive-interface default
 no passive-interface Tunnel0
 network 192.168.0.0 0.0.0.255 area 0
 network 10.0.1.0 0.0.0.255 area 0
 redistribute static subnets
 default-information originate
 area 1 stub
router bgp 65000
 bgp router-id 1.1.1.1
 bgp log-neighbor-changes
 neighbor SPOKES peer-group
 neighbor SPOKES remote-as 65000
 neighbor SPOKES route-reflector-client
 neighbor SPOKES timers 3 9
 bgp listen range 192.168.0.0/24 peer-group SPOKES
 neighbor 172.16.15.1 remote-as 64999
 neighbor 172.16.15.1 update-source FastEthernet0/0
 network 10.0.1.0 mask 255.255.255.0
 aggregate-address 10.0.0.0 255.0.0.0 summary-only
 redistribute connected
ip route 0.0.0.0 0.0.0.0 172.16.15.1
ip route 10.99.0.0 255.255.0.0 172.16.15.1
`;
