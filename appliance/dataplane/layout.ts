// Shared-memory layout of the data plane. docs/dataplane.md explains every field; this file is the
// single source of the numbers for TypeScript. The WASM module reads the layout block at run time and
// the C addon is told ring offsets by JS, so nothing here is duplicated in another language.

export const LAYOUT_BASE = 1 << 20; // below: AssemblyScript static data
export const LAYOUT_MAGIC = 0x444d5631; // "DMV1"
export const LAYOUT_VERSION = 1;

/** Byte offsets of u32 fields inside the layout block. */
export const L = {
  magic: 0,
  version: 4,
  tunRx: 8,
  tunTx: 12,
  nbmaRx: 16,
  nbmaTx: 20,
  ctlRx: 24,
  ctlTx: 28,
  workerDoorbell: 32,
  counters: 36,
  peerTable: 40,
  peerCapacity: 44,
  fib: 48,
  fibCapacity: 52,
  scratch: 56,
  scratchSize: 60,
  tunnelState: 64,
  nbmaIndex: 68,
  // IPsec ESP (docs/dataplane.md "IPsec ESP"); 0 = no ESP
  saTable: 160,
  saCapacity: 164,
  spiIndex: 168,
  outIndex: 172,
  udpTx: 176,
  espRx: 180,
  udpRx: 184,
  /** 1 = the worker honours TEST_TRAP (set only when dmvpnd runs with DMVPN_TEST_HOOKS=1). */
  testHooks: 248,
} as const;

/** Ring header field offsets. */
export const RING = {
  head: 0,
  tail: 64,
  slotCount: 128,
  slotSize: 132,
  consumerDoorbell: 136,
  producerDoorbell: 140,
  fullDrops: 144,
  /** bit0 VNET (tunTx): the consumer's TUN fd has IFF_VNET_HDR and takes kind-1 slots (set by the tun-tx pump). */
  flags: 148,
  headerSize: 256,
} as const;

/** Slot header field offsets. */
export const SLOT = { len: 0, kind: 4, addr: 8, aux: 12, data: 16 } as const;

export const DOORBELL = { seq: 0, sleeping: 4, size: 8 } as const;

/** ctlRx kinds (worker -> supervisor). */
export const CTL_IN = { NHRP_IN: 1, NO_ENTRY: 2, TRAFFIC_INDICATION: 3, SA_EVENT: 4, SA_NEEDED: 5, IKE_IN: 6 } as const;
/** ctlTx kinds (supervisor -> worker). */
export const CTL_OUT = {
  NHRP_OUT: 1,
  CFG_TUNNEL: 16,
  FIB_ADD: 17,
  FIB_DEL: 18,
  PEER_SET: 19,
  PEER_DEL: 20,
  FIB_FLUSH: 21,
  PEER_FLUSH: 22,
  MCAST_ADD: 23,
  MCAST_DEL: 24,
  MCAST_FLUSH: 25,
  SA_ADD: 26,
  SA_DEL: 27,
  KEEPALIVE: 28,
  IKE_OUT: 29,
  SA_PAIR: 30,
  SA_LIMIT: 31,
  /** test hook: the worker traps (only with the layout's testHooks set; docs/dataplane.md "Healing"). */
  TEST_TRAP: 32,
} as const;

export const TUNNEL_FLAG = { KEY: 1, P2P: 2, STRICT: 4, REDIRECT: 8, PROTECTED: 16 } as const;

/** Tunnel state block (u32 fields), written by the worker when it applies CFG_TUNNEL. */
export const TUNNEL_STATE = {
  source: 0, tunnelIp: 4, tunnelPrefixLen: 8, flags: 12, key: 16, ipMtu: 20, tcpMss: 24, ttl: 28,
  p2pDestination: 32, nhsFallback: 36,
  /** number of CFG_TUNNEL applied (0 = not configured: every packet is dropped, dropNoTunnel). */
  configGen: 40,
  peerCount: 44,
  routeCount: 48,
  /** u32 x 33: routes per prefix length 0..32. */
  routesPerLen: 64,
} as const;

/** nbma -> peer reverse index: peerCapacity entries of 8 bytes (nbma u32, 0 = empty; peer slot u32). */
export const NBMA_INDEX_ENTRY = 8;
export const PEER_FLAG = { STATIC: 1, NAT: 2, UDP: 4 } as const;
/** PEER_SET flags bits 16..31: outbound SA index + 1 for this tunnel peer (0 = newest SA for its NBMA). */
export const PEER_SA_SHIFT = 16;

