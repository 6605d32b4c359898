// EIGRP's Reliable Transport Protocol (RFC 7868 section 5.5): reliable packets carry a sequence number
// and are retransmitted to each neighbor until it acknowledges them (one outstanding packet per
// neighbor); acks ride on any packet or on a hello with only the ack field set; duplicates are
// re-acknowledged, not reprocessed. A multicast goes out once; neighbors still busy with an earlier
// packet are named in a hello's Sequence TLV so they ignore the Conditional-Receive multicast and get it
// later by unicast retransmission. The init exchange (Update with INIT, acknowledged both ways) brings a
// neighbor up. Pure: input events and tick(now) in, transmissions out.
import { Flag, Opcode } from './types.js';
import type { EigrpTlv } from './types.js';

export interface Reliable { seq: number; opcode: number; flags: number; tlvs: EigrpTlv[] }

/** One packet to put on the wire: unicast to a neighbor, or multicast on an interface. */
export interface Transmit {
  to: string | { multicast: string; iface: string };
  opcode: number; flags: number; seq: number; ack: number; tlvs: EigrpTlv[];
}

interface Peer {
  address: string; iface: string;
  queue: Reliable[];
  lastRecvSeq: number;     // last reliable sequence accepted from the neighbor (acked with the next packet)
  ackOwed: boolean;
  crMode: boolean;         // a sequence hello told us to accept the next CR multicast
  sentAt: number; rto: number; retries: number;
  srtt?: number;           // smoothed round trip (ms) of packets acked without a retransmission
  initSent: boolean; initAcked: boolean; initReceived: boolean;
}

export const RTO_MIN_MS = 1000;
export const RTO_MAX_MS = 5000;
/** IOS gives up on a neighbor after 16 retransmissions of the same packet. */
export const MAX_RETRIES = 16;

export type RtpEvent = { kind: 'up'; neighbor: string } | { kind: 'give-up'; neighbor: string } | { kind: 'restart'; neighbor: string };

export class Rtp {
  private readonly peers = new Map<string, Peer>();
  private seq = 0;
  private out: Transmit[] = [];
  private events: RtpEvent[] = [];
  readonly stats = { retransmits: 0, duplicates: 0, crIgnored: 0, multicasts: 0, sequenceHellos: 0, beforeInit: 0 };

  constructor(private readonly now: () => number) {}

  take(): Transmit[] { const o = this.out; this.out = []; return o; }
  takeEvents(): RtpEvent[] { const e = this.events; this.events = []; return e; }

  private nextSeq(): number { this.seq = (this.seq % 0xffffffff) + 1; return this.seq; }

  /** A new neighbor (first hello): start the init exchange with a unicast INIT update. */
  add(address: string, iface: string): void {
    this.peers.set(address, { address, iface, queue: [], lastRecvSeq: 0, ackOwed: false, crMode: false, sentAt: 0, rto: RTO_MIN_MS, retries: 0, initSent: true, initAcked: false, initReceived: false });
    this.send(address, Opcode.Update, Flag.Init, []);
  }

  remove(address: string): void { this.peers.delete(address); }
  pendingCount(address: string): number { return this.peers.get(address)?.queue.length ?? 0; }
  lastSeq(address: string): number { return this.peers.get(address)?.lastRecvSeq ?? 0; }
  /** Smoothed round trip (0 before the first ack) and current retransmission timeout, ms, for the shows. */
  timing(address: string): { srtt: number; rto: number } {
    const p = this.peers.get(address);
    return { srtt: p?.srtt ?? 0, rto: p?.rto ?? RTO_MIN_MS };
  }

  /** Queue a reliable unicast packet for one neighbor. */
  send(address: string, opcode: number, flags: number, tlvs: EigrpTlv[]): void {
    const p = this.peers.get(address);
    if (!p) return;
    p.queue.push({ seq: this.nextSeq(), opcode, flags, tlvs });
    if (p.queue.length === 1) this.transmitHead(p);
  }

  /** A reliable multicast to every neighbor on `iface`. */
  multicast(iface: string, group: string, opcode: number, flags: number, tlvs: EigrpTlv[]): void {
    const peers = [...this.peers.values()].filter((p) => p.iface === iface && p.initAcked);
    if (!peers.length) return;
    const r: Reliable = { seq: this.nextSeq(), opcode, flags, tlvs };
    const busy = peers.filter((p) => p.queue.length);
    let flagsOut = flags;
    if (busy.length) {
      // the busy ones must not take this multicast out of order: name them, and mark the packet CR
      this.stats.sequenceHellos++;
      this.out.push({ to: { multicast: group, iface }, opcode: Opcode.Hello, flags: 0, seq: 0, ack: 0, tlvs: [
        { type: 'sequence', addresses: busy.map((p) => p.address) }, { type: 'next-multicast-seq', seq: r.seq }] });
      flagsOut |= Flag.CR;
    }
    this.stats.multicasts++;
    this.out.push({ to: { multicast: group, iface }, opcode, flags: flagsOut, seq: r.seq, ack: 0, tlvs });
    const now = this.now();
    for (const p of peers) {
      p.queue.push({ ...r, flags });
      if (p.queue.length === 1) { p.sentAt = now; p.rto = RTO_MIN_MS; p.retries = 0; }
    }
  }

