// Per-worker scratch used by the offload paths (docs/dataplane.md, "Per-worker scratch"). Kept in a
// region of its own, far from the other features' regions; offload is off if the scratch is smaller.
import { scratchSize } from '../core/layout';

export const SCR_TSO_HDR: usize = 196608;          // 128 B: IPv4+TCP header template while segmenting
export const SCR_GRO_TABLE: usize = 196608 + 256;  // GRO_FLOWS x 32 B: open coalescing items
export const GRO_FLOWS: u32 = 64;
export const SCR_OFFLOAD_END: usize = SCR_GRO_TABLE + <usize>GRO_FLOWS * 32;

@inline export function offloadScratchOk(): bool { return <usize>scratchSize >= SCR_OFFLOAD_END; }
