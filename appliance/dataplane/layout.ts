// Shared-memory layout of the data plane: where the rings, tables and counters go (computeLayout) and
// the layout block that tells the worker (writeLayout). Every offset, kind and counter index comes from
// ./abi.ts, generated from wasm/layout/dataplane.layout.json together with the AssemblyScript and C
// copies (docs/layout-contract.md); docs/dataplane.md explains the fields.
import {
  L, RING, PEER_ENTRY, NBMA_INDEX_FIELDS, FIB_ENTRY, SA_ENTRY, SA_INDEX_ENTRY, SCRATCH, LAYOUT_BASE, LAYOUT_MAGIC, LAYOUT_VERSION,
  COUNTER_SLOTS, FIB_BITMAP_BYTES, FIB_LENGTHS, FIB_EMPTY_LEN, TUN_SLOT_SIZE, COUNTER_NAMES, EPOCH_IDLE, CRYPTO_LANE,
} from './abi.js';

export {
  LAYOUT_BASE, LAYOUT_MAGIC, LAYOUT_VERSION, L, RING, SLOT, DOORBELL, CTL_IN, CTL_OUT, CTL_KIND_WORD, TUNNEL_FLAG, TUNNEL_STATE,
  PEER_FLAG, PEER_SA_SHIFT, NBMA_KIND, PEER_ENTRY, PEER_EMPTY, PEER_DELETED, PEER_HASH_MUL, COUNTER_NAMES, COUNTER_SLOTS,
  OFFLOAD_COUNTER_BASE, OFFLOAD_COUNTER_NAMES, HEAL_COUNTER_BASE, HEAL_COUNTER_NAMES, CONTROL_COUNTER_BASE, CONTROL_COUNTER_NAMES, TUN_KIND, RING_FLAG, VNET_HDR_LEN,
  TUN_SLOT_SIZE, FIB_BITMAP_BYTES, SCRATCH, EPOCH_IDLE, TEST_HOOK, CRYPTO_LANE, CRYPTO_JOB, JOB_STATE, CRYPTO_COUNTER_BASE, CRYPTO_COUNTER_NAMES,
} from './abi.js';

/** nbma -> peer reverse index: peerCapacity entries of this many bytes (NBMA_INDEX_FIELDS). */
export const NBMA_INDEX_ENTRY = NBMA_INDEX_FIELDS.size;
/** Bytes per SA entry (SA_ENTRY has the fields). */
export const SA_ENTRY_SIZE = SA_ENTRY.size;
export type CounterName = (typeof COUNTER_NAMES)[number];
/** Worker scratch: {ring u32, slot u32} of the input slot the worker is processing (wasm/assembly/worker/recover.ts). */
export const SCRATCH_IN_FLIGHT = SCRATCH.inFlight;

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
  /**
   * Data-plane workers the memory is laid out for (default 1): each gets a scratch of scratchSize and
   * a counter array of its own (docs/dataplane.md "ESP across workers").
   */
  workers?: number;
  /** SA entries (power of two, default 1024; 0 = no ESP). */
  saCapacity?: number;
  /** slots of udpTx, espRx, udpRx (default nbmaSlots). */
  espSlots?: number;
}

/**
 * The rings and doorbells one worker has to itself (docs/dataplane.md "Every core forwards"): worker 0's
 * are the main layout block's; worker i >= 1 gets a layout block of its own at `block` naming these,
 * with ctlTx, nhrpRx and ikeRx 0 (commands and the control lane stay with worker 0).
 */
