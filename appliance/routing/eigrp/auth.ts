// EIGRP packet authentication: classic MD5 (key chain, `ip authentication mode eigrp N md5`) and
// HMAC-SHA-256 (named mode). The digest covers the whole packet with the checksum and the digest
// field zeroed; the checksum is computed afterwards over the signed bytes.
//   MD5, as FRR's eigrpd computes it (checked against its hellos): MD5 over the packet up to the digest
//   (header and authentication TLV head, checksum zeroed), then the key zero-padded to 16 bytes, then —
//   except in hellos — the rest of the packet after the digest.
//   HMAC-SHA-256: keyed with the password followed by the sender's IPv4 address (Wireshark's description
//   of the named-mode scheme); not yet checked against an IOS peer.
// Keys never reach a log line; digests are compared in constant time.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ipv4ToBytes } from '../../net/ipv4.js';
import { encodeEigrp, setChecksum } from './codec.js';
import { AuthType, EIGRP_HEADER_LEN, Opcode, Tlv } from './types.js';
import type { EigrpPacket } from './types.js';

export interface EigrpAuthKey { mode: 'md5' | 'sha256'; keyId: number; secret: string }

const digestLen = (mode: EigrpAuthKey['mode']): number => (mode === 'md5' ? 16 : 32);
/** Offset of the digest inside an authentication TLV (type, len, auth type, auth len, key id, key seq, pad). */
const DIGEST_OFF = 4 + 2 + 2 + 4 + 4 + 8;

/** `zeroed`: the packet with checksum and digest zeroed; `at`: where the digest starts. */
function digestOf(key: EigrpAuthKey, zeroed: Uint8Array, at: number, source: string): Uint8Array {
  const secret = Buffer.from(key.secret, 'utf8');
  if (key.mode === 'md5') {
    const pad = Buffer.alloc(16);
    secret.copy(pad, 0, 0, 16);
    const h = createHash('md5').update(zeroed.subarray(0, at)).update(pad);
    if (zeroed[1] !== Opcode.Hello) h.update(zeroed.subarray(at + 16));
    return h.digest();
  }
  return createHmac('sha256', Buffer.concat([secret, ipv4ToBytes(source)])).update(zeroed).digest();
}

/** Encode `p` with an authentication TLV first and its digest filled in. */
export function encodeSigned(p: EigrpPacket, key: EigrpAuthKey, source: string): Uint8Array {
  const auth = { type: 'auth' as const, authType: key.mode === 'md5' ? AuthType.Md5 : AuthType.Sha256, keyId: key.keyId, keySeq: 0, digest: new Uint8Array(digestLen(key.mode)) };
  const b = encodeEigrp({ header: p.header, tlvs: [auth, ...p.tlvs.filter((t) => t.type !== 'auth')] });
  b[2] = 0; b[3] = 0;
  b.set(digestOf(key, b, EIGRP_HEADER_LEN + DIGEST_OFF, source), EIGRP_HEADER_LEN + DIGEST_OFF);
  setChecksum(b);
  return b;
}

export type AuthCheck = 'ok' | 'missing' | 'failed';

/** Check the authentication TLV of raw packet `b` (already decoded without error) against `keys`
 *  (a key chain: the TLV's key id picks the key). */
export function verifySigned(b: Uint8Array, keys: readonly EigrpAuthKey[], source: string): AuthCheck {
  let off = EIGRP_HEADER_LEN;
  while (off + 4 <= b.length) {
    const type = (b[off] << 8) | b[off + 1], len = (b[off + 2] << 8) | b[off + 3];
    if (len < 4) return 'failed';
    if (type === Tlv.Auth) {
      if (len < DIGEST_OFF) return 'failed';
      const dlen = (b[off + 6] << 8) | b[off + 7];
      const keyId = ((b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11]) >>> 0;
      const key = keys.find((k) => k.keyId === keyId && digestLen(k.mode) === dlen);
      if (!key || off + DIGEST_OFF + dlen > off + len) return 'failed';
      // copies, not views (a Buffer's slice() is a view; the caller's bytes must stay untouched)
      const got = Uint8Array.from(b.subarray(off + DIGEST_OFF, off + DIGEST_OFF + dlen));
      const zeroed = Uint8Array.from(b);
      zeroed[2] = 0; zeroed[3] = 0;
      zeroed.fill(0, off + DIGEST_OFF, off + DIGEST_OFF + dlen);
      return timingSafeEqual(got, digestOf(key, zeroed, off + DIGEST_OFF, source)) ? 'ok' : 'failed';
    }
    off += len;
  }
  return 'missing';
}
