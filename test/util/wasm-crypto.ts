// Test wrapper around wasm/build/crypto.wasm: one instance over a fresh shared memory, byte-array
// in / byte-array out. This copies every buffer in and out, so it is NOT the data path (the data
// plane imports the AssemblyScript modules directly); it exists for the crypto tests and vectors
// (bench/crypto.mjs drives crypto.wasm itself).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Walks up from this module's directory to the one containing wasm/build/crypto.wasm. */
export function findCryptoWasm(start: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const p = join(dir, 'wasm', 'build', 'crypto.wasm');
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) throw new Error('wasm/build/crypto.wasm not found above ' + start + ' (run make wasm)');
    dir = up;
  }
}

/** Memory map used by this wrapper (all at or above 2 MiB, as the crypto module requires). */
export const LAYOUT = {
  scratch: 0x200000, // CRYPTO_SCRATCH_SIZE
  ctx: 0x210000, //     contexts (<= 8 KiB)
  key: 0x212000, //     raw key (<= 256 B)
  nonce: 0x212100, //   nonce / IV
  tag: 0x212200, //     tag in/out
  aux: 0x212400, //     small outputs (digests)
  aad: 0x213000, //     AAD (<= 4 KiB)
  buf: 0x220000, //     payload (<= 1 MiB)
  bufMax: 0x100000,
} as const;

type Fn = (...a: number[]) => number;
export interface CryptoExports {
  memory?: WebAssembly.Memory;
  [name: string]: Fn | WebAssembly.Global | WebAssembly.Memory | undefined;
}

export class WasmCrypto {
  readonly memory: WebAssembly.Memory;
  readonly x: Record<string, Fn>;
  readonly consts: Record<string, number>;

  private constructor(memory: WebAssembly.Memory, instance: WebAssembly.Instance) {
    this.memory = memory;
    this.x = {};
    this.consts = {};
    for (const [k, v] of Object.entries(instance.exports)) {
      if (typeof v === 'function') this.x[k] = v as Fn;
      else if (v instanceof WebAssembly.Global) this.consts[k] = Number(v.value);
    }
    this.x.cryptoSetScratch(LAYOUT.scratch);
  }

  /** Instantiates the module synchronously over a fresh shared memory (512..4096 pages). */
  static load(path: string = findCryptoWasm()): WasmCrypto {
    const memory = new WebAssembly.Memory({ initial: 512, maximum: 4096, shared: true });
    const mod = new WebAssembly.Module(readFileSync(path));
    const inst = new WebAssembly.Instance(mod, {
      env: {
        memory,
        abort: (_m: number, _f: number, line: number, col: number) => {
          throw new Error(`wasm abort at ${line}:${col}`);
        },
      },
    });
    return new WasmCrypto(memory, inst);
  }

  get u8(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }
  put(at: number, data: Uint8Array): void {
    this.u8.set(data, at);
  }
  get(at: number, len: number): Uint8Array {
    return this.u8.slice(at, at + len);
  }
  private putBuf(data: Uint8Array): void {
    if (data.length > LAYOUT.bufMax) throw new RangeError('buffer too large');
    this.put(LAYOUT.buf, data);
  }
  private putAad(aad: Uint8Array): void {
    if (aad.length > 4096) throw new RangeError('aad too large');
    this.put(LAYOUT.aad, aad);
  }