export interface WorkerRings {
  block: number;
  tunRx: number; tunTx: number; nbmaRx: number; nbmaTx: number; ctlRx: number;
  udpTx: number; espRx: number; udpRx: number;
  workerDoorbell: number; tunTxDoorbell: number; nbmaTxDoorbell: number; udpTxDoorbell: number;
  tunRxProducerDoorbell: number; nbmaRxProducerDoorbell: number; espRxProducerDoorbell: number; udpRxProducerDoorbell: number;
}
/** The rings every worker has one of; the supervisor runs one pump per worker on each. */
export const WORKER_RING_NAMES = ['tunRx', 'tunTx', 'nbmaRx', 'nbmaTx', 'ctlRx', 'udpTx', 'espRx', 'udpRx'] as const;
export type WorkerRingName = (typeof WORKER_RING_NAMES)[number];

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
  /** workers laid out for: worker i's scratch is at scratch + i × scratchSize, its counters at counters + i × COUNTER_SLOTS × 8. */
  workers: number;
  tunnelState: number;
  nbmaIndex: number;
  /** ESP: SA table (saCapacity entries of SA_ENTRY_SIZE), private SPI/peer indexes, rings and doorbells. */
  saTable: number; saCapacity: number; spiIndex: number; outIndex: number;
  udpTx: number; espRx: number; udpRx: number;
  udpTxDoorbell: number; espRxProducerDoorbell: number; udpRxProducerDoorbell: number;
  /** NHRP's own receive ring (docs/dataplane.md "The control lane") and the doorbell its pump waits on. */
  nhrpRx: number; nhrpRxProducerDoorbell: number;
  /** IKE's own receive ring on UDP 4500 (with ESP), and its pump's doorbell. */
  ikeRx: number; ikeRxProducerDoorbell: number;
  /** workers[i]: worker i's own rings and doorbells (workers[0]: the fields above, block = base). */
  workerRings: WorkerRings[];
  /** the first of the worker blocks (worker i >= 1 at workerBlocks + (i - 1) × L.size); 0 with one worker. */
  workerBlocks: number;
  end: number;
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;
/** Bytes of one worker's counter array. */
export const COUNTER_ARRAY_BYTES = COUNTER_SLOTS * 8;
/** More workers than a branch box or hub has cores would only cost memory (scratch each). */
export const MAX_WORKERS = 64;
/**
 * Workers that forward (own rings: TUN queue, NBMA receive share): each beyond the first adds about
 * 45 MiB of rings, and the memory may not outgrow the module's 4096 pages (256 MiB).
 */
export const MAX_FORWARDING_WORKERS = 4;
/** Slots of each TUN ring of a worker > 0 (64 KiB each, unbacked until written). */
const EXTRA_WORKER_TUN_SLOTS = 256;
/** Slots of a worker > 0's ctlRx: notices and NHRP that came inside ESP only (the control lane is worker 0's). */
const EXTRA_WORKER_CTL_SLOTS = 1024;
export const ringBytes = (r: RingSpec) => RING.headerSize + r.slotCount * r.slotSize;
export const FIB_ENTRY_SIZE = FIB_ENTRY.size;
export const fibBytes = (capacity: number) => FIB_BITMAP_BYTES + FIB_LENGTHS * capacity * FIB_ENTRY_SIZE;

/** Every ring, named as in Layout; computeLayout gives each one a RingSpec (the type checks it). */
export const RING_NAMES = ['tunRx', 'tunTx', 'nbmaRx', 'nbmaTx', 'ctlRx', 'ctlTx', 'udpTx', 'espRx', 'udpRx', 'nhrpRx', 'ikeRx'] as const;
export type RingName = (typeof RING_NAMES)[number];

