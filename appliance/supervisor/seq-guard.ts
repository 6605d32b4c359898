// Sequence-number persistence for manual SAs with `set sequence-persistence` (docs/security.md):
//  - outbound: the data plane may only send up to a limit; the limit is raised block by block, and
//    each new reservation is fsync'd BEFORE the limit is raised. A restart starts past the last
//    reservation, so no (key, sequence number) pair, i.e. no AEAD nonce, is ever used twice.
//    The data plane asks for the next block at half the current one (SA_EVENT SEQ_LOW), so at a
//    normal rate it never reaches the limit; if it does, it drops and counts (dropSeqLimit).
//  - inbound: the highest accepted number (the window's right edge) is saved every second and at
//    stop; a restarted SA treats everything up to it as seen, so replays of earlier packets drop.
import { SeqStore, keyId, type SeqMarks } from './seq-store.js';
import type { PlannedSa } from './ipsec-plan.js';
import type { SaCommands, SaRow } from '../dataplane/sa.js';
import type { LogFn } from '../log/log.js';

/** Without ESN (manual SAs have none) the last usable number is 2^32 - 1 (RFC 4303 3.3.3). */
const SEQ_MAX = 0xffffffffn;

interface Persisted { store: SeqStore; marks: SeqMarks; block: bigint; name: string }

export class SeqGuard {
  private readonly byName = new Map<string, Persisted>();
  /** outbound SA index -> its manual-sa and the limit the data plane has */
  private readonly out = new Map<number, { p: Persisted; limit: bigint }>();
  /** inbound SA index -> its manual-sa */
  private readonly inb = new Map<number, Persisted>();

  constructor(private readonly cmds: SaCommands, private readonly log: LogFn) {}

  /**
   * Before SA_ADD (the key is still there): where the SA starts. Loads the manual-sa's file once.
   * A file from other keys (key id differs) is ignored: a new key is a new nonce space.
   */
  prepare(s: PlannedSa & { index: number }): { initialSeq?: bigint; seqLimited?: boolean } {
    if (!s.persistence) return {};
    let p = this.byName.get(s.name);
    if (!p) {
      const store = new SeqStore(s.persistence.dir, s.name);
      p = { store, marks: store.load(), block: BigInt(s.persistence.block), name: s.name };
      this.byName.set(s.name, p);
    }
    const id = keyId(s.spi, s.key);
    if (s.direction === 'out') {
      const start = p.marks.out?.keyId === id ? p.marks.out.reserved : 0n;
      p.marks.out = { keyId: id, reserved: start };
      this.out.set(s.index, { p, limit: start });
      if (start > 0n) this.log('notice', `manual-sa ${s.name}: outbound SA spi 0x${s.spi.toString(16)} continues after sequence number ${start} (persisted reservation)`);
      return { initialSeq: start, seqLimited: true };
    }
    const edge = p.marks.in?.keyId === id ? p.marks.in.edge : 0n;
    p.marks.in = { keyId: id, edge };
    this.inb.set(s.index, p);
    return edge > 0n ? { initialSeq: edge } : {};
  }

  /** After the SA_ADDs: reserve and open the first block of every outbound SA. */
  openAll(): void { for (const i of this.out.keys()) this.reserve(i); }

  /**
   * Reserves the next block of outbound SA `index`: persisted (fsync) first, then the data plane's
   * limit is raised. If the write fails the limit stays: the SA stops rather than risk reuse.
   */
  reserve(index: number): boolean {
    const o = this.out.get(index);
    if (!o) return false;
    if (o.limit >= SEQ_MAX) { this.log('error', `manual-sa ${o.p.name}: outbound sequence numbers exhausted; configure new keys`); return false; }
    const limit = o.limit + o.p.block > SEQ_MAX ? SEQ_MAX : o.limit + o.p.block;
    o.p.marks.out = { keyId: o.p.marks.out!.keyId, reserved: limit };
    try { o.p.store.save(o.p.marks); } catch (e) {
      this.log('error', `manual-sa ${o.p.name}: cannot persist sequence reservation to ${o.p.store.file} (${(e as Error).message}): outbound SA held at ${o.limit}`);
      return false;
    }
    o.limit = limit;
    const warn = limit - o.p.block / 2n;
    if (!this.cmds.saLimit(index, limit, warn)) { this.log('warn', `manual-sa ${o.p.name}: control ring full; sequence limit not raised yet`); return false; }
    return true;
  }

  /** Saves inbound edges that moved (called every second and at stop). */
  saveEdges(rows: SaRow[]): void {
    const dirty = new Set<Persisted>();
    for (const r of rows) {
      const p = r.dir === 'in' ? this.inb.get(r.index) : undefined;
      if (!p || !p.marks.in || r.seq <= p.marks.in.edge) continue;
      p.marks.in = { keyId: p.marks.in.keyId, edge: r.seq };
      dirty.add(p);
    }
    for (const p of dirty) {
      try { p.store.save(p.marks); } catch (e) { this.log('error', `manual-sa ${p.name}: cannot persist inbound replay edge to ${p.store.file}: ${(e as Error).message}`); }
    }
  }

  get persisting(): boolean { return this.byName.size > 0; }
}
