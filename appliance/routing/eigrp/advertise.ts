// What one interface is told about a destination: the per-interface rules that make EIGRP work over a
// DMVPN hub. Split horizon (IOS default on) keeps a route off the interface its successor is on; a hub
// whose spokes all sit behind one mGRE interface must turn it off (`no ip split-horizon eigrp N`) or
// spokes never learn each other. Next-hop-self (default on) advertises routes with next hop 0.0.0.0,
// "use me"; turned off (`no ip next-hop-self eigrp N`) a route learned on the same interface keeps its
// originator as next hop, so spoke-to-spoke traffic goes direct (DMVPN Phase 2).
import { UNREACHABLE } from './metric.js';
import type { PathVector } from './metric.js';
import type { Dest } from './dual.js';
import type { ExternalData } from './types.js';

export interface InterfaceRules { splitHorizon: boolean; nextHopSelf: boolean }
export const DEFAULT_RULES: InterfaceRules = { splitHorizon: true, nextHopSelf: true };

export interface Advert { vector: PathVector; nextHop: string; external?: ExternalData }

/** The advertisement of `d` on `iface`, or undefined when split horizon keeps it off that interface.
 *  `mustAnswer` (queries and replies, which every neighbor must get) turns suppression into an
 *  unreachable (poisoned) advertisement instead. */
export function advertFor(d: Dest, iface: string, rules: InterfaceRules, mustAnswer = false): Advert | undefined {
  const s = d.successors[0];
  const external = s?.external;
  const poisoned: Advert = { vector: UNREACHABLE, nextHop: '0.0.0.0', ...(external && { external }) };
  if (!s || !Number.isFinite(d.distance)) return poisoned;
  const learnedHere = s.neighbor !== '' && s.iface === iface;
  if (learnedHere && rules.splitHorizon) return mustAnswer ? poisoned : undefined;
  const nextHop = learnedHere && !rules.nextHopSelf ? s.nextHop : '0.0.0.0';
  return { vector: d.vector, nextHop, ...(external && { external }) };
}
