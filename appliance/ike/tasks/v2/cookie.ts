// Stateless cookies (RFC 7296 2.6): above the half-open threshold a responder answers IKE_SA_INIT with
// N(COOKIE) and keeps nothing; only a request that repeats the cookie gets state. The cookie is
// <version byte> | SHA-256(Ni | IPi | SPIi | secret), the secret replaced periodically; the previous
// one is still accepted so a cookie issued just before the change works.
import { createHash, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../../crypto/compare.js';

export class CookieJar {
  private version = 0;
  private secret = new Uint8Array(randomBytes(32));
  private previous?: Uint8Array;

  /** Called on a timer by the manager (e.g. every 60 s). */
  rotate(): void {
    this.previous = this.secret;
    this.secret = new Uint8Array(randomBytes(32));
    this.version = (this.version + 1) & 0xff;
  }

  private make(version: number, secret: Uint8Array, ni: Uint8Array, ip: string, spii: Uint8Array): Uint8Array {
    const h = createHash('sha256').update(ni).update(ip).update(spii).update(secret).digest();
    return new Uint8Array([version, ...h]);
  }

  issue(ni: Uint8Array, ip: string, spii: Uint8Array): Uint8Array { return this.make(this.version, this.secret, ni, ip, spii); }

  valid(cookie: Uint8Array, ni: Uint8Array, ip: string, spii: Uint8Array): boolean {
    if (cookie.length !== 33) return false;
    if (cookie[0] === this.version) return constantTimeEqual(cookie, this.issue(ni, ip, spii));
    if (this.previous && cookie[0] === ((this.version + 255) & 0xff)) return constantTimeEqual(cookie, this.make(cookie[0], this.previous, ni, ip, spii));
    return false;
  }
}
