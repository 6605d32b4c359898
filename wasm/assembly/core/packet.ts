// The per-packet context: what the path knows about the packet in hand, passed down from the ring
// loop (worker/poll.ts) through forward/, gre/ and esp/ instead of module globals, like the control
// block a Linux skb carries or FRR's nhrp_packet. One instance per worker, statically placed in the
// worker's scratch (SCRATCH_PACKET): no allocation per packet, and field accesses are plain loads and
// stores at fixed offsets from one pointer.
import { scratch, SCRATCH_PACKET } from './layout';

@final @unmanaged export class Packet {
  /** The IPv4 packet being handled: the inner one on the way out; on the way in the outer one, then
   * (after GRE decap) the inner one. */
  data: usize;
  /** Its length in bytes (the slot's data length until validated, then the IPv4 total length). */
  len: u32;
  /** Input slot kind (NBMA_KIND_*) of a received packet. */
  kind: u32;
  /** Outer (NBMA) source of a received packet; outer destination of a sent one. */
  nbma: u32;
  /** Slot aux: UDP ports (srcPort << 16 | dstPort) of ESP-in-UDP. */
  aux: u32;
  /** Inbound SA index + 1 the packet was decrypted with (0 = it came in cleartext). */
  sa: u32;
  /** GRE protocol type, set by greDecap(). */
  greProto: u32;
  /** Peer entry of the tunnel peer (0 = none: multicast, fallback NHS, unknown sender). */
  peer: usize;
}

/** The worker's one context (valid after setup() read the layout). */
@inline export function packet(): Packet { return changetype<Packet>(scratch + SCRATCH_PACKET); }