/** nbma ring slot kinds. */
export const NBMA_KIND = { GRE: 47, ESP: 50, UDP: 17 } as const;

export const PEER_ENTRY = {
  size: 48, tunnelIp: 0, nbma: 4, flags: 8, gen: 12,
  txPackets: 16, txBytes: 24, rxPackets: 32, rxBytes: 40,
} as const;
export const PEER_EMPTY = 0;
export const PEER_DELETED = 0xffffffff;
export const PEER_HASH_MUL = 0x9e3779b1;
/** Bytes per SA entry (appliance/dataplane/sa.ts has the fields). */
export const SA_ENTRY_SIZE = 4096;

export const COUNTER_NAMES = [
  'tunRxPackets', 'tunRxBytes', 'greTxPackets', 'greTxBytes', 'greRxPackets', 'greRxBytes',
  'tunTxPackets', 'tunTxBytes', 'nhrpIn', 'nhrpOut', 'noEntry', 'dropNoRoute', 'dropNoEntry',
  'dropTtl', 'dropBadIp', 'dropGreTruncated', 'dropGreVersion', 'dropGreFlags', 'dropGreKey',
  'dropGreProto', 'dropTooBig', 'icmpFragNeededSent', 'mssClamped', 'dropRingFull',
  'dropOuterFragment', 'dropNotForUs', 'dropUnknownPeer', 'cmdApplied', 'cmdBad', 'dropCtlTooBig',
  'dropLocal', 'fragTx', 'icmpRateLimited', 'dropNoTunnel', 'dropBadKind', 'redirectNotice', 'mcastTx', 'dropMcastNoList',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
export const COUNTER_SLOTS = 256;
/** TSO/GRO offload counters: their own block from index 64 (wasm/assembly/offload-counters.ts). */
export const OFFLOAD_COUNTER_BASE = 64;
export const OFFLOAD_COUNTER_NAMES = [
  'tsoSuper', 'tsoSegments', 'csumCompleted', 'groSuper', 'groMerged', 'dropBadVnet',
] as const;

/** Worker scratch: {ring u32, slot u32} of the input slot the worker is processing (wasm/assembly/recover.ts). */
export const SCRATCH_IN_FLIGHT = 256;

/** Worker-restart counters: their own block from index 160 (wasm/assembly/recover.ts). */
export const HEAL_COUNTER_BASE = 160;
export const HEAL_COUNTER_NAMES = [
  'restartSlotSkipped', 'restartTornPeers', 'restartTornSas', 'restartSetups',
] as const;

/** TUN ring slot kinds: 0 = bare IPv4 packet; 1 = 10-byte virtio_net_hdr, then the packet. */
export const TUN_KIND = { PLAIN: 0, VNET: 1 } as const;
export const RING_FLAG = { VNET: 1 } as const;
export const VNET_HDR_LEN = 10;
/** tunRx/tunTx slots hold a vnet header + a 64 KiB TSO/GRO super-packet: 64 KiB + 64 (16 + 10, rounded). */
export const TUN_SLOT_SIZE = 65536 + 64;

export interface RingSpec { slotCount: number; slotSize: number }

export interface LayoutOptions {
  tunSlots?: number;
  nbmaSlots?: number;
  ctlSlots?: number;
  slotSize?: number;
  /** slot size of tunRx/tunTx (default TUN_SLOT_SIZE: room for offload super-packets). */
  tunSlotSize?: number;
  peerCapacity?: number;
  fibCapacity?: number;
  scratchSize?: number;
  /** SA entries (power of two, default 1024; 0 = no ESP). */
  saCapacity?: number;
  /** slots of udpTx, espRx, udpRx (default nbmaSlots). */
  espSlots?: number;
}

export interface Layout {
  base: number;
  tunRx: number; tunTx: number; nbmaRx: number; nbmaTx: number; ctlRx: number; ctlTx: number;
  workerDoorbell: number;
  /** doorbells of the C pumps that consume tunTx and nbmaTx, and of the supervisor (ctlRx). */
  tunTxDoorbell: number; nbmaTxDoorbell: number; supervisorDoorbell: number;
  /** doorbells the producers of tunRx/nbmaRx sleep on when their ring is full. */
  tunRxProducerDoorbell: number; nbmaRxProducerDoorbell: number;
  counters: number;
  peerTable: number; peerCapacity: number;
  fib: number; fibCapacity: number;
  scratch: number; scratchSize: number;
  tunnelState: number;
  nbmaIndex: number;
  /** ESP: SA table (saCapacity entries of SA_ENTRY_SIZE), private SPI/peer indexes, rings and doorbells. */
  saTable: number; saCapacity: number; spiIndex: number; outIndex: number;
  udpTx: number; espRx: number; udpRx: number;
  udpTxDoorbell: number; espRxProducerDoorbell: number; udpRxProducerDoorbell: number;
  end: number;
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;
export const ringBytes = (r: RingSpec) => RING.headerSize + r.slotCount * r.slotSize;
export const FIB_BITMAP_BYTES = 64;
export const FIB_ENTRY_SIZE = 16;
export const fibBytes = (capacity: number) => FIB_BITMAP_BYTES + 33 * capacity * FIB_ENTRY_SIZE;

/** Computes where everything goes. Pure: the caller writes it into memory with writeLayout(). */
export function computeLayout(o: LayoutOptions = {}): Layout & { rings: Record<string, RingSpec> } {
  const slotSize = o.slotSize ?? 2048;
  const rings: Record<string, RingSpec> = {
    // Big slots, fewer of them: one slot per TSO/GRO super-packet (pages never written stay unbacked).
    tunRx: { slotCount: o.tunSlots ?? 256, slotSize: o.tunSlotSize ?? TUN_SLOT_SIZE },
    tunTx: { slotCount: o.tunSlots ?? 512, slotSize: o.tunSlotSize ?? TUN_SLOT_SIZE },
    nbmaRx: { slotCount: o.nbmaSlots ?? 1024, slotSize },
    nbmaTx: { slotCount: o.nbmaSlots ?? 1024, slotSize },
    // control rings absorb registration storms (thousands of spokes at once after a hub restart)
    ctlRx: { slotCount: o.ctlSlots ?? 4096, slotSize },
    ctlTx: { slotCount: o.ctlSlots ?? 4096, slotSize },
    udpTx: { slotCount: o.espSlots ?? o.nbmaSlots ?? 1024, slotSize },
    espRx: { slotCount: o.espSlots ?? o.nbmaSlots ?? 1024, slotSize },
    udpRx: { slotCount: o.espSlots ?? o.nbmaSlots ?? 1024, slotSize },
  };
  let p = LAYOUT_BASE + 256;
  const bell = () => { const at = p; p += 64; return at; }; // one cache line each
  const workerDoorbell = bell(), tunTxDoorbell = bell(), nbmaTxDoorbell = bell(), supervisorDoorbell = bell();
  const tunRxProducerDoorbell = bell(), nbmaRxProducerDoorbell = bell();
  const udpTxDoorbell = bell(), espRxProducerDoorbell = bell(), udpRxProducerDoorbell = bell();
  p = align(p, 4096);
  const at: Record<string, number> = {};
  for (const [name, r] of Object.entries(rings)) { at[name] = p; p = align(p + ringBytes(r), 4096); }
  const counters = p; p += COUNTER_SLOTS * 8;
  p = align(p, 4096);
  const peerCapacity = o.peerCapacity ?? 16384;
  const peerTable = p; p = align(p + peerCapacity * PEER_ENTRY.size, 4096);
  const fibCapacity = o.fibCapacity ?? 1024;
  const fib = p; p = align(p + fibBytes(fibCapacity), 4096);
  const nbmaIndex = p; p = align(p + peerCapacity * NBMA_INDEX_ENTRY, 4096);
  const tunnelState = p; p += 4096;
  const scratchSize = o.scratchSize ?? 256 * 1024;
  const saCapacity = o.saCapacity ?? 1024;
  const saTable = p; p = align(p + saCapacity * SA_ENTRY_SIZE, 4096);
  const spiIndex = p; p = align(p + saCapacity * 16, 4096);
  const outIndex = p; p = align(p + saCapacity * 16, 4096);
  const scratch = p; p = align(p + scratchSize, 65536);
  return {
    base: LAYOUT_BASE, rings,
    tunRx: at.tunRx, tunTx: at.tunTx, nbmaRx: at.nbmaRx, nbmaTx: at.nbmaTx, ctlRx: at.ctlRx, ctlTx: at.ctlTx,
    workerDoorbell, tunTxDoorbell, nbmaTxDoorbell, supervisorDoorbell, tunRxProducerDoorbell, nbmaRxProducerDoorbell,
    counters, peerTable, peerCapacity, fib, fibCapacity, scratch, scratchSize, tunnelState, nbmaIndex,
    saTable: saCapacity ? saTable : 0, saCapacity, spiIndex, outIndex, udpTx: at.udpTx, espRx: at.espRx, udpRx: at.udpRx,
    udpTxDoorbell, espRxProducerDoorbell, udpRxProducerDoorbell, end: p,
  };
}

/** Pages (64 KiB) a memory needs to hold the layout. */
export const pagesFor = (l: Layout) => Math.ceil(l.end / 65536);

/** Writes the layout block and every ring header into memory (before any thread starts). */
export function writeLayout(buf: SharedArrayBuffer | ArrayBuffer, l: ReturnType<typeof computeLayout>): void {
  const u32 = new Uint32Array(buf);
  const w = (off: number, v: number) => { u32[off >>> 2] = v >>> 0; };
  const b = l.base;
  w(b + L.magic, LAYOUT_MAGIC); w(b + L.version, LAYOUT_VERSION);
  w(b + L.tunRx, l.tunRx); w(b + L.tunTx, l.tunTx); w(b + L.nbmaRx, l.nbmaRx); w(b + L.nbmaTx, l.nbmaTx);
  w(b + L.ctlRx, l.ctlRx); w(b + L.ctlTx, l.ctlTx); w(b + L.workerDoorbell, l.workerDoorbell);
  w(b + L.counters, l.counters); w(b + L.peerTable, l.peerTable); w(b + L.peerCapacity, l.peerCapacity);
  w(b + L.fib, l.fib); w(b + L.fibCapacity, l.fibCapacity); w(b + L.scratch, l.scratch);
  w(b + L.scratchSize, l.scratchSize); w(b + L.tunnelState, l.tunnelState); w(b + L.nbmaIndex, l.nbmaIndex);
  w(b + L.saTable, l.saTable); w(b + L.saCapacity, l.saCapacity); w(b + L.spiIndex, l.spiIndex);
  w(b + L.outIndex, l.outIndex); w(b + L.udpTx, l.udpTx); w(b + L.espRx, l.espRx); w(b + L.udpRx, l.udpRx);
  if (l.saTable) u32.fill(0, l.saTable >>> 2, (l.saTable + l.saCapacity * SA_ENTRY_SIZE) >>> 2);
  // Tables, counters and the tunnel state start zeroed (a reused buffer is reset too).
  u32.fill(0, l.counters >>> 2, (l.counters + COUNTER_SLOTS * 8) >>> 2);
  u32.fill(0, l.peerTable >>> 2, (l.peerTable + l.peerCapacity * PEER_ENTRY.size) >>> 2);
  u32.fill(0, l.nbmaIndex >>> 2, (l.nbmaIndex + l.peerCapacity * NBMA_INDEX_ENTRY) >>> 2);
  u32.fill(0, l.tunnelState >>> 2, (l.tunnelState + 4096) >>> 2);
  const ring = (off: number, r: RingSpec, consumer: number, producer: number) => {
    w(off + RING.head, 0); w(off + RING.tail, 0);
    w(off + RING.slotCount, r.slotCount); w(off + RING.slotSize, r.slotSize);
    w(off + RING.consumerDoorbell, consumer); w(off + RING.producerDoorbell, producer);
    w(off + RING.fullDrops, 0); w(off + RING.flags, 0);
  };
  ring(l.tunRx, l.rings.tunRx, l.workerDoorbell, l.tunRxProducerDoorbell);
  ring(l.tunTx, l.rings.tunTx, l.tunTxDoorbell, l.workerDoorbell);
  ring(l.nbmaRx, l.rings.nbmaRx, l.workerDoorbell, l.nbmaRxProducerDoorbell);
  ring(l.nbmaTx, l.rings.nbmaTx, l.nbmaTxDoorbell, l.workerDoorbell);
  ring(l.ctlRx, l.rings.ctlRx, l.supervisorDoorbell, l.workerDoorbell);
  ring(l.ctlTx, l.rings.ctlTx, l.workerDoorbell, 0);
  ring(l.udpTx, l.rings.udpTx, l.udpTxDoorbell, l.workerDoorbell);
  ring(l.espRx, l.rings.espRx, l.workerDoorbell, l.espRxProducerDoorbell);
  ring(l.udpRx, l.rings.udpRx, l.workerDoorbell, l.udpRxProducerDoorbell);
  // FIB: mark every entry empty (prefix 0xFFFFFFFF, len 255).
  const fibEntries = (l.fibCapacity * 33);
  for (let i = 0; i < FIB_BITMAP_BYTES; i += 4) w(l.fib + i, 0);
  for (let i = 0; i < fibEntries; i++) {
    const e = l.fib + FIB_BITMAP_BYTES + i * FIB_ENTRY_SIZE;
    w(e, 0xffffffff); w(e + 4, 255); w(e + 8, 0); w(e + 12, 0);
  }
}
