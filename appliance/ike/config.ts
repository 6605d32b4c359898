// IKE policy from the IOS crypto config, with IOS's defaults for what the config leaves out:
// `crypto isakmp policy N` alone is DES / SHA-1 / pre-share / group 1 / 86400 s; a transform set
// `esp-aes` is AES-CBC-128, `esp-sha-hmac` HMAC-SHA1-96; tunnel mode unless `mode transport`; IPsec SA
// lifetime 3600 s. Weak choices (DES, MD5, MODP 768/1024/1536) are warned about, never refused: the
// seeds use them and IOS accepts them.
import type { CryptoConfig, IsakmpPolicy, TransformSet } from '../config/model.js';
import { cbcCipher, type CbcCipher } from './crypto/cipher.js';
import type { HashName } from './crypto/prf.js';
import { supportedGroups } from './crypto/dh.js';
import { EncapsulationMode, EspTransform, Phase1Encr, Phase1Hash, Phase2Auth } from './encoding/constants.js';
import { ipv4Bytes, parseIpv4 } from '../net/ipv4.js';

export interface Phase1Policy {
  priority: number;
  cipher: CbcCipher;
  encrId: number; // RFC 2409 encryption algorithm attribute
  keyBits?: number; // key length attribute, sent for AES only
  hash: HashName;
  hashId: number;
  group: number;
  lifetime: number; // seconds
}

/** An ESP cipher: CBC with a separate HMAC, or an AEAD (RFC 4106 AES-GCM-16, RFC 7634 ChaCha20-Poly1305)
 * whose KEYMAT is the key followed by a 4-byte salt (RFC 4106 8.1, RFC 7634 2) and that has no HMAC. */
export interface EspCipher {
  name: 'des' | '3des' | 'aes-cbc' | 'aes-gcm-16' | 'chacha20-poly1305';
  keyLen: number; // bytes of key, salt excluded
  saltLen: 0 | 4;
}
export const isAeadCipher = (c: EspCipher) => c.saltLen > 0;
/** Bytes of KEYMAT one direction's encryption takes: the key, then the salt of an AEAD. */
export const encKeymatLen = (c: EspCipher) => c.keyLen + c.saltLen;

export interface Phase2Proposal {
  name: string; // transform set name
  /** IKEv1 ESP transform ID (RFC 2407 4.4.4, RFC 4106 8.4); undefined when IKEv1 has none (ChaCha20-Poly1305). */
  espId?: number;
  cipher: EspCipher;
  keyBits?: number;
  /** the HMAC; undefined for an AEAD cipher */
  auth?: { id: number; hash: HashName; keyLen: number; icvLen: number };
  mode: 'tunnel' | 'transport';
  lifetime: number;
  /** `set security-association lifetime kilobytes`: offered in quick mode beside the seconds (IKEv1) */
  lifetimeKilobytes?: number;
  pfsGroup?: number;
}

export const IOS_ISAKMP_LIFETIME = 86400;
export const IOS_IPSEC_LIFETIME = 3600;

export type Parsed<T> = { ok: true; value: T; warnings: string[] } | { ok: false; reason: string };

const HASHES: Record<string, { hash: HashName; id: number }> = {
  sha: { hash: 'sha1', id: Phase1Hash.SHA1 },
  md5: { hash: 'md5', id: Phase1Hash.MD5 },
  sha256: { hash: 'sha256', id: Phase1Hash.SHA256 },
  sha384: { hash: 'sha384', id: Phase1Hash.SHA384 },
  sha512: { hash: 'sha512', id: Phase1Hash.SHA512 },
};

export function phase1Policy(p: IsakmpPolicy): Parsed<Phase1Policy> {
  const warnings: string[] = [];
  const enc = (p.encryption ?? 'des').trim().split(/\s+/);
  let cipher: CbcCipher, encrId: number, keyBits: number | undefined;
  if (enc[0] === 'des') { cipher = cbcCipher('des'); encrId = Phase1Encr.DES; warnings.push(`isakmp policy ${p.priority}: encryption DES is weak${p.encryption ? '' : ' (the IOS default)'}`); }
  else if (enc[0] === '3des') { cipher = cbcCipher('3des'); encrId = Phase1Encr.TripleDES; }
  else if (enc[0] === 'aes') {
    keyBits = enc[1] ? Number(enc[1]) : 128;
    if (![128, 192, 256].includes(keyBits)) return { ok: false, reason: `isakmp policy ${p.priority}: aes ${enc[1]}` };
    cipher = cbcCipher('aes-cbc', keyBits); encrId = Phase1Encr.AES;
  } else return { ok: false, reason: `isakmp policy ${p.priority}: encryption ${p.encryption} unsupported` };

  const h = HASHES[p.hash ?? 'sha'];
  if (!h) return { ok: false, reason: `isakmp policy ${p.priority}: hash ${p.hash} unsupported` };
  if (h.hash === 'md5') warnings.push(`isakmp policy ${p.priority}: hash MD5 is weak`);
  if ((p.authentication ?? 'rsa-sig') !== 'pre-share') return { ok: false, reason: `isakmp policy ${p.priority}: only pre-share authentication is implemented with IKEv1 (certificates: IKEv2, an ikev2 profile with authentication local ecdsa-sig and pki trustpoint)` };
  const group = p.group ?? 1;
  if (!supportedGroups.includes(group)) return { ok: false, reason: `isakmp policy ${p.priority}: DH group ${group} unsupported` };
  if (group < 14) warnings.push(`isakmp policy ${p.priority}: DH group ${group} is weak${p.group ? '' : ' (the IOS default)'}`);
  return { ok: true, warnings, value: { priority: p.priority, cipher, encrId, keyBits, hash: h.hash, hashId: h.id, group, lifetime: p.lifetime ?? IOS_ISAKMP_LIFETIME } };
}

