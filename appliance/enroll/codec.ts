// The enrollment exchange on the TLS stream: one request, one answer, each a 4-byte big-endian length
// then that many bytes of UTF-8 JSON. The length is checked before a byte of the body is kept (a
// hostile client cannot make the hub buffer more than MAX_REQUEST), and every field is checked for
// type, size and form before anything looks at it.
import type { RefusalReason } from './decide.js';
import { TOKEN_NAME } from '../config/model-enroll.js';

export const PROTOCOL_VERSION = 1;
/** a request is a token, a secret and a CSR of about 300-1500 bytes */
export const MAX_REQUEST = 8192;
/** an answer carries a config and two certificates */
export const MAX_ANSWER = 256 * 1024;

export interface EnrollRequest { v: number; token: string; secret: string; csr: string }
/** A renewal: no token and no CSR; the device proves its key and its enrollment with the TLS client
 *  certificate it holds (renew-check.ts), and gets a new certificate for the same names: for the same
 *  key, or with `newKey` (`auto-enroll regenerate`) for that key, its possession proven by `proof`, a
 *  signature over this TLS session's exported value (key-proof.ts). On the wire both are base64. */
export interface RenewRequest { v: number; renew: true; newKey?: { spki: Buffer; proof: Buffer } }
/** The hub's current CRL (crl.ts): anyone may ask, it is signed and public. */
export interface CrlRequest { v: number; crl: true }

/** bounds of a new key in a renewal, in base64 characters: an RSA-4096 SPKI is 550 bytes, its signature 512 */
const MAX_SPKI_B64 = 1024;
const MAX_PROOF_B64 = 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const b64 = (v: unknown, max: number): Buffer | undefined =>
  typeof v === 'string' && v.length <= max && v.length % 4 === 0 && BASE64.test(v) ? Buffer.from(v, 'base64') : undefined;
export type EnrollAnswer =
  // time: the hub's clock (ms since 1970) when it answered; the spoke sets its clock from it (hub-clock.ts)
  | { v: number; status: 'admitted'; address: string; hostname: string; config: string; certificate: string; ca: string; time?: number }
  | { v: number; status: 'pending'; message: string }
  | { v: number; status: 'renewed'; certificate: string; ca: string; time?: number }
  | { v: number; status: 'crl'; crl: string }
  | { v: number; status: 'refused'; reason: RefusalReason | 'bad-request'; message: string };

export function frame(msg: object): Buffer {
  const body = Buffer.from(JSON.stringify(msg), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** Collects one frame from stream chunks: the body once whole, an error once the length is too big. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private have = 0;
  constructor(private readonly max: number) {}
  push(b: Buffer): { body?: Buffer; error?: string } {
    this.chunks.push(b);
    this.have += b.length;
    if (this.have < 4) return {};
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    const len = all.readUInt32BE(0);
    if (len > this.max) return { error: `message of ${len} bytes (at most ${this.max})` };
    if (all.length - 4 > len) return { error: 'bytes after the message' };
    return all.length - 4 === len ? { body: all.subarray(4) } : {};
  }
}

/** A request body, or why it is refused (the reason never quotes the secret). */
export function decodeRequest(body: Buffer): EnrollRequest | RenewRequest | CrlRequest | string {
  let j: Partial<EnrollRequest> & { renew?: unknown };
  try { j = JSON.parse(body.toString('utf8')); } catch { return 'not JSON'; }
  if (typeof j !== 'object' || j === null) return 'not an object';
  if (j.v !== PROTOCOL_VERSION) return `protocol version ${typeof j.v === 'number' ? j.v : 'missing or not a number'} (expected ${PROTOCOL_VERSION})`; // no sender text in the log
  if ((j as { crl?: unknown }).crl !== undefined) {
    return (j as { crl?: unknown }).crl === true && Object.keys(j).length === 2 ? { v: j.v, crl: true } : 'a CRL request carries v and crl: true only';
  }
  if (j.renew !== undefined) {
    const r = j as { renew: unknown; spki?: unknown; proof?: unknown };
    const n = Object.keys(j).length;
    if (r.renew !== true || !(n === 2 || (n === 4 && r.spki !== undefined && r.proof !== undefined))) return 'a renewal carries v and renew: true, and a new key\'s spki and proof together or not at all';
    if (n === 2) return { v: j.v, renew: true };
    const spki = b64(r.spki, MAX_SPKI_B64), proof = b64(r.proof, MAX_PROOF_B64);
    if (!spki || !proof) return `a renewal's new key: spki and proof in base64 (at most ${MAX_SPKI_B64} and ${MAX_PROOF_B64} characters)`;
    return { v: j.v, renew: true, newKey: { spki, proof } };
  }
  if (typeof j.token !== 'string' || !TOKEN_NAME.test(j.token)) return 'token name missing or malformed';
  if (typeof j.secret !== 'string' || j.secret.length === 0 || j.secret.length > 256) return 'secret missing or malformed';
  if (typeof j.csr !== 'string' || !/^-----BEGIN CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE REQUEST-----\n?$/.test(j.csr)) return 'csr missing or not a PEM certificate request';
  return { v: j.v, token: j.token, secret: j.secret, csr: j.csr };
}

/** Longest hub text (a pending or refused answer's message) the spoke keeps for its log. */
const MAX_HUB_TEXT = 300;

/**
 * Hub text as the spoke logs it: one line of printable characters, at most MAX_HUB_TEXT. The hub is
 * pinned, so this is defence in depth: a hub (or its operator's template) cannot put a line break,
 * an escape sequence or a screenful into the spoke's log and console.
 */
export function hubText(s: string): string {
  const one = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return one.length > MAX_HUB_TEXT ? `${one.slice(0, MAX_HUB_TEXT)}...` : one;
}

/** An answer body as the spoke reads it, or why it cannot be used. Its texts come back as hubText. */
export function decodeAnswer(body: Buffer): EnrollAnswer | string {
  let j: Record<string, unknown>;
  try { j = JSON.parse(body.toString('utf8')); } catch { return 'not JSON'; }
  if (typeof j !== 'object' || j === null || j.v !== PROTOCOL_VERSION) return 'not a version 1 answer';
  const str = (k: string) => typeof j[k] === 'string';
  if (j.time !== undefined && !Number.isSafeInteger(j.time)) return 'time is not a whole number of milliseconds';
  if (j.status === 'admitted' && ['address', 'hostname', 'config', 'certificate', 'ca'].every(str)) return j as EnrollAnswer;
  if (j.status === 'renewed' && ['certificate', 'ca'].every(str)) return j as EnrollAnswer;
  if (j.status === 'crl' && str('crl')) return j as EnrollAnswer;
  if (j.status === 'pending' && str('message')) return { ...j, message: hubText(j.message as string) } as EnrollAnswer;
  if (j.status === 'refused' && str('reason') && str('message')) {
    return { ...j, reason: hubText(j.reason as string), message: hubText(j.message as string) } as EnrollAnswer;
  }
  return 'unknown status or fields missing';
}
