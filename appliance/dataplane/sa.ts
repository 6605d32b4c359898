// IPsec ESP control: SA_ADD / SA_DEL / KEEPALIVE / IKE_OUT encoders for ctlTx, readers of the SA
// table (show crypto ipsec sa) and of the ESP counters. docs/dataplane.md "IPsec ESP" is the contract;
// the worker side is wasm/assembly/esp/.
import { randomFillSync } from 'node:crypto';
import { CTL_OUT, CTL_IN, SA_ENTRY_SIZE, type Layout } from './layout.js';
import { Ring } from './ring.js';

/** Encryption transforms (low byte of the cipher word). */
export const ESP_ENC = { AES_GCM_128: 1, AES_GCM_256: 2, CHACHA20_POLY1305: 3, AES_CBC_128: 4, AES_CBC_256: 5, NULL: 6 } as const;
/** Integrity transforms (second byte); AEADs take NONE. */
export const ESP_INTEG = { NONE: 0, HMAC_SHA1_96: 1, HMAC_SHA256_128: 2 } as const;
/** cipher word = enc | integ << 8 | icvLen << 16 (icvLen only for AES-GCM: 8, 12 or 16; 0 = 16). */
export const espCipher = (enc: number, integ = 0, icvLen = 0) => (enc | (integ << 8) | (icvLen << 16)) >>> 0;
/** SEQ_LIMIT: outbound numbers only up to the limit set by saLimit() (persisted reservations). */
/** GRE_ONLY: selectors = GRE from the SA's peer to our tunnel source (tunnel protection). */
export const SA_FLAG = { UDP: 1, ESN: 2, TUNNEL: 4, NO_REPLAY: 8, SEQ_LIMIT: 16, GRE_ONLY: 32 } as const;
export const SA_DIR = { IN: 1, OUT: 2 } as const;
export const SA_STATE = { FREE: 0, ACTIVE: 1, EXPIRED: 2 } as const;
/** SEQ_LOW: an outbound SA with SEQ_LIMIT reached its warn mark (or the limit): reserve the next block. */
export const SA_EVENT_REASON = { SOFT_LIFETIME: 1, HARD_LIFETIME: 2, SEQ_EXHAUSTED: 3, SEQ_LOW: 4 } as const;
export const NATT_PORT = 4500;

/** SA entry fields (byte offsets; u32 unless noted u64). */
export const SA_ENTRY = {
  size: SA_ENTRY_SIZE, state: 0, gen: 4, dir: 8, spi: 12, peer: 16, cipher: 20, flags: 24, ports: 28,
  window: 32, enc: 36, integ: 40, ivLen: 44, icvLen: 48, block: 52, salt: 56, events: 60,
  seq: 64, softBytes: 72, hardBytes: 80, softPackets: 88, hardPackets: 96, serial: 104, addedMs: 112, lastMs: 116,
  packets: 128, bytes: 136, dropReplay: 144, dropTooOld: 152, dropAuth: 160, dropBadPad: 168,
  dropBadNextHeader: 176, dropLifetime: 184, dropMalformed: 192, dropPolicy: 200, dropSeqLimit: 208,
  seqLimit: 216, seqWarn: 224, bitmap: 256, secrets: 1024,
} as const;

