// NHRP packets for a peer that has no outbound SA yet wait here while IKE negotiates one (the
// registration to the hub at start, a resolution reply to another spoke): sent in order when the SA
// is up, dropped (counted) when the queue is full or the negotiation fails. Bounded per peer and in
// peers, so a flood of NHRP towards unreachable addresses cannot grow it.

/** Packets kept per peer (IOS keeps a few: the first ones NHRP retransmits anyway). */
export const FIRST_PACKETS_PER_PEER = 8;
/** Peers with waiting packets at most. */
export const FIRST_PACKETS_PEERS = 256;

export class FirstPackets {
  private readonly byPeer = new Map<string, Array<{ packet: Uint8Array; key?: string }>>();
  readonly counters = { queued: 0, sent: 0, dropped: 0, superseded: 0 };

  /**
   * Keeps `packet` for `peer`; false when it was dropped (queue full). A packet with a `supersedes`
   * key replaces a waiting one with the same key (a retransmitted registration carries a new request
   * ID: only the newest should reach the peer, or its reply to the old one is refused as unknown).
   */
  add(peer: string, packet: Uint8Array, supersedes?: string): boolean {
    let q = this.byPeer.get(peer);
    if (!q) {
      if (this.byPeer.size >= FIRST_PACKETS_PEERS) { this.counters.dropped++; return false; }
      q = [];
      this.byPeer.set(peer, q);
    }
    const old = supersedes === undefined ? -1 : q.findIndex((w) => w.key === supersedes);
    if (old >= 0) { q[old] = { packet: packet.slice(), key: supersedes }; this.counters.superseded++; return true; }
    if (q.length >= FIRST_PACKETS_PER_PEER) { this.counters.dropped++; return false; }
    q.push({ packet: packet.slice(), key: supersedes });
    this.counters.queued++;
    return true;
  }

  /** Hands every waiting packet of `peer` to `send`, oldest first. */
  flush(peer: string, send: (packet: Uint8Array) => boolean): number {
    const q = this.byPeer.get(peer);
    if (!q) return 0;
    this.byPeer.delete(peer);
    let n = 0;
    for (const w of q) if (send(w.packet)) n++; else this.counters.dropped++;
    this.counters.sent += n;
    return n;
  }

  /** The negotiation with `peer` failed: its packets are dropped. */
  discard(peer: string): void {
    const q = this.byPeer.get(peer);
    if (!q) return;
    this.counters.dropped += q.length;
    this.byPeer.delete(peer);
  }

  waiting(peer: string): number { return this.byPeer.get(peer)?.length ?? 0; }
}