  // ---- ChaCha20-Poly1305 (RFC 8439 / RFC 7634) ----
  /** Returns ciphertext || 16-byte tag. simd selects the 4-block v128 path. */
  sealChaCha(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array, simd = true): Uint8Array {
    const L = LAYOUT;
    this.put(L.key, key); this.put(L.nonce, nonce); this.putAad(aad); this.putBuf(pt);
    this.x.chachaPolyInit(L.ctx, L.key);
    this.x.chachaPolySeal(L.ctx, L.nonce, L.aad, aad.length, L.buf, pt.length, L.tag, simd ? 1 : 0);
    const out = new Uint8Array(pt.length + 16);
    out.set(this.get(L.buf, pt.length)); out.set(this.get(L.tag, 16), pt.length);
    return out;
  }
  /** Input ciphertext || tag; returns plaintext or null when authentication fails. */
  openChaCha(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ctTag: Uint8Array, simd = true): Uint8Array | null {
    const L = LAYOUT;
    if (ctTag.length < 16) return null;
    const n = ctTag.length - 16;
    this.put(L.key, key); this.put(L.nonce, nonce); this.putAad(aad);
    this.putBuf(ctTag.subarray(0, n)); this.put(L.tag, ctTag.subarray(n));
    this.x.chachaPolyInit(L.ctx, L.key);
    const ok = this.x.chachaPolyOpen(L.ctx, L.nonce, L.aad, aad.length, L.buf, n, L.tag, simd ? 1 : 0);
    return ok === 1 ? this.get(L.buf, n) : null;
  }
  chacha20(key: Uint8Array, nonce: Uint8Array, counter: number, data: Uint8Array, simd = true): Uint8Array {
    const L = LAYOUT;
    this.put(L.key, key); this.put(L.nonce, nonce); this.putBuf(data);
    this.x[simd ? 'chacha20XorSimd' : 'chacha20XorScalar'](L.key, L.nonce, counter >>> 0, L.buf, L.buf, data.length);
    return this.get(L.buf, data.length);
  }
  chacha20Block(key: Uint8Array, nonce: Uint8Array, counter: number): Uint8Array {
    const L = LAYOUT;
    this.put(L.key, key); this.put(L.nonce, nonce);
    this.x.chacha20Block(L.key, L.nonce, counter >>> 0, L.aux);
    return this.get(L.aux, 64);
  }
  poly1305(key: Uint8Array, msg: Uint8Array): Uint8Array {
    const L = LAYOUT;
    this.put(L.key, key); this.putBuf(msg);
    this.x.poly1305(L.ctx, L.key, L.buf, msg.length, L.tag);
    return this.get(L.tag, 16);
  }

  // ---- AES-GCM (RFC 4106) ----
  /** Returns ciphertext || tag (tagLen 8, 12 or 16). */
  sealGcm(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array, tagLen = 16): Uint8Array {
    const L = LAYOUT;
    this.put(L.key, key); this.put(L.nonce, nonce); this.putAad(aad); this.putBuf(pt);
    if (!this.x.gcmInit(L.ctx, L.key, key.length)) throw new RangeError('bad AES key length');
    if (!this.x.gcmSeal(L.ctx, L.nonce, L.aad, aad.length, L.buf, pt.length, L.tag, tagLen)) throw new RangeError("tag length must be 8, 12 or 16");
    const out = new Uint8Array(pt.length + tagLen);
    out.set(this.get(L.buf, pt.length)); out.set(this.get(L.tag, tagLen), pt.length);
    return out;
  }
  openGcm(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ctTag: Uint8Array, tagLen = 16): Uint8Array | null {
    const L = LAYOUT;
    if (ctTag.length < tagLen) return null;
    const n = ctTag.length - tagLen;
    this.put(L.key, key); this.put(L.nonce, nonce); this.putAad(aad);
    this.putBuf(ctTag.subarray(0, n)); this.put(L.tag, ctTag.subarray(n));
    if (!this.x.gcmInit(L.ctx, L.key, key.length)) throw new RangeError('bad AES key length');
    const ok = this.x.gcmOpen(L.ctx, L.nonce, L.aad, aad.length, L.buf, n, L.tag, tagLen);
    return ok === 1 ? this.get(L.buf, n) : null;
  }