/** Global ESP counters: their own block from index 96. */
export const ESP_COUNTER_BASE = 96;
export const ESP_COUNTER_NAMES = [
  'espTxPackets', 'espTxBytes', 'espRxPackets', 'espRxBytes', 'dropNoSa', 'saNeededSent', 'dropCleartext',
  'dropUnknownSpi', 'dropEspMalformed', 'dropEspAuth', 'dropEspReplay', 'dropEspInvalid', 'dropSaExpired',
  'nattKeepaliveRx', 'nattKeepaliveTx', 'ikeIn', 'ikeOut', 'dropEspTooBig', 'saEventsSent',
  'dropSeqLimit', 'dropEspPolicy',
] as const;
/** Counter slots holding the NBMA source of the last packet dropped for a reason (not counters). */
export const LAST_DROP_SOURCE_SLOT = { unknownPeer: 120, cleartext: 121, espPolicy: 122 } as const;
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

  saAdd(s: SaSpec): boolean {
    const authKey = s.authKey ?? new Uint8Array(0);
    const buf = new Uint8Array(96 + s.key.length + authKey.length);
    const v = new DataView(buf.buffer);
    const u32 = (o: number, x: number) => v.setUint32(o, x >>> 0, true);
    const u64 = (o: number, x: bigint | number | undefined) => v.setBigUint64(o, BigInt(x ?? 0), true);
    u32(0, s.index); u32(4, s.dir === 'in' ? SA_DIR.IN : SA_DIR.OUT); u32(8, s.spi); u32(12, s.peer);
    u32(16, espCipher(s.enc, s.integ ?? 0, s.icvLen ?? 0));
    u32(20, (s.udp ? SA_FLAG.UDP : 0) | (s.esn ? SA_FLAG.ESN : 0) | (s.tunnel ? SA_FLAG.TUNNEL : 0) | (s.noReplay ? SA_FLAG.NO_REPLAY : 0) |
      (s.seqLimited ? SA_FLAG.SEQ_LIMIT : 0) | (s.greOnly ? SA_FLAG.GRE_ONLY : 0));
    u32(24, s.udp ? (((s.udp.srcPort ?? NATT_PORT) << 16) | (s.udp.dstPort ?? NATT_PORT)) : 0);
    u32(28, s.replayWindow ?? 0);
    u64(32, s.softBytes); u64(40, s.hardBytes); u64(48, s.softPackets); u64(56, s.hardPackets);
    u32(64, s.key.length); u32(68, authKey.length); u64(72, s.initialSeq);
    randomFillSync(buf, 80, 16); // CBC IV seed
    buf.set(s.key, 96); buf.set(authKey, 96 + s.key.length);
    const ok = this.ring.fill(CTL_OUT.SA_ADD, 0, 0, buf, false);
    buf.fill(0);
    return this.done(ok);
  }
  /** Pairs inbound SA `inIndex` with outbound SA `outIndex`: NAT-T port floating (authenticated
   * ESP-in-UDP from a new source port on the inbound SA moves the outbound SA's destination port). */
  saPair(inIndex: number, outIndex: number): boolean { return this.done(this.ring.fill(CTL_OUT.SA_PAIR, 0, 0, [inIndex, outIndex])); }
  /** Outbound SA `index` may send up to `limit` (persisted first!) and raises SEQ_LOW from `warn` on. */
  saLimit(index: number, limit: bigint, warn: bigint): boolean {
    const b = new Uint8Array(24);
    const v = new DataView(b.buffer);
    v.setUint32(0, index >>> 0, true); v.setBigUint64(8, limit, true); v.setBigUint64(16, warn, true);
    return this.done(this.ring.fill(CTL_OUT.SA_LIMIT, 0, 0, b, false));
  }
  saDel(index: number): boolean { return this.done(this.ring.fill(CTL_OUT.SA_DEL, 0, 0, [index])); }
  /** NAT-keepalive (one 0xFF byte in UDP) to `nbma`; send every 20 s per UDP-encapsulated peer. */
  keepalive(nbma: number, srcPort = NATT_PORT, dstPort = NATT_PORT): boolean {
    return this.done(this.ring.fill(CTL_OUT.KEEPALIVE, 0, 0, [nbma, (srcPort << 16) | dstPort]));
  }
  /** IKE message out of port 4500 (the worker prepends the non-ESP marker). */
  ikeOut(dst: number, msg: Uint8Array, srcPort = NATT_PORT, dstPort = NATT_PORT): boolean {
    const b = new Uint8Array(8 + msg.length);
    const v = new DataView(b.buffer);
    v.setUint32(0, dst >>> 0, true); v.setUint32(4, ((srcPort << 16) | dstPort) >>> 0, true);
    b.set(msg, 8);
    return this.done(this.ring.fill(CTL_OUT.IKE_OUT, 0, 0, b, false));
  }
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

export function readEspCounters(buffer: ArrayBufferLike, l: Pick<Layout, 'counters'>): Record<EspCounterName, number> {
  const v = new BigUint64Array(buffer, l.counters + ESP_COUNTER_BASE * 8, ESP_COUNTER_NAMES.length);
  const out = {} as Record<EspCounterName, number>;
  ESP_COUNTER_NAMES.forEach((n, i) => { out[n] = Number(v[i]); });
  return out;
}

/** NBMA source (u32, 0 = none yet) of the last packet dropped for each reason. */
export function readDropSources(buffer: ArrayBufferLike, l: Pick<Layout, 'counters'>): Record<keyof typeof LAST_DROP_SOURCE_SLOT, number> {
  const v = new BigUint64Array(buffer, l.counters, 256);
  const out = {} as Record<keyof typeof LAST_DROP_SOURCE_SLOT, number>;
  for (const [k, i] of Object.entries(LAST_DROP_SOURCE_SLOT)) out[k as keyof typeof LAST_DROP_SOURCE_SLOT] = Number(v[i]);
  return out;
}

export type EspControlMessage =
  | { type: 'SA_EVENT'; index: number; reason: number; spi: number; dir: number }
  | { type: 'SA_NEEDED'; nbma: number }
  | { type: 'IKE_IN'; src: number; srcPort: number; dstPort: number; message: Uint8Array };

/** Decodes the ESP ctlRx kinds (SA_EVENT, SA_NEEDED, IKE_IN); undefined for other kinds. */
export function decodeEspControl(kind: number, addr: number, aux: number, data: Uint8Array): EspControlMessage | undefined {
  if (kind === CTL_IN.SA_EVENT && data.length >= 16) {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return { type: 'SA_EVENT', index: v.getUint32(0, true), reason: v.getUint32(4, true), spi: v.getUint32(8, true), dir: v.getUint32(12, true) };
  }
  if (kind === CTL_IN.SA_NEEDED) return { type: 'SA_NEEDED', nbma: addr >>> 0 };
  if (kind === CTL_IN.IKE_IN) return { type: 'IKE_IN', src: addr >>> 0, srcPort: aux >>> 16, dstPort: aux & 0xffff, message: data.slice() };
  return undefined;
}
