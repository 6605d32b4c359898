// Turns the crypto section of a config into the SAs the data plane needs, checking everything a
// network engineer can get wrong (unknown transform set, key of the wrong length, missing peer)
// before anything is applied. Pure: no I/O, so a refused config changes nothing.
import type { ApplianceConfig, ManualSa, TransformSet, TunnelConfig } from '../config/model.js';

export type CipherName =
  | 'aes-gcm-128' | 'aes-gcm-256' | 'chacha20-poly1305'
  | 'aes-cbc-128' | 'aes-cbc-192' | 'aes-cbc-256' | 'null';
export type IntegrityName = 'none' | 'hmac-sha1-96' | 'hmac-sha256-128';

export interface EspTransform { cipher: CipherName; integrity: IntegrityName; icvLen: number; mode: 'transport' | 'tunnel' }

export interface PlannedSa {
  name: string; // manual-sa name, for show and logs
  direction: 'in' | 'out';
  spi: number;
  peer: string; // NBMA
  transform: EspTransform;
  key: Uint8Array; // cipher key (|| 4-byte salt for AEADs)
  authKey: Uint8Array;
  udpEncap: boolean;
  /** persisted sequence high-water marks (`set sequence-persistence`); absent = none */
  persistence?: { dir: string; block: number };
}

/** `set sequence-persistence default` */
export const DEFAULT_SEQ_DIR = '/var/lib/dmvpnd/seq';
/** Sequence numbers reserved per fsync'd write unless `block N` says otherwise. */
export const DEFAULT_SEQ_BLOCK = 65536;

export class IpsecPlanError extends Error { override name = 'IpsecPlanError'; }

const CIPHER_KEY: Record<CipherName, number> = {
  'aes-gcm-128': 16 + 4, 'aes-gcm-256': 32 + 4, 'chacha20-poly1305': 32 + 4,
  'aes-cbc-128': 16, 'aes-cbc-192': 24, 'aes-cbc-256': 32, null: 0,
};
const AUTH_KEY: Record<IntegrityName, number> = { none: 0, 'hmac-sha1-96': 20, 'hmac-sha256-128': 32 };

/** IOS transform-set words -> our transform. */
export function parseTransform(ts: TransformSet): EspTransform {
  let cipher: CipherName | undefined;
  let integrity: IntegrityName = 'none';
  let icvLen = 0;
  for (const raw of ts.transforms) {
    const [name, arg] = raw.toLowerCase().split(/\s+/);
    if (name === 'esp-gcm') { cipher = arg === '256' ? 'aes-gcm-256' : 'aes-gcm-128'; icvLen = 16; }
    else if (name === 'esp-chacha20-poly1305') { cipher = 'chacha20-poly1305'; icvLen = 16; }
    else if (name === 'esp-aes') cipher = arg === '256' ? 'aes-cbc-256' : arg === '192' ? 'aes-cbc-192' : 'aes-cbc-128';
    else if (name === 'esp-null') cipher = 'null';
    else if (name === 'esp-sha-hmac') { integrity = 'hmac-sha1-96'; icvLen = 12; }
    else if (name === 'esp-sha256-hmac') { integrity = 'hmac-sha256-128'; icvLen = 16; }
    else throw new IpsecPlanError(`transform-set ${ts.name}: transform ${raw} is not supported`);
  }
  if (!cipher) throw new IpsecPlanError(`transform-set ${ts.name}: no encryption transform (esp-gcm, esp-chacha20-poly1305, esp-aes or esp-null)`);
  const aead = cipher.startsWith('aes-gcm') || cipher === 'chacha20-poly1305';
  if (aead && integrity !== 'none') throw new IpsecPlanError(`transform-set ${ts.name}: ${cipher} is combined-mode; it takes no separate integrity transform`);
  if (cipher === 'aes-cbc-192') throw new IpsecPlanError(`transform-set ${ts.name}: esp-aes 192 is not supported (use 128 or 256)`);
  if (!aead && integrity === 'none' && cipher !== 'null') throw new IpsecPlanError(`transform-set ${ts.name}: esp-aes needs an integrity transform (esp-sha-hmac or esp-sha256-hmac)`);
  // RFC 4303 3.2: ESP provides confidentiality or integrity or both; neither is no protection at all.
  if (cipher === 'null' && integrity === 'none') throw new IpsecPlanError(`transform-set ${ts.name}: esp-null needs an integrity transform (esp-sha-hmac or esp-sha256-hmac): without one ESP protects nothing (RFC 4303 section 3.2)`);
  return { cipher, integrity, icvLen, mode: ts.mode ?? 'tunnel' };
}

