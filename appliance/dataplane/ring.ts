// TypeScript side of the SPSC rings and doorbells (docs/dataplane.md "Rings", "Doorbells"), over the
// shared memory. The supervisor is the producer of ctlTx and the consumer of ctlRx; tests and
// benchmarks also use it on the packet rings. Nothing is allocated per slot: views are made once.
import { RING, SLOT, DOORBELL } from './abi.js';

// Slot header fields as u32 word indexes from the slot's start (the data follows at SLOT.data).
const LEN = SLOT.len >>> 2, KIND = SLOT.kind >>> 2, ADDR = SLOT.addr >>> 2, AUX = SLOT.aux >>> 2, DATA = SLOT.data >>> 2;

export type WakeFn = (doorbell: number) => void;

/** Rings a doorbell: seq += 1; wake the sleeper (via the addon's futex wake) only if it sleeps. */
export function ringDoorbell(i32: Int32Array, doorbell: number, wake?: WakeFn): void {
  if (doorbell === 0) return;
  Atomics.add(i32, (doorbell + DOORBELL.seq) >>> 2, 1);
  if (Atomics.load(i32, (doorbell + DOORBELL.sleeping) >>> 2) !== 0) wake?.(doorbell);
}

export type SlotFn = (kind: number, addr: number, aux: number, data: Uint8Array, len: number) => void;

export class Ring {
  readonly slotCount: number;
  readonly slotSize: number;
  readonly slotDataMax: number;
  private readonly u8: Uint8Array;
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly headIdx: number;
  private readonly tailIdx: number;
  /** producer: head of slots filled but not yet published. */
  private localHead: number;

  /**
   * @param buffer the shared memory's buffer (memory.buffer)
   * @param offset ring header offset (from the layout)
   * @param wake called with a doorbell offset when its owner is sleeping (the addon's futex wake)
   */
  constructor(buffer: ArrayBufferLike, readonly offset: number, private readonly wake?: WakeFn) {
    this.u8 = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.headIdx = (offset + RING.head) >>> 2;
    this.tailIdx = (offset + RING.tail) >>> 2;
    this.slotCount = this.u32[(offset + RING.slotCount) >>> 2];
    this.slotSize = this.u32[(offset + RING.slotSize) >>> 2];
    this.slotDataMax = this.slotSize - SLOT.data;
    this.localHead = Atomics.load(this.u32, this.headIdx);
  }

  private slotOffset(i: number): number {
    return this.offset + RING.headerSize + (i & (this.slotCount - 1)) * this.slotSize;
  }

  get head(): number { return Atomics.load(this.u32, this.headIdx); }
  get tail(): number { return Atomics.load(this.u32, this.tailIdx); }
  /** Slots produced and not yet consumed. */
  get pending(): number { return (this.head - this.tail) >>> 0; }
  /** producer: the position after the last slot filled (published or not). */
  get filled(): number { return this.localHead; }
  /** Has the consumer taken every slot before position `mark` (a `filled` read earlier)? */
  consumed(mark: number): boolean { return ((this.tail - mark) | 0) >= 0; }
  get fullDrops(): number { return this.u32[(this.offset + RING.fullDrops) >>> 2]; }
  /** Times the producer found this ring full and waited instead of dropping (back-pressure). */
  get fullWaits(): number { return this.u32[(this.offset + RING.fullWaits) >>> 2]; }

  // ---- producer ----

  /** Free slots (counting slots filled but not yet published). */
  get free(): number { return this.slotCount - ((this.localHead - this.tail) >>> 0); }

  /**
   * Fills the next slot without publishing it (publish() later, once per batch). `bytes` may be a
   * Uint8Array (copied) or a number array of u32 words (command fields). Returns false when the ring
   * is full (counted in fullDrops) or the data does not fit a slot.
   */
  fill(kind: number, addr: number, aux: number, bytes: Uint8Array | ArrayLike<number> = EMPTY, words = !(bytes instanceof Uint8Array)): boolean {
    const len = words ? bytes.length * 4 : bytes.length;
    if (len > this.slotDataMax) return false;
    if (((this.localHead - this.tail) >>> 0) >= this.slotCount) {
      this.u32[(this.offset + RING.fullDrops) >>> 2]++;
      return false;
    }
    const s = this.slotOffset(this.localHead);
    const w = s >>> 2;
    this.u32[w + LEN] = len;
    this.u32[w + KIND] = kind >>> 0;
    this.u32[w + ADDR] = addr >>> 0;
    this.u32[w + AUX] = aux >>> 0;
    if (words) {
      for (let i = 0; i < bytes.length; i++) this.u32[w + DATA + i] = (bytes as ArrayLike<number>)[i] >>> 0;
    } else {
      this.u8.set(bytes as Uint8Array, s + SLOT.data);
    }
    this.localHead = (this.localHead + 1) >>> 0;
    return true;
  }

  /**
   * Publishes every filled slot with one head store and rings the consumer's doorbell once
   * (`wake`, if given, is used instead of the constructor's for this call).
   */
  publish(wake: WakeFn | undefined = this.wake): void {
    if (this.localHead === Atomics.load(this.u32, this.headIdx)) return;
    Atomics.store(this.u32, this.headIdx, this.localHead);
    ringDoorbell(this.i32, this.u32[(this.offset + RING.consumerDoorbell) >>> 2], wake);
  }

  /** fill() + publish(). */
  pushSlot(kind: number, addr: number, aux: number, bytes: Uint8Array | ArrayLike<number> = EMPTY): boolean {
    const ok = this.fill(kind, addr, aux, bytes);
    if (ok) this.publish();
    return ok;
  }

  // ---- consumer ----

  /**
   * Calls fn for each published slot (at most `max`), then frees them with one tail store and rings
   * the producer's doorbell. `data` is the whole memory; the slot's bytes are data[off, off+len):
   * fn receives a subarray view valid only during the call (copy it to keep it).
   */
  drain(fn: SlotFn, max = Infinity): number {
    const h = Atomics.load(this.u32, this.headIdx);
    let t = Atomics.load(this.u32, this.tailIdx);
    let n = (h - t) >>> 0;
    if (n > max) n = max;
    if (n === 0) return 0;
    const end = (t + n) >>> 0;
    for (; t !== end; t = (t + 1) >>> 0) {
      const s = this.slotOffset(t);
      const w = s >>> 2;
      const len = Math.min(this.u32[w + LEN], this.slotDataMax);
      fn(this.u32[w + KIND], this.u32[w + ADDR], this.u32[w + AUX], this.u8.subarray(s + SLOT.data, s + SLOT.data + len), len);
    }
    this.release(end);
    return n;
  }

  /** Frees all published slots without looking at them (benchmarks). */
  skipAll(): number {
    const h = Atomics.load(this.u32, this.headIdx);
    const n = (h - Atomics.load(this.u32, this.tailIdx)) >>> 0;
    if (n) this.release(h);
    return n;
  }

  private release(tail: number): void {
    Atomics.store(this.u32, this.tailIdx, tail);
    ringDoorbell(this.i32, this.u32[(this.offset + RING.producerDoorbell) >>> 2], this.wake);
  }

  /** Producer-side re-sync after the consumer or someone else moved head (tests). */
  resync(): void { this.localHead = Atomics.load(this.u32, this.headIdx); }
}

const EMPTY = new Uint8Array(0);
