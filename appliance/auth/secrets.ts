// IOS password and secret formats, so configs pasted from real routers load and verify:
//   type 5: MD5-crypt ("$1$salt$hash", FreeBSD's algorithm; IOS uses a 4-character salt)
//   type 8: PBKDF2-HMAC-SHA-256, 20000 iterations, "$8$<14-char salt>$<43 chars>"
//   type 9: scrypt N=16384 r=1 p=1, 32-byte key, "$9$<14-char salt>$<43 chars>"
//   type 7: the reversible Vigenère-style obfuscation of `service password-encryption` (not a hash)
// For types 8 and 9 the salt is the 14 salt characters as ASCII (not decoded) and the key is plain
// big-endian base64 written with Cisco's alphabet "./0-9A-Za-z", without padding (hashcat's and John
// the Ripper's published analyses). New secrets typed on this appliance are type 9.
import { createHash, pbkdf2Sync, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

export type SecretType = 5 | 8 | 9;

const CISCO_B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const STD_B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const CRYPT_B64 = CISCO_B64; // MD5-crypt uses the same characters, but little-endian groups (below)
const PBKDF2_ITERATIONS = 20_000;
const SCRYPT = { N: 16384, r: 1, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LEN = 32;
const MAX_SECRET = 256; // longer input is refused before any hashing (cost bound for hostile input)

/** Cisco's base64 for types 8/9: standard base64 with the alphabet translated, no padding. */
export function ciscoBase64(b: Uint8Array): string {
  let out = '';
  for (const c of Buffer.from(b).toString('base64')) if (c !== '=') out += CISCO_B64[STD_B64.indexOf(c)];
  return out;
}

function newSalt(): string { return ciscoBase64(randomBytes(10)); } // 80 bits -> 14 characters

/** A type 9 secret for a password typed here. */
export function hashSecret(password: string, salt = newSalt()): string {
  return `$9$${salt}$${ciscoBase64(scryptSync(Buffer.from(password, 'utf8'), Buffer.from(salt, 'latin1'), KEY_LEN, SCRYPT))}`;
}

export function type8(password: string, salt: string): string {
  return `$8$${salt}$${ciscoBase64(pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(salt, 'latin1'), PBKDF2_ITERATIONS, KEY_LEN, 'sha256'))}`;
}

/** FreeBSD MD5-crypt ("$1$"), the algorithm of IOS type 5 secrets. */
export function md5Crypt(password: string, salt: string): string {
  const pw = Buffer.from(password, 'utf8');
  const s = Buffer.from(salt.slice(0, 8), 'latin1');
  const magic = Buffer.from('$1$');
  const md5 = (...parts: Uint8Array[]) => { const h = createHash('md5'); for (const p of parts) h.update(p); return h.digest(); };
  const alt = md5(pw, s, pw);
  const ctx = createHash('md5').update(pw).update(magic).update(s);
  for (let n = pw.length; n > 0; n -= 16) ctx.update(alt.subarray(0, Math.min(16, n)));
  // the odd step of the original: per bit of the length, a zero byte or the password's first byte
  for (let n = pw.length; n > 0; n >>= 1) ctx.update(n & 1 ? Buffer.of(0) : pw.subarray(0, 1));
  let fin = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const parts: Uint8Array[] = [];
    parts.push(i & 1 ? pw : fin);
    if (i % 3) parts.push(s);
    if (i % 7) parts.push(pw);
    parts.push(i & 1 ? fin : pw);
    fin = md5(...parts);
  }
  const groups = [[0, 6, 12], [1, 7, 13], [2, 8, 14], [3, 9, 15], [4, 10, 5]];
  let out = '';
  const put = (v: number, n: number) => { for (; n > 0; n--, v >>= 6) out += CRYPT_B64[v & 0x3f]; };
  for (const [a, b, c] of groups) put((fin[a] << 16) | (fin[b] << 8) | fin[c], 4);
  put(fin[11], 2);
  return `$1$${salt.slice(0, 8)}$${out}`;
}

/** The IOS type of a stored secret, or a reason it is not one this appliance can verify. */
export function secretType(stored: string): SecretType | string {
  const m = /^\$([189])\$([^$]+)\$([./0-9A-Za-z]+)$/.exec(stored);
  if (!m) return 'not a type 5, 8 or 9 secret ($1$, $8$ or $9$ followed by salt and hash)';
  const [, t, salt, hash] = m;
  if (t === '1') return salt.length <= 8 && hash.length === 22 ? 5 : 'malformed type 5 secret';
  if (!/^[./0-9A-Za-z]{14}$/.test(salt) || hash.length !== 43) return `malformed type ${t} secret`;
  return t === '8' ? 8 : 9;
}

/** Does `password` match the stored type 5/8/9 secret? Constant-time compare of the encodings. */
export function verifySecret(password: string, stored: string): boolean {
  const t = secretType(stored);
  if (typeof t === 'string' || password.length > MAX_SECRET) return false;
  const salt = stored.split('$')[2];
  const computed = t === 5 ? md5Crypt(password, salt) : t === 8 ? type8(password, salt) : hashSecret(password, salt);
  const a = Buffer.from(computed), b = Buffer.from(stored);
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---- type 7 --------------------------------------------------------------------------------

const XLAT = 'dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87';

/** Type 7 encoding (IOS picks the starting offset 0-15; two decimal digits lead the string). */
export function encodeType7(plain: string, seed = Math.floor(Math.random() * 16)): string {
  let out = String(seed).padStart(2, '0');
  for (let i = 0; i < plain.length; i++) {
    out += ((plain.charCodeAt(i) & 0xff) ^ XLAT.charCodeAt((seed + i) % XLAT.length)).toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** Decode a type 7 string; undefined when it is not one. */
export function decodeType7(enc: string): string | undefined {
  const m = /^([0-9]{2})((?:[0-9A-Fa-f]{2})*)$/.exec(enc);
  if (!m) return undefined;
  const seed = Number(m[1]);
  if (seed >= XLAT.length) return undefined;
  let out = '';
  for (let i = 0; i < m[2].length / 2; i++) {
    out += String.fromCharCode(parseInt(m[2].slice(2 * i, 2 * i + 2), 16) ^ XLAT.charCodeAt((seed + i) % XLAT.length));
  }
  return out;
}

/** Constant-time comparison of a typed password with a stored plain one. */
export function samePassword(typed: string, plain: string): boolean {
  const a = createHash('sha256').update(typed).digest(), b = createHash('sha256').update(plain).digest();
  return timingSafeEqual(a, b);
}
