// A PKCS#10 certificate request (RFC 2986) for `crypto pki enroll` with terminal enrollment: subject
// from the trustpoint's `subject-name` (CN=..,O=..), the `ip-address` as a subjectAltName iPAddress in
// an extensionRequest attribute (RFC 2985 5.4.2), the key store's public key, signed with its private
// key (ECDSA P-256/SHA-256, RSA PKCS#1 v1.5/SHA-256, Ed25519 per RFC 8410). DER written by hand: node
// has no CSR builder, and the structure is small.
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import { signatureScheme } from '../tasks/v2/cert-auth.js';
import { pemBlock } from './trustpoint.js';

const tlv = (tag: number, body: Buffer): Buffer => {
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
};
const seq = (...xs: Buffer[]) => tlv(0x30, Buffer.concat(xs));
const set = (...xs: Buffer[]) => tlv(0x31, Buffer.concat(xs));

function oid(dotted: string): Buffer {
  const p = dotted.split('.').map(Number);
  const out = [40 * p[0] + p[1]];
  for (const v of p.slice(2)) {
    const b = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) b.unshift((x & 0x7f) | 0x80);
    out.push(...b);
  }
  return tlv(0x06, Buffer.from(out));
}

const ATTR: Record<string, string> = { cn: '2.5.4.3', o: '2.5.4.10', ou: '2.5.4.11', c: '2.5.4.6', l: '2.5.4.7', st: '2.5.4.8', serialnumber: '2.5.4.5' };

/** `CN=spoke1,O=lab` as a DER Name; a reason for an attribute it does not know. */
export function derName(dn: string): Buffer | string {
  const rdns: Buffer[] = [];
  for (const part of dn.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]+)\s*=\s*(.+)$/.exec(part);
    const type = m && ATTR[m[1].toLowerCase()];
    if (!m || !type) return `subject-name: "${part}" is not one of ${Object.keys(ATTR).map((k) => k.toUpperCase()).join(', ')}=value`;
    const printable = type === '2.5.4.6' || type === '2.5.4.5';
    rdns.push(set(seq(oid(type), tlv(printable ? 0x13 : 0x0c, Buffer.from(m[2], 'utf8')))));
  }
  return seq(...rdns);
}

/** The request in PEM, or why it cannot be made. */
export function certificateRequest(key: KeyObject, subject: string, ipAddress?: string): string {
  const name = derName(subject);
  if (typeof name === 'string') throw new Error(name);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const attrs: Buffer[] = [];
  if (ipAddress) {
    const san = seq(tlv(0x87, Buffer.from(ipAddress.split('.').map(Number))));
    attrs.push(seq(oid('1.2.840.113549.1.9.14'), set(seq(seq(oid('2.5.29.17'), tlv(0x04, san))))));
  }
  const info = seq(Buffer.from([0x02, 0x01, 0x00]), name, spki, tlv(0xa0, Buffer.concat(attrs)));
  const { alg, hash } = signatureScheme(key);
  const sig = sign(hash, info, key);
  const der = seq(info, alg, tlv(0x03, Buffer.concat([Buffer.from([0]), sig])));
  return pemBlock('CERTIFICATE REQUEST', der);
}