  // ---- AES block / CBC ----
  aesEncryptBlocks(key: Uint8Array, data: Uint8Array): Uint8Array {
    return this.aesBlocks(key, data, 'aesEncrypt8');
  }
  aesDecryptBlocks(key: Uint8Array, data: Uint8Array): Uint8Array {
    return this.aesBlocks(key, data, 'aesDecrypt8');
  }
  private aesBlocks(key: Uint8Array, data: Uint8Array, fn: string): Uint8Array {
    const L = LAYOUT;
    if (data.length % 16) throw new RangeError('not a multiple of 16');
    this.put(L.key, key);
    if (!this.x.aesInit(L.ctx, L.key, key.length)) throw new RangeError('bad AES key length');
    const padded = new Uint8Array(Math.ceil(data.length / 128) * 128);
    padded.set(data); this.putBuf(padded);
    for (let o = 0; o < padded.length; o += 128) this.x[fn](L.ctx, L.buf + o, L.buf + o);
    return this.get(L.buf, data.length);
  }
  sbox(bytes: Uint8Array, inverse = false): Uint8Array {
    this.put(LAYOUT.aux, bytes);
    this.x[inverse ? 'aesInvSubBytes16' : 'aesSubBytes16'](LAYOUT.aux);
    return this.get(LAYOUT.aux, 16);
  }
  cbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array { return this.cbc('aesCbcEncrypt', key, iv, data); }
  cbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array { return this.cbc('aesCbcDecrypt', key, iv, data); }
  private cbc(fn: 'aesCbcEncrypt' | 'aesCbcDecrypt', key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
    const L = LAYOUT;
    this.put(L.key, key); this.put(L.nonce, iv); this.putBuf(data);
    if (!this.x.aesInit(L.ctx, L.key, key.length)) throw new RangeError('bad AES key length');
    if (!this.x[fn](L.ctx, L.nonce, L.buf, data.length)) throw new RangeError('not a multiple of 16');
    return this.get(L.buf, data.length);
  }

  // ---- hashes / HMAC ----
  sha1(msg: Uint8Array): Uint8Array {
    this.putBuf(msg); this.x.sha1(LAYOUT.buf, msg.length, LAYOUT.aux);
    return this.get(LAYOUT.aux, 20);
  }
  sha256(msg: Uint8Array): Uint8Array {
    this.putBuf(msg); this.x.sha256(LAYOUT.buf, msg.length, LAYOUT.aux);
    return this.get(LAYOUT.aux, 32);
  }
  hmacSha1(key: Uint8Array, msg: Uint8Array): Uint8Array {
    return this.hmac(key, msg, 'hmacSha1', 20);
  }
  hmacSha256(key: Uint8Array, msg: Uint8Array): Uint8Array {
    return this.hmac(key, msg, 'hmacSha256', 32);
  }
  private hmac(key: Uint8Array, msg: Uint8Array, fn: string, n: number): Uint8Array {
    const L = LAYOUT;
    this.putAad(key); this.putBuf(msg);
    this.x[fn + 'Init'](L.ctx, L.aad, key.length);
    this.x[fn](L.ctx, L.buf, msg.length, L.aux);
    return this.get(L.aux, n);
  }
  /** Constant-time verification of a (possibly truncated) HMAC tag. */
  hmacVerify(alg: 'sha1' | 'sha256', key: Uint8Array, msg: Uint8Array, tag: Uint8Array): boolean {
    const L = LAYOUT;
    const fn = alg === 'sha1' ? 'hmacSha1' : 'hmacSha256';
    this.putAad(key); this.putBuf(msg); this.put(L.tag, tag);
    this.x[fn + 'Init'](L.ctx, L.aad, key.length);
    return this.x[fn + 'Verify'](L.ctx, L.buf, msg.length, L.tag, tag.length) === 1;
  }
  ctEqual(a: Uint8Array, b: Uint8Array): boolean {
    if (a.length !== b.length) return false;
    this.put(LAYOUT.aux, a); this.put(LAYOUT.tag, b);
    return this.x.ctEqual(LAYOUT.aux, LAYOUT.tag, a.length) === 1;
  }
}