  private transmitHead(p: Peer): void {
    const h = p.queue[0];
    p.sentAt = this.now();
    this.out.push({ to: p.address, opcode: h.opcode, flags: h.flags, seq: h.seq, ack: p.lastRecvSeq, tlvs: h.tlvs });
    p.ackOwed = false;
  }

  /** A sequence hello: are we among those told to skip the next CR multicast? */
  sequenceHello(from: string, self: string, listed: string[]): void {
    const p = this.peers.get(from);
    if (p) p.crMode = !listed.includes(self);
  }

  /** A packet arrived from a known neighbor. Returns whether its contents should be processed (false:
   *  an unreliable packet is processed regardless; a duplicate or an unexpected CR packet is not). */
  receive(from: string, h: { opcode: number; flags: number; seq: number; ack: number }, unicast = true): boolean {
    const p = this.peers.get(from);
    if (!p) return false;
    if (h.ack && p.queue.length && p.queue[0].seq === h.ack) this.acked(p);
    if (!h.seq) return true; // hellos and acks are unreliable
    if (!p.initReceived && !(h.opcode === Opcode.Update && h.flags & Flag.Init)) {
      // Sequenced traffic before the neighbor's INIT: not ours to take (an ack would tell it we are in
      // step). Unicast it proves the neighbor's side is up from our previous incarnation (our hold timer
      // ran out, its did not, and its INIT was acked by the adjacency we dropped): it would never send
      // another INIT and we would stay pending for good. Restart, so our new INIT restarts it too.
      this.stats.beforeInit++;
      if (unicast) this.events.push({ kind: 'restart', neighbor: from });
      return false;
    }
    if (h.flags & Flag.CR) {
      const ok = p.crMode;
      p.crMode = false;
      if (!ok) { this.stats.crIgnored++; return false; }
    }
    if (h.seq === p.lastRecvSeq) { this.stats.duplicates++; this.ack(p); return false; }
    if (h.opcode === Opcode.Update && h.flags & Flag.Init) {
      if (p.initReceived && p.lastRecvSeq) { this.events.push({ kind: 'restart', neighbor: from }); return false; }
      p.initReceived = true;
    }
    p.lastRecvSeq = h.seq;
    this.ack(p);
    this.maybeUp(p);
    return true;
  }

  private acked(p: Peer): void {
    const h = p.queue.shift()!;
    // Karn: a retransmitted packet's ack could answer either copy, so only first tries are timed
    if (!p.retries) { const sample = this.now() - p.sentAt; p.srtt = p.srtt === undefined ? sample : Math.round((7 * p.srtt + sample) / 8); }
    if (h.flags & Flag.Init && h.opcode === Opcode.Update) p.initAcked = true;
    p.rto = RTO_MIN_MS; p.retries = 0;
    this.maybeUp(p);
    if (p.queue.length) this.transmitHead(p);
  }

  private maybeUp(p: Peer): void {
    if (p.initAcked && p.initReceived && p.initSent) { p.initSent = false; this.events.push({ kind: 'up', neighbor: p.address }); }
  }

  /** Owe an ack: a reliable packet to that neighbor carries it, else flushAcks() sends it bare. */
  private ack(p: Peer): void { p.ackOwed = true; }

  /** Send the acks no reliable packet carried, as hellos with only the ack field set. The owner calls
   *  this once it has sent what a received packet caused (a reply to the sender carries the ack). */
  flushAcks(): void {
    for (const p of this.peers.values()) {
      if (p.ackOwed) { p.ackOwed = false; this.out.push({ to: p.address, opcode: Opcode.Hello, flags: 0, seq: 0, ack: p.lastRecvSeq, tlvs: [] }); }
    }
  }

  /** Flush owed acks and retransmit what timed out. */
  tick(now: number): void {
    this.flushAcks();
    for (const p of [...this.peers.values()]) {
      if (!p.queue.length || now - p.sentAt < p.rto) continue;
      if (++p.retries > MAX_RETRIES) { this.peers.delete(p.address); this.events.push({ kind: 'give-up', neighbor: p.address }); continue; }
      this.stats.retransmits++;
      p.rto = Math.min(RTO_MAX_MS, p.rto * 2);
      this.transmitHead(p);
    }
  }
}
