// IPsec ESP control: SA_ADD / SA_DEL / KEEPALIVE / IKE_OUT encoders for ctlTx, readers of the SA
// table (show crypto ipsec sa) and of the ESP counters. docs/dataplane.md "IPsec ESP" is the contract;
// the worker side is wasm/assembly/esp/.
import { randomFillSync } from 'node:crypto';
import { type CounterLayout, type Layout, counterArrays, sumCounter } from './layout.js';
import {
  CTL_OUT, CTL_IN, CTL_OUT_RECORD, CTL_IN_RECORD, ESP_CIPHER, SA_FLAG, SA_DIR, SA_STATE, SA_ENTRY, NATT_PORT,
  ESP_COUNTER_BASE, ESP_COUNTER_NAMES, LAST_DROP_SOURCE_SLOT, COUNTER_SLOTS,
} from './abi.js';
import { Ring } from './ring.js';

// The numbers (transforms, flags, SA entry fields, ESP counters) are generated: ./abi.ts.
export {
  ESP_ENC, ESP_INTEG, SA_FLAG, SA_DIR, SA_STATE, SA_EVENT_REASON, NATT_PORT, SA_ENTRY, ESP_COUNTER_BASE,
  ESP_COUNTER_NAMES, LAST_DROP_SOURCE_SLOT,
} from './abi.js';

/** cipher word = enc | integ << 8 | icvLen << 16 (icvLen only for AES-GCM: 8, 12 or 16; 0 = 16). */
export const espCipher = (enc: number, integ = 0, icvLen = 0) =>
  (enc | (integ << ESP_CIPHER.INTEG_SHIFT) | (icvLen << ESP_CIPHER.ICV_SHIFT)) >>> 0;
export type EspCounterName = (typeof ESP_COUNTER_NAMES)[number];

export interface SaSpec {
  /** entry number 0..saCapacity-1, chosen by the supervisor; an SA_ADD on a used index replaces it. */
  index: number;
  dir: 'in' | 'out';
  spi: number;
  /** NBMA address of the peer (outbound: the destination it protects; inbound: informational). */
  peer: number;
  enc: number; integ?: number; icvLen?: number;
  udp?: { srcPort?: number; dstPort?: number }; // ESP in UDP (RFC 3948), default 4500/4500
  esn?: boolean; tunnel?: boolean;
  /** turn anti-replay off (inbound); it is on by default. */
  noReplay?: boolean;
  replayWindow?: number; // bits, multiple of 32, <= 4096; default 2048
  softBytes?: bigint | number; hardBytes?: bigint | number; softPackets?: bigint | number; hardPackets?: bigint | number;
  /** encryption key; for AEADs key || 4-byte salt (RFC 4106 / 7634, like `ip xfrm`). */
  key: Uint8Array;
  authKey?: Uint8Array;
  /** outbound: last sequence number used (next packet gets +1); inbound: highest seen, and every
   * number up to it counts as seen (a persisted edge after a restart). */
  initialSeq?: bigint | number;
  /** outbound: send nothing beyond the limit given by saLimit() (persisted reservation). */
  seqLimited?: boolean;
  /** selectors: only GRE from `peer` to our tunnel source; anything else is a policy drop. */
  greOnly?: boolean;
}

/**
 * ctlTx encoders for ESP. The command buffer holding keys is zeroed after it is copied into the
 * ring; the worker zeroes the slot's key bytes after applying SA_ADD.
 */
export class SaCommands {
  constructor(readonly ring: Ring, private readonly wakeWorker?: () => void, readonly autoPublish = true) {}

  private done(ok: boolean): boolean {
    if (ok && this.autoPublish) this.publish();
    return ok;
  }
  publish(): void { const w = this.wakeWorker; this.ring.publish(w ? () => w() : undefined); }

  /**
   * Resolves once the worker has applied every command filled so far (it frees a ctlTx slot only
   * after applying it, and its next batch goes on from there), or after `maxMs` (a stalled worker;
   * its watchdog handles that): true when applied. Published is not applied: a worker preempted
   * between its ctlTx and espRx drains would still drop ESP on an SA published meanwhile.
   */
  whenApplied(maxMs = 1000): Promise<boolean> {
    const mark = this.ring.filled;
    if (this.ring.consumed(mark)) return Promise.resolve(true);
    const end = Date.now() + maxMs;
    return new Promise((resolve) => {
      const look = () => {
        if (this.ring.consumed(mark)) return resolve(true);
        if (Date.now() >= end) return resolve(false);
        setTimeout(look, 1);
      };
      setTimeout(look, 0);
    });
  }

