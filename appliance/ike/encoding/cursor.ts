// Bounds-checked reading and writing of network-order fields. A Reader never reads past its end: every
// read first checks the remaining length and throws a DecodeError, which the message decoder (and only
// it) catches and turns into a named drop reason, so no length from the wire is ever trusted.

/** A wire-format violation; thrown only inside encoding/ and caught by the message decoders. */
export class DecodeError extends Error {
  constructor(readonly reason: string) { super(reason); }
}

export class Reader {
  private pos: number;
  constructor(private readonly buf: Uint8Array, start = 0, private readonly end = buf.length) {
    if (start < 0 || end > buf.length || start > end) throw new DecodeError('cursor outside buffer');
    this.pos = start;
  }

  get offset(): number { return this.pos; }
  get remaining(): number { return this.end - this.pos; }

  private need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) throw new DecodeError(`${what}: needs ${n} bytes, ${this.remaining} left`);
  }

  u8(what = 'u8'): number { this.need(1, what); return this.buf[this.pos++]; }
  u16(what = 'u16'): number { this.need(2, what); const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1]; this.pos += 2; return v; }
  u32(what = 'u32'): number {
    this.need(4, what);
    const b = this.buf, p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) >>> 0) + (b[p + 1] << 16) + (b[p + 2] << 8) + b[p + 3];
  }
  /** A copy, so what a decoded message holds never aliases the receive buffer. */
  bytes(n: number, what = 'bytes'): Uint8Array { this.need(n, what); const v = this.buf.slice(this.pos, this.pos + n); this.pos += n; return v; }
  /** A Reader over the next n bytes; this one moves past them. */
  sub(n: number, what = 'sub'): Reader { this.need(n, what); const r = new Reader(this.buf, this.pos, this.pos + n); this.pos += n; return r; }
  rest(): Uint8Array { return this.bytes(this.remaining, 'rest'); }
}

/** Growable big-endian writer. */
export class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  get length(): number { return this.len; }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): this { this.room(1); this.buf[this.len++] = v & 0xff; return this; }
  u16(v: number): this { this.room(2); this.buf[this.len++] = (v >>> 8) & 0xff; this.buf[this.len++] = v & 0xff; return this; }
  u32(v: number): this { this.u16((v >>> 16) & 0xffff); return this.u16(v & 0xffff); }
  bytes(b: Uint8Array): this { this.room(b.length); this.buf.set(b, this.len); this.len += b.length; return this; }
  /** Overwrites a u16 written earlier (a length known only once the body is written). */
  patchU16(at: number, v: number): void { this.buf[at] = (v >>> 8) & 0xff; this.buf[at + 1] = v & 0xff; }
  patchU32(at: number, v: number): void { this.patchU16(at, (v >>> 16) & 0xffff); this.patchU16(at + 2, v & 0xffff); }
  done(): Uint8Array { return this.buf.slice(0, this.len); }
}