/** IOS: ISAKMP policies are offered and matched in priority order (lowest number first). */
export const sortedPolicies = (ps: readonly IsakmpPolicy[]) => [...ps].sort((a, b) => a.priority - b.priority);

/** `lifetime`: `set security-association lifetime seconds` of the profile (IOS default 3600 s);
 *  `kilobytes`: its `lifetime kilobytes`, if set. */
export function phase2Proposal(ts: TransformSet, pfs?: string, lifetime = IOS_IPSEC_LIFETIME, kilobytes?: number): Parsed<Phase2Proposal> {
  const warnings: string[] = [];
  let espId: number | undefined, cipher: EspCipher | undefined, keyBits: number | undefined;
  let auth: Phase2Proposal['auth'] | undefined;
  const cbc = (c: CbcCipher): EspCipher => ({ name: c.name, keyLen: c.keyLen, saltLen: 0 });
  for (const t of ts.transforms) {
    const [name, arg] = t.trim().split(/\s+/);
    if (name === 'esp-aes') { keyBits = arg ? Number(arg) : 128; if (![128, 192, 256].includes(keyBits)) return { ok: false, reason: `transform-set ${ts.name}: ${t}` }; espId = EspTransform.AES; cipher = cbc(cbcCipher('aes-cbc', keyBits)); }
    else if (name === 'esp-gcm') {
      // IOS: esp-gcm [128|256], 128 by default; AES-GCM with a 16-byte ICV (RFC 4106)
      keyBits = arg ? Number(arg) : 128;
      if (![128, 256].includes(keyBits)) return { ok: false, reason: `transform-set ${ts.name}: ${t}` };
      espId = EspTransform.AesGcm16; cipher = { name: 'aes-gcm-16', keyLen: keyBits / 8, saltLen: 4 };
    } else if (name === 'esp-chacha20-poly1305') { keyBits = 256; espId = undefined; cipher = { name: 'chacha20-poly1305', keyLen: 32, saltLen: 4 }; }
    else if (name === 'esp-3des') { espId = EspTransform.TripleDES; cipher = cbc(cbcCipher('3des')); }
    else if (name === 'esp-des') { espId = EspTransform.DES; cipher = cbc(cbcCipher('des')); warnings.push(`transform-set ${ts.name}: esp-des is weak`); }
    else if (name === 'esp-sha-hmac') auth = { id: Phase2Auth.HmacSha1, hash: 'sha1', keyLen: 20, icvLen: 12 };
    else if (name === 'esp-sha256-hmac') auth = { id: Phase2Auth.HmacSha256, hash: 'sha256', keyLen: 32, icvLen: 16 };
    else if (name === 'esp-md5-hmac') { auth = { id: Phase2Auth.HmacMd5, hash: 'md5', keyLen: 16, icvLen: 12 }; warnings.push(`transform-set ${ts.name}: esp-md5-hmac is weak`); }
    else return { ok: false, reason: `transform-set ${ts.name}: ${name} not supported with IKEv1 yet` };
  }
  if (!cipher) return { ok: false, reason: `transform-set ${ts.name}: needs an ESP cipher` };
  if (isAeadCipher(cipher) && auth) return { ok: false, reason: `transform-set ${ts.name}: ${cipher.name} authenticates by itself: no ESP HMAC with it` };
  if (!isAeadCipher(cipher) && !auth) return { ok: false, reason: `transform-set ${ts.name}: needs an ESP HMAC with ${cipher.name}` };
  let pfsGroup: number | undefined;
  if (pfs) {
    const m = /^group(\d+)$/.exec(pfs.trim());
    pfsGroup = m ? Number(m[1]) : NaN;
    if (!supportedGroups.includes(pfsGroup)) return { ok: false, reason: `set pfs ${pfs} unsupported` };
  }
  return { ok: true, warnings, value: { name: ts.name, espId, cipher, keyBits, auth, mode: ts.mode ?? 'tunnel', lifetime, pfsGroup,
    ...(kilobytes ? { lifetimeKilobytes: kilobytes } : {}) } };
}

/** The encapsulation attribute: with NAT between the peers (RFC 3947 5) the UDP-encapsulated variants. */
export const encapsulationMode = (m: Phase2Proposal['mode'], udp = false) => (m === 'transport'
  ? (udp ? EncapsulationMode.UdpTransport : EncapsulationMode.Transport)
  : (udp ? EncapsulationMode.UdpTunnel : EncapsulationMode.Tunnel));

/** The key for `peer` from `crypto isakmp key K address A [M]`: the most specific matching entry. */
export function pskFor(crypto: CryptoConfig, peer: string): string | undefined {
  const ip = v4(peer);
  if (ip === undefined) return undefined;
  let best: { key: string; len: number } | undefined;
  for (const k of crypto.isakmpKeys ?? []) {
    const a = v4(k.address), m = k.mask ? v4(k.mask) : 0xffffffff;
    if (a === undefined || m === undefined) continue;
    if (((ip & m) >>> 0) !== ((a & m) >>> 0)) continue;
    const len = popcount(m);
    if (!best || len > best.len) best = { key: k.key, len };
  }
  return best?.key;
}

function v4(s: string): number | undefined {
  return ipv4Bytes(s) ? parseIpv4(s) : undefined;
}

function popcount(n: number): number { let c = 0; for (let x = n >>> 0; x; x >>>= 1) c += x & 1; return c; }