  saAdd(s: SaSpec): boolean {
    const R = CTL_OUT_RECORD.SA_ADD;
    const authKey = s.authKey ?? new Uint8Array(0);
    const buf = new Uint8Array(R.size + s.key.length + authKey.length);
    const v = new DataView(buf.buffer);
    const u32 = (o: number, x: number) => v.setUint32(o, x >>> 0, true);
    const u64 = (o: number, x: bigint | number | undefined) => v.setBigUint64(o, BigInt(x ?? 0), true);
    u32(R.index, s.index); u32(R.dir, s.dir === 'in' ? SA_DIR.IN : SA_DIR.OUT); u32(R.spi, s.spi); u32(R.peer, s.peer);
    u32(R.cipher, espCipher(s.enc, s.integ ?? 0, s.icvLen ?? 0));
    u32(R.flags, (s.udp ? SA_FLAG.UDP : 0) | (s.esn ? SA_FLAG.ESN : 0) | (s.tunnel ? SA_FLAG.TUNNEL : 0) | (s.noReplay ? SA_FLAG.NO_REPLAY : 0) |
      (s.seqLimited ? SA_FLAG.SEQ_LIMIT : 0) | (s.greOnly ? SA_FLAG.GRE_ONLY : 0));
    u32(R.ports, s.udp ? (((s.udp.srcPort ?? NATT_PORT) << 16) | (s.udp.dstPort ?? NATT_PORT)) : 0);
    u32(R.window, s.replayWindow ?? 0);
    u64(R.softBytes, s.softBytes); u64(R.hardBytes, s.hardBytes); u64(R.softPackets, s.softPackets); u64(R.hardPackets, s.hardPackets);
    u32(R.keyLen, s.key.length); u32(R.authKeyLen, authKey.length); u64(R.initialSeq, s.initialSeq);
    randomFillSync(buf, R.ivSeed, 16); // CBC IV seed
    buf.set(s.key, R.key); buf.set(authKey, R.key + s.key.length);
    const ok = this.ring.fill(CTL_OUT.SA_ADD, 0, 0, buf, false);
    buf.fill(0);
    return this.done(ok);
  }
  /** Pairs inbound SA `inIndex` with outbound SA `outIndex`: NAT-T port floating (authenticated
   * ESP-in-UDP from a new source port on the inbound SA moves the outbound SA's destination port). */
  saPair(inIndex: number, outIndex: number): boolean {
    return this.done(this.ring.fill(CTL_OUT.SA_PAIR, 0, 0, words(CTL_OUT_RECORD.SA_PAIR, { inIndex, outIndex })));
  }
  /** Outbound SA `index` may send up to `limit` (persisted first!) and raises SEQ_LOW from `warn` on. */
  saLimit(index: number, limit: bigint, warn: bigint): boolean {
    const R = CTL_OUT_RECORD.SA_LIMIT;
    const b = new Uint8Array(R.size);
    const v = new DataView(b.buffer);
    v.setUint32(R.index, index >>> 0, true); v.setBigUint64(R.limit, limit, true); v.setBigUint64(R.warn, warn, true);
    return this.done(this.ring.fill(CTL_OUT.SA_LIMIT, 0, 0, b, false));
  }
  saDel(index: number): boolean { return this.done(this.ring.fill(CTL_OUT.SA_DEL, 0, 0, words(CTL_OUT_RECORD.SA_DEL, { index }))); }
  /** NAT-keepalive (one 0xFF byte in UDP) to `nbma`; send every 20 s per UDP-encapsulated peer. */
  keepalive(nbma: number, srcPort = NATT_PORT, dstPort = NATT_PORT): boolean {
    return this.done(this.ring.fill(CTL_OUT.KEEPALIVE, 0, 0, words(CTL_OUT_RECORD.KEEPALIVE, { nbma, ports: (srcPort << 16) | dstPort })));
  }
  /** IKE message out of port 4500 (the worker prepends the non-ESP marker). */
  ikeOut(dst: number, msg: Uint8Array, srcPort = NATT_PORT, dstPort = NATT_PORT): boolean {
    const R = CTL_OUT_RECORD.IKE_OUT;
    const b = new Uint8Array(R.size + msg.length);
    const v = new DataView(b.buffer);
    v.setUint32(R.dst, dst >>> 0, true); v.setUint32(R.ports, ((srcPort << 16) | dstPort) >>> 0, true);
    b.set(msg, R.message);
    return this.done(this.ring.fill(CTL_OUT.IKE_OUT, 0, 0, b, false));
  }
}

/** A record of u32 fields as the word array Ring.fill takes: each value at its field's offset / 4. */
function words<R extends { size: number }>(record: R, values: { [K in Exclude<keyof R, 'size'>]: number }): number[] {
  const w = new Array<number>(record.size >>> 2).fill(0);
  for (const k of Object.keys(values) as Array<Exclude<keyof R, 'size'>>) w[(record[k] as number) >>> 2] = values[k];
  return w;
}

export interface SaRow {
  index: number; state: 'active' | 'expired'; dir: 'in' | 'out'; spi: number; peer: number;
  cipher: number; enc: number; integ: number; icvLen: number; flags: number; ports: number; replayWindow: number;
  /** outbound: last sequence number sent; inbound: highest authenticated. */
  seq: bigint;
  addedMs: number; lastMs: number;
  packets: number; bytes: number;
  drops: { replay: number; tooOld: number; auth: number; badPad: number; badNextHeader: number; lifetime: number; malformed: number;
    policy: number; seqLimit: number };
  /** outbound: highest number it may send (2^64-1 = no persisted limit). */
  seqLimit: bigint;
  events: number;
}