/** Computes where everything goes. Pure: the caller writes it into memory with writeLayout(). */
export function computeLayout(o: LayoutOptions = {}): Layout & { rings: Record<RingName, RingSpec> } {
  const slotSize = o.slotSize ?? 2048;
  const rings: Record<RingName, RingSpec> = {
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
    // NHRP only (the kernel filters it onto its own socket): as deep as ctlRx, for the same storms
    nhrpRx: { slotCount: o.ctlSlots ?? 4096, slotSize },
    ikeRx: { slotCount: o.espSlots ?? o.nbmaSlots ?? 1024, slotSize },
  };
  let p = LAYOUT_BASE + L.size;
  const bell = () => { const at = p; p += 64; return at; }; // one cache line each
  const workerDoorbell = bell(), tunTxDoorbell = bell(), nbmaTxDoorbell = bell(), supervisorDoorbell = bell();
  const tunRxProducerDoorbell = bell(), nbmaRxProducerDoorbell = bell();
  const udpTxDoorbell = bell(), espRxProducerDoorbell = bell(), udpRxProducerDoorbell = bell();
  const nhrpRxProducerDoorbell = bell(), ikeRxProducerDoorbell = bell();
  p = align(p, 4096);
  const at: Record<string, number> = {};
  for (const [name, r] of Object.entries(rings)) { at[name] = p; p = align(p + ringBytes(r), 4096); }
  const workers = o.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new RangeError(`workers ${workers}: 1..${MAX_WORKERS}`);
  const workerRings: WorkerRings[] = [{
    block: LAYOUT_BASE, tunRx: at.tunRx, tunTx: at.tunTx, nbmaRx: at.nbmaRx, nbmaTx: at.nbmaTx, ctlRx: at.ctlRx,
    udpTx: at.udpTx, espRx: at.espRx, udpRx: at.udpRx, workerDoorbell, tunTxDoorbell, nbmaTxDoorbell, udpTxDoorbell,
    tunRxProducerDoorbell, nbmaRxProducerDoorbell, espRxProducerDoorbell, udpRxProducerDoorbell,
  }];
  const workerBlocks = workers > 1 ? p : 0;
  p = align(p + (workers - 1) * L.size, 4096);
  for (let i = 1; i < workers; i++) {
    const wb = () => { const x = p; p += 64; return x; };
    const bells = {
      workerDoorbell: wb(), tunTxDoorbell: wb(), nbmaTxDoorbell: wb(), udpTxDoorbell: wb(),
      tunRxProducerDoorbell: wb(), nbmaRxProducerDoorbell: wb(), espRxProducerDoorbell: wb(), udpRxProducerDoorbell: wb(),
    };
    p = align(p, 4096);
    const ringAt: Partial<Record<WorkerRingName, number>> = {};
    for (const name of WORKER_RING_NAMES) { ringAt[name] = p; p = align(p + ringBytes(extraWorkerRing(rings, name)), 4096); }
    workerRings.push({ block: workerBlocks + (i - 1) * L.size, ...(ringAt as Record<WorkerRingName, number>), ...bells });
  }
  const counters = p; p += workers * COUNTER_ARRAY_BYTES;
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
  // SPI and outbound indexes: 2 x saCapacity entries each (load factor 1/2)
  const spiIndex = p; p = align(p + 2 * saCapacity * SA_INDEX_ENTRY.size, 4096);
  const outIndex = p; p = align(p + 2 * saCapacity * SA_INDEX_ENTRY.size, 4096);
  const scratch = p; p = align(p + workers * scratchSize, 65536);
  return {
    base: LAYOUT_BASE, rings,
    tunRx: at.tunRx, tunTx: at.tunTx, nbmaRx: at.nbmaRx, nbmaTx: at.nbmaTx, ctlRx: at.ctlRx, ctlTx: at.ctlTx,
    workerDoorbell, tunTxDoorbell, nbmaTxDoorbell, supervisorDoorbell, tunRxProducerDoorbell, nbmaRxProducerDoorbell,
    counters, peerTable, peerCapacity, fib, fibCapacity, scratch, scratchSize, workers, tunnelState, nbmaIndex,
    saTable: saCapacity ? saTable : 0, saCapacity, spiIndex, outIndex, udpTx: at.udpTx, espRx: at.espRx, udpRx: at.udpRx,
    udpTxDoorbell, espRxProducerDoorbell, udpRxProducerDoorbell, nhrpRx: at.nhrpRx, nhrpRxProducerDoorbell,
    ikeRx: at.ikeRx, ikeRxProducerDoorbell, workerRings, workerBlocks, end: p,
  };
}

/** The shape of ring `name` of a worker > 0: worker 0's, with fewer TUN and ctlRx slots. */
export function extraWorkerRing(rings: Record<RingName, RingSpec>, name: WorkerRingName): RingSpec {
  const r = rings[name];
  if (name === 'tunRx' || name === 'tunTx') return { ...r, slotCount: Math.min(r.slotCount, EXTRA_WORKER_TUN_SLOTS) };
  if (name === 'ctlRx') return { ...r, slotCount: Math.min(r.slotCount, EXTRA_WORKER_CTL_SLOTS) };
  return r;
}

/** What the counter readers need of a layout (`workers` absent: one counter array). */
export type CounterLayout = Pick<Layout, 'counters'> & { workers?: number };

/**
 * Each worker's counter array (`count` u64 from index `from`), for readers that sum them. A layout
 * without `workers` (an object built before the field existed) has one.
 */
export function counterArrays(
  buffer: ArrayBufferLike, l: CounterLayout, from = 0, count = COUNTER_SLOTS - from,
): BigUint64Array[] {
  return Array.from({ length: l.workers ?? 1 }, (_, i) => new BigUint64Array(buffer, l.counters + i * COUNTER_ARRAY_BYTES + from * 8, count));
}

