// What the enrollment server remembers between requests and restarts: which device key (SHA-256 of
// its SubjectPublicKeyInfo, hex) holds which tunnel address, under which token, and which one-time
// tokens are used up. Pure data and the pool arithmetic; state-file.ts keeps it on disk.
import { ipToU32, u32ToIp } from '../net/ipv4.js';
import { deviceName } from './device-name.js';

export interface Binding {
  key: string; address: string; hostname: string; token: string; admitted: string /* ISO time */;
  /** the device name (its IKE identity) once its key was replaced (`auto-enroll regenerate`): it stays
   *  the one derived from the key it enrolled with, so the device keeps its identity (device-name.ts) */
  name?: string;
  /** the key this binding's key replaced: good for nothing but asking again for the certificate of the
   *  current key (the answer of the rollover was lost), with the proof of the current key (rekey.ts) */
  previous?: string;
}

/** The device name of a binding: kept from its first key, or derived from its key. */
export const bindingName = (b: Binding) => b.name ?? deviceName(b.hostname, b.key);

export interface EnrollmentState {
  bindings: Binding[];
  /** one-time token name -> the device key it admitted */
  usedTokens: Record<string, string>;
  /** device keys the operator approved (`dmvpn enrollment approve`) that have not collected their answer yet */
  approved?: string[];
  /** device keys the operator revoked (`dmvpn enrollment revoke`): never admitted again, whatever token */
  revoked?: string[];
  /** device key -> the certificates issued to it and not expired yet (issued.ts): what the CRL of a
   *  revoked key lists (crl.ts). Recorded since the CRL came; certificates issued before are not here. */
  issued?: Record<string, IssuedCert[]>;
  /** requests waiting for the operator's approval (`approval manual`): kept so that a hub restart does
   *  not empty `show dmvpn enrollment`'s pending list until each device asks again (minutes of backoff) */
  pending?: PendingRecord[];
}

/** a request waiting for approval: the device key, the token it came with, from where, since when (ms) */
export interface PendingRecord { key: string; token: string; from: string; since: number }

/** requests kept waiting for approval at once: more are refused until some are approved */
export const MAX_PENDING = 64;

/** one certificate the CA issued: its serial (hex, upper case, as node prints it) and its end (ms) */
export interface IssuedCert { serial: string; notAfter: number }

export const emptyState = (): EnrollmentState => ({ bindings: [], usedTokens: {} });

export const bindingOf = (s: EnrollmentState, key: string) => s.bindings.find((b) => b.key === key);

/** a device name as device-name.ts makes it (a DNS name: it goes into certificates) */
const DEVICE_NAME = /^[a-z0-9-]{1,63}\.[0-9a-f]{32}\.dmvpn\.invalid$/;
const MAX_NAME = 253;

/** The lowest pool address no device key holds, or undefined when the pool is exhausted. */
export function freeAddress(s: EnrollmentState, pool: { start: string; end: string }): string | undefined {
  const taken = new Set(s.bindings.map((b) => b.address));
  for (let a = ipToU32(pool.start); a <= ipToU32(pool.end); a++) {
    const ip = u32ToIp(a);
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}

/** The hostname a spoke is given: from its tunnel address, so it is unique and says where it sits. */
export const hostnameFor = (address: string) => `spoke-${address.replace(/\./g, '-')}`;

/** A state read back from disk, or why it is refused (a damaged file must not silently free addresses). */
export function parseState(text: string): EnrollmentState | string {
  let j: unknown;
  try { j = JSON.parse(text); } catch { return 'not JSON'; }
  const o = j as Partial<EnrollmentState>;
  if (!o || !Array.isArray(o.bindings) || typeof o.usedTokens !== 'object' || o.usedTokens === null) return 'bindings or usedTokens missing';
  for (const b of o.bindings) {
    if (typeof b?.key !== 'string' || !/^[0-9a-f]{64}$/.test(b.key) || typeof b.address !== 'string' || typeof b.token !== 'string') return 'a binding is malformed';
    if (b.name !== undefined && (typeof b.name !== 'string' || b.name.length > MAX_NAME || !DEVICE_NAME.test(b.name))) return 'a binding\'s device name is malformed';
    if (b.previous !== undefined && (typeof b.previous !== 'string' || !/^[0-9a-f]{64}$/.test(b.previous))) return 'a binding\'s previous key is malformed';
  }
  if (o.approved !== undefined && (!Array.isArray(o.approved) || o.approved.some((k) => typeof k !== 'string' || !/^[0-9a-f]{64}$/.test(k)))) return 'approved is malformed';
  if (o.revoked !== undefined && (!Array.isArray(o.revoked) || o.revoked.some((k) => typeof k !== 'string' || !/^[0-9a-f]{64}$/.test(k)))) return 'revoked is malformed';
  if (o.issued !== undefined && issuedProblem(o.issued)) return 'issued is malformed';
  if (o.pending !== undefined && pendingProblem(o.pending)) return 'pending is malformed';
  return { bindings: o.bindings, usedTokens: o.usedTokens, ...(o.approved?.length ? { approved: o.approved } : {}), ...(o.revoked?.length ? { revoked: o.revoked } : {}), ...(o.issued ? { issued: o.issued } : {}),
    ...(o.pending?.length ? { pending: o.pending } : {}) };
}

/** a certificate serial as recorded: up to 20 octets (RFC 5280 4.1.2.2), hex */
const SERIAL = /^[0-9A-F]{2,40}$/;

/** printable, bounded: what a pending record's token name and source address may be */
const SHORT_TEXT = /^[\x21-\x7e]{1,64}$/;

function pendingProblem(v: unknown): boolean {
  if (!Array.isArray(v) || v.length > MAX_PENDING) return true;
  const keys = new Set<string>();
  for (const p of v as Array<Partial<PendingRecord>>) {
    if (typeof p?.key !== 'string' || !/^[0-9a-f]{64}$/.test(p.key) || keys.has(p.key)) return true;
    if (typeof p.token !== 'string' || !SHORT_TEXT.test(p.token) || typeof p.from !== 'string' || !SHORT_TEXT.test(p.from)) return true;
    if (!Number.isSafeInteger(p.since) || (p.since as number) < 0) return true;
    keys.add(p.key);
  }
  return false;
}

function issuedProblem(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return true;
  return Object.entries(v).some(([k, list]) => !/^[0-9a-f]{64}$/.test(k) || !Array.isArray(list)
    || list.some((c: Partial<IssuedCert>) => typeof c?.serial !== 'string' || !SERIAL.test(c.serial) || !Number.isSafeInteger(c.notAfter)));
}