/** Live SA entries with their counters (for `show crypto ipsec sa`); torn reads are retried. */
export function readSas(buffer: ArrayBufferLike, l: Pick<Layout, 'saTable' | 'saCapacity'>): SaRow[] {
  if (!l.saTable) return [];
  const u32 = new Uint32Array(buffer);
  const u64 = new BigUint64Array(buffer);
  const E = SA_ENTRY;
  const rows: SaRow[] = [];
  for (let i = 0; i < l.saCapacity; i++) {
    const e = l.saTable + i * E.size;
    const w = (o: number) => u32[(e + o) >>> 2];
    const q = (o: number) => Number(u64[(e + o) >>> 3]);
    for (let attempt = 0; attempt < 100; attempt++) {
      const g = Atomics.load(u32, (e + E.gen) >>> 2);
      if (g & 1) continue;
      const st = w(E.state);
      if (st === SA_STATE.FREE) { if (Atomics.load(u32, (e + E.gen) >>> 2) === g) break; continue; }
      const row: SaRow = {
        index: i, state: st === SA_STATE.ACTIVE ? 'active' : 'expired', dir: w(E.dir) === SA_DIR.IN ? 'in' : 'out',
        spi: w(E.spi), peer: w(E.peer), cipher: w(E.cipher), enc: w(E.enc), integ: w(E.integ), icvLen: w(E.icvLen),
        flags: w(E.flags), ports: w(E.ports), replayWindow: w(E.window), seq: u64[(e + E.seq) >>> 3],
        addedMs: w(E.addedMs), lastMs: w(E.lastMs), packets: q(E.packets), bytes: q(E.bytes),
        drops: {
          replay: q(E.dropReplay), tooOld: q(E.dropTooOld), auth: q(E.dropAuth), badPad: q(E.dropBadPad),
          badNextHeader: q(E.dropBadNextHeader), lifetime: q(E.dropLifetime), malformed: q(E.dropMalformed),
          policy: q(E.dropPolicy), seqLimit: q(E.dropSeqLimit),
        },
        seqLimit: u64[(e + E.seqLimit) >>> 3],
        events: w(E.events),
      };
      if (Atomics.load(u32, (e + E.gen) >>> 2) === g) { rows.push(row); break; }
    }
  }
  return rows;
}

export function readEspCounters(buffer: ArrayBufferLike, l: CounterLayout): Record<EspCounterName, number> {
  const v = counterArrays(buffer, l, ESP_COUNTER_BASE, ESP_COUNTER_NAMES.length);
  const out = {} as Record<EspCounterName, number>;
  ESP_COUNTER_NAMES.forEach((n, i) => { out[n] = Number(sumCounter(v, i)); });
  return out;
}

/**
 * NBMA source (u32, 0 = none yet) of the last packet dropped for each reason; with several workers,
 * the first worker's that has one (each records its own last).
 */
export function readDropSources(buffer: ArrayBufferLike, l: CounterLayout): Record<keyof typeof LAST_DROP_SOURCE_SLOT, number> {
  const arrays = counterArrays(buffer, l, 0, COUNTER_SLOTS);
  const out = {} as Record<keyof typeof LAST_DROP_SOURCE_SLOT, number>;
  for (const [k, i] of Object.entries(LAST_DROP_SOURCE_SLOT)) out[k as keyof typeof LAST_DROP_SOURCE_SLOT] = Number(arrays.find((v) => v[i] !== 0n)?.[i] ?? 0n);
  return out;
}

export type EspControlMessage =
  | { type: 'SA_EVENT'; index: number; reason: number; spi: number; dir: number }
  | { type: 'SA_NEEDED'; nbma: number }
  | { type: 'IKE_IN'; src: number; srcPort: number; dstPort: number; message: Uint8Array };

/** Decodes the ESP ctlRx kinds (SA_EVENT, SA_NEEDED, IKE_IN); undefined for other kinds. */
export function decodeEspControl(kind: number, addr: number, aux: number, data: Uint8Array): EspControlMessage | undefined {
  const R = CTL_IN_RECORD.SA_EVENT;
  if (kind === CTL_IN.SA_EVENT && data.length >= R.size) {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return { type: 'SA_EVENT', index: v.getUint32(R.index, true), reason: v.getUint32(R.reason, true), spi: v.getUint32(R.spi, true), dir: v.getUint32(R.dir, true) };
  }
  if (kind === CTL_IN.SA_NEEDED) return { type: 'SA_NEEDED', nbma: addr >>> 0 };
  if (kind === CTL_IN.IKE_IN) return { type: 'IKE_IN', src: addr >>> 0, srcPort: aux >>> 16, dstPort: aux & 0xffff, message: data.slice() };
  return undefined;
}