/** Counter `i` summed over the workers' arrays. */
export const sumCounter = (arrays: BigUint64Array[], i: number): bigint => arrays.reduce((a, v) => a + v[i], 0n);

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
  w(b + L.workers, l.workers);
  w(b + L.saTable, l.saTable); w(b + L.saCapacity, l.saCapacity); w(b + L.spiIndex, l.spiIndex);
  w(b + L.outIndex, l.outIndex); w(b + L.udpTx, l.udpTx); w(b + L.espRx, l.espRx); w(b + L.udpRx, l.udpRx);
  w(b + L.nhrpRx, l.nhrpRx); w(b + L.ikeRx, l.ikeRx); w(b + L.workerBlocks, l.workerBlocks);
  if (l.saTable) u32.fill(0, l.saTable >>> 2, (l.saTable + l.saCapacity * SA_ENTRY_SIZE) >>> 2);
  // Tables, counters and the tunnel state start zeroed (a reused buffer is reset too).
  u32.fill(0, l.counters >>> 2, (l.counters + l.workers * COUNTER_ARRAY_BYTES) >>> 2);
  u32.fill(0, l.peerTable >>> 2, (l.peerTable + l.peerCapacity * PEER_ENTRY.size) >>> 2);
  u32.fill(0, l.nbmaIndex >>> 2, (l.nbmaIndex + l.peerCapacity * NBMA_INDEX_ENTRY) >>> 2);
  u32.fill(0, l.tunnelState >>> 2, (l.tunnelState + 4096) >>> 2);
  const ring = (off: number, r: RingSpec, consumer: number, producer: number) => {
    w(off + RING.head, 0); w(off + RING.tail, 0);
    w(off + RING.slotCount, r.slotCount); w(off + RING.slotSize, r.slotSize);
    w(off + RING.consumerDoorbell, consumer); w(off + RING.producerDoorbell, producer);
    w(off + RING.fullDrops, 0); w(off + RING.flags, 0);
    w(off + RING.fullWaits, 0); w(off + RING.kernelDrops, 0);
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
  ring(l.nhrpRx, l.rings.nhrpRx, l.workerDoorbell, l.nhrpRxProducerDoorbell);
  ring(l.ikeRx, l.rings.ikeRx, l.workerDoorbell, l.ikeRxProducerDoorbell);
  // Workers > 0: a copy of the block naming the worker's own rings (control rings 0), and the rings.
  for (let i = 1; i < l.workerRings.length; i++) {
    const r = l.workerRings[i];
    u32.copyWithin(r.block >>> 2, b >>> 2, (b + L.size) >>> 2);
    for (const name of WORKER_RING_NAMES) w(r.block + L[name], r[name]);
    w(r.block + L.workerDoorbell, r.workerDoorbell);
    w(r.block + L.ctlTx, 0); w(r.block + L.nhrpRx, 0); w(r.block + L.ikeRx, 0); w(r.block + L.stopFlag, 0);
    const spec = (name: WorkerRingName) => extraWorkerRing(l.rings, name);
    ring(r.tunRx, spec('tunRx'), r.workerDoorbell, r.tunRxProducerDoorbell);
    ring(r.tunTx, spec('tunTx'), r.tunTxDoorbell, r.workerDoorbell);
    ring(r.nbmaRx, spec('nbmaRx'), r.workerDoorbell, r.nbmaRxProducerDoorbell);
    ring(r.nbmaTx, spec('nbmaTx'), r.nbmaTxDoorbell, r.workerDoorbell);
    ring(r.ctlRx, spec('ctlRx'), l.supervisorDoorbell, r.workerDoorbell);
    ring(r.udpTx, spec('udpTx'), r.udpTxDoorbell, r.workerDoorbell);
    ring(r.espRx, spec('espRx'), r.workerDoorbell, r.espRxProducerDoorbell);
    ring(r.udpRx, spec('udpRx'), r.workerDoorbell, r.udpRxProducerDoorbell);
  }
  // No worker holds an SA reference before its first batch (core/tables.ts epochs).
  for (let i = 0; i < l.workers; i++) w(l.scratch + i * l.scratchSize + SCRATCH.epoch, EPOCH_IDLE);
  // Crypto lanes start empty (esp/lane.ts reads any worker's; a reused buffer is reset too).
  if (l.scratchSize >= SCRATCH.cryptoLaneEnd) {
    for (let i = 0; i < l.workers; i++) {
      const lane = l.scratch + i * l.scratchSize + SCRATCH.cryptoLane;
      u32.fill(0, lane >>> 2, (lane + CRYPTO_LANE.size) >>> 2);
    }
  }
  // FIB: mark every entry empty (prefix 0xFFFFFFFF, len FIB_EMPTY_LEN).
  const fibEntries = (l.fibCapacity * FIB_LENGTHS);
  for (let i = 0; i < FIB_BITMAP_BYTES; i += 4) w(l.fib + i, 0);
  for (let i = 0; i < fibEntries; i++) {
    const e = l.fib + FIB_BITMAP_BYTES + i * FIB_ENTRY_SIZE;
    w(e + FIB_ENTRY.prefix, 0xffffffff); w(e + FIB_ENTRY.len, FIB_EMPTY_LEN); w(e + FIB_ENTRY.nextHop, 0); w(e + FIB_ENTRY.flags, 0);
  }
}
