// IKEv1 message encryption with its IV chain (RFC 2409 appendix B): phase 1 starts from
// hash(g^xi | g^xr), each later message continues from the last cipher block of the one before; every
// phase 2 / informational exchange (one message ID) starts from hash(last phase-1 block | M-ID) and
// chains on within that exchange. A decrypted message's IV advance is only committed once the caller
// has verified it, so a forged or corrupt message cannot desynchronise the chain.
import { cbcDecrypt, cbcEncrypt, type CbcCipher } from '../crypto/cipher.js';
import type { HashName } from '../crypto/prf.js';
import { phase2Iv } from '../keymat/ikev1.js';

export interface Decrypted { plain: Uint8Array; commit(): void }

export class CrypterV1 {
  private phase1: Uint8Array; // the IV for the next phase-1 message
  private phase1Done = false;
  private readonly exchanges = new Map<number, Uint8Array>();
  private static readonly MAX_EXCHANGES = 32;

  constructor(private readonly cipher: CbcCipher, private readonly key: Uint8Array, private readonly hash: HashName, iv: Uint8Array) {
    this.phase1 = iv;
  }

  /** Phase 1 is over (main mode message 6 sent or accepted): phase 2 IVs derive from its last block. */
  finishPhase1(): void { this.phase1Done = true; }

  private ivFor(mid: number): Uint8Array {
    if (mid === 0) return this.phase1;
    let iv = this.exchanges.get(mid);
    if (!iv) iv = phase2Iv(this.hash, this.phase1, mid, this.cipher.blockLen);
    return iv;
  }

  private setIv(mid: number, iv: Uint8Array): void {
    if (mid === 0) { if (!this.phase1Done) this.phase1 = iv; return; }
    if (!this.exchanges.has(mid) && this.exchanges.size >= CrypterV1.MAX_EXCHANGES) {
      this.exchanges.delete(this.exchanges.keys().next().value as number); // oldest exchange first
    }
    this.exchanges.set(mid, iv);
  }

  /** Pads with zeros to the block size (RFC 2408 3.1: padding is not covered by any length). */
  encrypt(mid: number, plain: Uint8Array): Uint8Array {
    const bs = this.cipher.blockLen;
    const padded = new Uint8Array(Math.ceil(plain.length / bs) * bs || bs);
    padded.set(plain);
    const out = cbcEncrypt(this.cipher, this.key, this.ivFor(mid), padded);
    this.setIv(mid, out.slice(out.length - bs));
    return out;
  }

  /** null when the body is not a whole number of blocks (a malformed message, not an exception). */
  decrypt(mid: number, body: Uint8Array): Decrypted | null {
    const bs = this.cipher.blockLen;
    if (body.length === 0 || body.length % bs) return null;
    const plain = cbcDecrypt(this.cipher, this.key, this.ivFor(mid), body);
    const next = body.slice(body.length - bs);
    return { plain, commit: () => this.setIv(mid, next) };
  }

  forget(mid: number): void { this.exchanges.delete(mid); }
}
