// NO_ENTRY: a packet's next hop has no peer entry (no NHRP mapping yet). The supervisor is told, at
// most once per next hop per 100 ms, quoting the packet's first bytes, so it can send a Resolution
// Request; meanwhile the packet is dropped or goes to the fallback NHS (outbound.ts).
import { noticeScratch, SCRATCH_NO_ENTRY, CTL_IN_NO_ENTRY, NO_ENTRY_PACKET_MAX } from '../core/layout';
import { notice } from '../io/ctl';

const NO_ENTRY_INTERVAL_MS: u32 = 100;

/** `nh`: the next hop without an entry; `dst`, `p`, `tot`: the packet that wanted it. */
export function notifyNoEntry(nh: u32, dst: u32, p: usize, tot: u32): void {
  const n = tot < NO_ENTRY_PACKET_MAX ? tot : NO_ENTRY_PACKET_MAX;
  notice(noticeScratch + SCRATCH_NO_ENTRY, nh, 0, NO_ENTRY_INTERVAL_MS, CTL_IN_NO_ENTRY, nh, dst, p, n);
}