const hexBytes = (what: string, hex: string): Uint8Array => {
  const clean = hex.replace(/^0x/i, '');
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new IpsecPlanError(`${what}: not an even number of hex digits`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
};

function planManual(sa: ManualSa, sets: Map<string, TransformSet>): PlannedSa[] {
  const where = `crypto ipsec manual-sa ${sa.name}`;
  if (!sa.peer) throw new IpsecPlanError(`${where}: no set peer`);
  if (!sa.transformSet) throw new IpsecPlanError(`${where}: no set transform-set`);
  const ts = sets.get(sa.transformSet);
  if (!ts) throw new IpsecPlanError(`${where}: transform-set ${sa.transformSet} is not defined`);
  const transform = parseTransform(ts);
  const persistence = sa.sequencePersistence
    ? { dir: sa.sequencePersistence.dir === 'default' ? DEFAULT_SEQ_DIR : sa.sequencePersistence.dir, block: sa.sequencePersistence.block ?? DEFAULT_SEQ_BLOCK }
    : undefined;
  if (isAead(transform) && !persistence) {
    throw new IpsecPlanError(`${where}: ${transform.cipher} with manual keys would reuse nonces: after a restart the sequence number ` +
      'starts at 0 again under the same key and salt (RFC 4106 section 8.1, RFC 7634 section 4 and RFC 8221 forbid AEAD with ' +
      'manual keying). Add "set sequence-persistence default" (or a directory) to persist the sequence numbers, or use esp-aes with esp-sha256-hmac');
  }
  if (persistence && !persistence.dir.startsWith('/')) throw new IpsecPlanError(`${where}: set sequence-persistence needs an absolute directory or default`);
  const out: PlannedSa[] = [];
  for (const direction of ['in', 'out'] as const) {
    const k = direction === 'in' ? sa.inbound : sa.outbound;
    const kw = direction === 'in' ? 'inbound' : 'outbound';
    if (!k) throw new IpsecPlanError(`${where}: no set session-key ${kw}`);
    if (k.spi < 256) throw new IpsecPlanError(`${where}: ${kw} SPI ${k.spi} is reserved (RFC 4303: 1-255); use 256 or more`);
    const key = hexBytes(`${where} ${kw} cipher`, k.cipher);
    const authKey = k.authenticator ? hexBytes(`${where} ${kw} authenticator`, k.authenticator) : new Uint8Array(0);
    const want = CIPHER_KEY[transform.cipher];
    if (key.length !== want) {
      const salt = want > 4 && transform.icvLen === 16 && transform.integrity === 'none' ? ' (key followed by the 4-byte salt)' : '';
      throw new IpsecPlanError(`${where}: ${kw} cipher key is ${key.length} bytes; ${transform.cipher} needs ${want}${salt}`);
    }
    if (authKey.length !== AUTH_KEY[transform.integrity]) {
      throw new IpsecPlanError(`${where}: ${kw} authenticator is ${authKey.length} bytes; ${transform.integrity} needs ${AUTH_KEY[transform.integrity]}`);
    }
    const p: PlannedSa = { name: sa.name, direction, spi: k.spi >>> 0, peer: sa.peer, transform, key, authKey, udpEncap: sa.udpEncapsulation };
    if (persistence) p.persistence = persistence;
    out.push(p);
  }
  return out;
}

export const isAead = (t: EspTransform) => t.cipher.startsWith('aes-gcm') || t.cipher === 'chacha20-poly1305';

/** What a security reviewer should hear about an accepted plan (logged at load). */
export function ipsecWarnings(sas: PlannedSa[]): string[] {
  const out: string[] = [];
  for (const s of sas.filter((x) => x.direction === 'in')) {
    const where = `crypto ipsec manual-sa ${s.name}`;
    if (s.transform.cipher === 'null') out.push(`${where}: esp-null: GRE to ${s.peer} is authenticated but NOT encrypted`);
    if (!s.persistence) {
      out.push(`${where}: no set sequence-persistence: after a restart the inbound replay window starts empty, ` +
        `so ESP packets from ${s.peer} captured before it can be replayed`);
    }
  }
  return out;
}

/** SAs to install for the tunnel's `tunnel protection`; [] when the tunnel is not protected. */
export function planIpsec(config: ApplianceConfig, tunnel: TunnelConfig | undefined): PlannedSa[] {
  if (!tunnel?.protection) return [];
  const c = config.crypto;
  const profile = (c.ipsecProfiles ?? []).find((p) => p.name === tunnel.protection!.profile);
  if (!profile) throw new IpsecPlanError(`interface ${tunnel.name}: tunnel protection ipsec profile ${tunnel.protection.profile} is not defined`);
  const sets = new Map((c.transformSets ?? []).map((t) => [t.name, t]));
  for (const name of profile.transformSets) {
    const ts = sets.get(name);
    if (!ts) throw new IpsecPlanError(`crypto ipsec profile ${profile.name}: transform-set ${name} is not defined`);
    parseTransform(ts);
  }
  const sas = (c.manualSas ?? []).flatMap((m) => planManual(m, sets));
  const spis = new Set<number>();
  for (const s of sas.filter((x) => x.direction === 'in')) {
    if (spis.has(s.spi)) throw new IpsecPlanError(`inbound SPI ${s.spi} is used by two manual SAs`);
    spis.add(s.spi);
  }
  return sas;
}
