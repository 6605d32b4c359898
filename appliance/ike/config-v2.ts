// IKEv2 policy: the IOS names of `crypto ikev2 proposal` (encryption aes-cbc-128 ... chacha20-poly1305,
// integrity sha256/384/512, prf, group 14/19/20/31), keyring entries, and the ESP side taken from the
// transform sets (config.ts), turned into the transform IDs of RFC 7296 3.3.2 that the tasks offer and
// match. IkeV2Settings is plain data (JSON for the lab tool); ikeV2Policy validates it once.
import type { CryptoConfig, TransformSet } from '../config/model.js';
import { phase2Proposal, pskFor, type Parsed, type Phase2Proposal } from './config.js';
import { keGroups } from './crypto/ke.js';
import type { SkEncr, SkSuite } from './crypto/sk.js';
import { EncrId, IntegId, PrfId } from './encoding/constants-v2.js';
import type { Prf } from './keymat/ikev2.js';
import { certNamesHost, loadCredentials, type CertCredentials, type PeerCertCheck } from './tasks/v2/cert-auth.js';
import { trustpointCredentials, type KeyLookup } from './pki/trustpoint.js';
import { trustpointOf, type KeyKind } from '../config/model-pki.js';

export interface IkeV2ProposalSettings { name: string; encryption: string[]; integrity?: string[]; prf?: string[]; group: number[] }
export interface KeyringPeer { name: string; address?: string; mask?: string; identity?: string; key: string }

export interface IkeV2Settings {
  proposals: IkeV2ProposalSettings[];
  keyring: KeyringPeer[];
  transformSets: TransformSet[];
  /** `set pfs groupN` of the ipsec profile. */
  pfs?: string;
  /** IKE SA lifetime (IOS `lifetime` in the profile, default 86400 s) and Child SA lifetime (default 3600 s). */
  lifetime?: number;
  childLifetime?: number;
  /** `dpd INTERVAL RETRY on-demand|periodic`: liveness check when idle, in seconds. */
  dpd?: { interval: number; retry: number };
  /** `crypto ikev2 cookie-challenge N`: half-open SAs above which IKE_SA_INIT must carry a cookie. */
  cookieChallenge?: number;
  /** `crypto ikev2 fragmentation [mtu N]`: fragment encrypted messages larger than this (RFC 7383). */
  fragmentMtu?: number;
  /** Certificate authentication (RFC 7427): our certificate and key, and the CAs we trust (PEM). */
  certificate?: { cert: string; key: string; trusted: string[] };
  /** `authentication remote rsa-sig|ecdsa-sig|ed25519-sig`: a peer's pre-shared-key AUTH is refused */
  peerMustSign?: boolean;
  /** `identity local fqdn NAME`: we send ID_FQDN NAME, not ID_IPV4_ADDR of our address */
  localFqdn?: string;
}

export interface EncrChoice { id: EncrId; keyBits: number; encr: SkEncr }
export interface IntegChoice { id: IntegId; hash: 'sha1' | 'sha256' | 'sha384' | 'sha512'; keyLen: number; icvLen: number }
export interface PrfChoice { id: PrfId; prf: Prf }
export interface IkeV2Proposal { name: string; encr: EncrChoice[]; integ: IntegChoice[]; prf: PrfChoice[]; groups: number[] }

/** One negotiated IKE SA suite: exactly one transform of each type. */
export interface IkeSuite { encr: EncrChoice; integ?: IntegChoice; prf: PrfChoice; group: number }

export interface IkeV2Policy {
  proposals: IkeV2Proposal[];
  esp: Phase2Proposal[];
  keyring: KeyringPeer[];
  lifetime: number;
  childLifetime: number;
  pfsGroup?: number;
  dpd?: { interval: number; retry: number };
  cookieChallenge?: number;
  fragmentMtu?: number;
  credentials?: CertCredentials;
  peerMustSign?: boolean;
  localFqdn?: string;
  /** asked about every peer certificate that passed the checks of cert-auth.ts (not config: the box
   *  plugs it in, ike-engine-v2.ts) */
  certAccepted?: PeerCertCheck;
}

const ENCR: Record<string, EncrChoice> = {
  'aes-cbc-128': { id: EncrId.AesCbc, keyBits: 128, encr: 'aes-cbc' },
  'aes-cbc-192': { id: EncrId.AesCbc, keyBits: 192, encr: 'aes-cbc' },
  'aes-cbc-256': { id: EncrId.AesCbc, keyBits: 256, encr: 'aes-cbc' },
  'aes-gcm-128': { id: EncrId.AesGcm16, keyBits: 128, encr: 'aes-gcm-16' },
  'aes-gcm-256': { id: EncrId.AesGcm16, keyBits: 256, encr: 'aes-gcm-16' },
  'chacha20-poly1305': { id: EncrId.ChaCha20Poly1305, keyBits: 256, encr: 'chacha20-poly1305' },
};
const INTEG: Record<string, IntegChoice> = {
  sha1: { id: IntegId.HmacSha1_96, hash: 'sha1', keyLen: 20, icvLen: 12 },
  sha256: { id: IntegId.HmacSha256_128, hash: 'sha256', keyLen: 32, icvLen: 16 },
  sha384: { id: IntegId.HmacSha384_192, hash: 'sha384', keyLen: 48, icvLen: 24 },
  sha512: { id: IntegId.HmacSha512_256, hash: 'sha512', keyLen: 64, icvLen: 32 },
};
const PRF: Record<string, PrfChoice> = {
  sha1: { id: PrfId.HmacSha1, prf: 'sha1' }, sha256: { id: PrfId.HmacSha256, prf: 'sha256' },
  sha384: { id: PrfId.HmacSha384, prf: 'sha384' }, sha512: { id: PrfId.HmacSha512, prf: 'sha512' },
};

export const encrById = (id: number, keyBits: number | undefined) => Object.values(ENCR).find((e) => e.id === id && e.keyBits === (keyBits ?? (id === EncrId.ChaCha20Poly1305 ? 256 : -1)));
export const integById = (id: number) => Object.values(INTEG).find((e) => e.id === id);
export const prfById = (id: number) => Object.values(PRF).find((e) => e.id === id);
export const isAeadEncr = (e: EncrChoice) => e.encr !== 'aes-cbc';

export function suiteOf(s: IkeSuite): SkSuite {
  return { encr: s.encr.encr, keyBits: s.encr.keyBits, integ: s.integ && { hash: s.integ.hash, keyLen: s.integ.keyLen, icvLen: s.integ.icvLen } };
}

export function ikeV2Proposal(p: IkeV2ProposalSettings): Parsed<IkeV2Proposal> {
  const warnings: string[] = [];
  const encr: EncrChoice[] = [], integ: IntegChoice[] = [], prf: PrfChoice[] = [];
  for (const e of p.encryption) { const c = ENCR[e]; if (!c) return { ok: false, reason: `ikev2 proposal ${p.name}: encryption ${e} unsupported` }; encr.push(c); }
  for (const i of p.integrity ?? []) { const c = INTEG[i]; if (!c) return { ok: false, reason: `ikev2 proposal ${p.name}: integrity ${i} unsupported` }; integ.push(c); }
  for (const f of p.prf ?? p.integrity ?? []) { const c = PRF[f]; if (!c) return { ok: false, reason: `ikev2 proposal ${p.name}: prf ${f} unsupported` }; prf.push(c); }
  if (!encr.length) return { ok: false, reason: `ikev2 proposal ${p.name}: no encryption` };
  const aead = encr.filter(isAeadEncr).length;
  if (aead && aead !== encr.length) return { ok: false, reason: `ikev2 proposal ${p.name}: AEAD and non-AEAD encryption cannot share a proposal` };
  if (!aead && !integ.length) return { ok: false, reason: `ikev2 proposal ${p.name}: integrity needed with aes-cbc` };
  if (aead && integ.length) return { ok: false, reason: `ikev2 proposal ${p.name}: integrity must not be set with an AEAD cipher (IOS: set prf)` };
  if (!prf.length) return { ok: false, reason: `ikev2 proposal ${p.name}: prf needed` };
  if (!p.group.length) return { ok: false, reason: `ikev2 proposal ${p.name}: no DH group` };
  for (const g of p.group) if (!keGroups.includes(g)) return { ok: false, reason: `ikev2 proposal ${p.name}: DH group ${g} unsupported` };
  if (integ.some((i) => i.hash === 'sha1') || prf.some((f) => f.prf === 'sha1')) warnings.push(`ikev2 proposal ${p.name}: SHA-1 is weak`);
  return { ok: true, warnings, value: { name: p.name, encr, integ, prf, groups: p.group } };
}

export function ikeV2Policy(s: IkeV2Settings): Parsed<IkeV2Policy> {
  const warnings: string[] = [];
  const proposals: IkeV2Proposal[] = [];
  for (const p of s.proposals) { const r = ikeV2Proposal(p); if (!r.ok) return r; proposals.push(r.value); warnings.push(...r.warnings); }
  if (!proposals.length) return { ok: false, reason: 'no ikev2 proposal' };
  let pfsGroup: number | undefined;
  if (s.pfs) {
    const m = /^group(\d+)$/.exec(s.pfs.trim());
    pfsGroup = m ? Number(m[1]) : NaN;
    if (!keGroups.includes(pfsGroup)) return { ok: false, reason: `set pfs ${s.pfs} unsupported with IKEv2 (groups ${keGroups.join(', ')})` };
  }
  const esp: Phase2Proposal[] = [];
  for (const ts of s.transformSets) {
    const r = phase2Proposal(ts);
    if (!r.ok) return r;
    esp.push({ ...r.value, lifetime: s.childLifetime ?? r.value.lifetime, pfsGroup });
    warnings.push(...r.warnings);
  }
  if (!esp.length) return { ok: false, reason: 'no transform set for IKEv2 Child SAs' };
  let credentials: CertCredentials | undefined;
  if (s.certificate) {
    try { credentials = loadCredentials(s.certificate.cert, s.certificate.key, s.certificate.trusted); } catch (e) { return { ok: false, reason: `certificate: ${(e as Error).message}` }; }
  }
  // a peer checks that the certificate carries the identity we claim: a name it lacks fails every AUTH
  if (credentials && s.localFqdn !== undefined && !certNamesHost(credentials.cert, s.localFqdn)) {
    return { ok: false, reason: `identity local fqdn ${s.localFqdn}: our certificate does not carry it (subjectAltName dNSName)` };
  }
  return {
    ok: true, warnings,
    value: { credentials, peerMustSign: s.peerMustSign, proposals, esp, keyring: s.keyring, lifetime: s.lifetime ?? 86400, childLifetime: s.childLifetime ?? 3600, pfsGroup, dpd: s.dpd, cookieChallenge: s.cookieChallenge, fragmentMtu: s.fragmentMtu, localFqdn: s.localFqdn },
  };
}

/** The pre-shared key for a peer: by identity when the keyring names it, else the most specific address entry. */
export function keyFor(keyring: readonly KeyringPeer[], address: string, identity?: string): string | undefined {
  if (identity !== undefined) { const byId = keyring.find((k) => k.identity === identity); if (byId) return byId.key; }
  return pskFor({ lines: [], isakmpKeys: keyring.filter((k) => k.address).map((k) => ({ key: k.key, address: k.address!, mask: k.mask })) }, address);
}

/** The ESP integrity transform ID (RFC 7296 3.3.2) of a transform set's HMAC. */
export const espIntegId = (p: Phase2Proposal) => (!p.auth ? IntegId.None : p.auth.hash === 'md5' ? 1 : p.auth.hash === 'sha256' ? IntegId.HmacSha256_128 : IntegId.HmacSha1_96);
const ESP_ENCR: Record<Phase2Proposal['cipher']['name'], number> = {
  des: 2, '3des': EncrId.TripleDES, 'aes-cbc': EncrId.AesCbc, 'aes-gcm-16': EncrId.AesGcm16, 'chacha20-poly1305': EncrId.ChaCha20Poly1305,
};
/** The ESP encryption transform ID (RFC 7296 3.3.2; 20 = AES-GCM with a 16-byte ICV, RFC 5282; 28 = RFC 7634). */
export const espEncrId = (p: Phase2Proposal) => ESP_ENCR[p.cipher.name];

/**
 * IOS's default IKEv2 proposal, used when the config defines none (IOS-XE 16 "default" proposal:
 * AES-CBC-256/192/128, SHA-512/384/256, groups 19, 20, 14 in that preference; SHA-1 and groups 2/5 left out).
 */
export const IOS_DEFAULT_PROPOSAL: IkeV2ProposalSettings = { name: 'default', encryption: ['aes-cbc-256', 'aes-cbc-192', 'aes-cbc-128'], integrity: ['sha512', 'sha384', 'sha256'], group: [19, 20, 14] };

/**
 * The IkeV2Settings an ipsec profile with `set ikev2-profile NAME` selects (IOS uses IKEv1 for a profile
 * without one: then undefined). Proposals come from the ikev2 policies (all of them, in order), else all
 * proposals, else IOS's default; the keyring is the profile's `keyring local`.
 */
export function ikeV2SettingsFrom(crypto: CryptoConfig, ipsecProfile?: string, keys?: KeyLookup): Parsed<IkeV2Settings> | undefined {
  const ip = ipsecProfile ? crypto.ipsecProfiles?.find((p) => p.name === ipsecProfile) : crypto.ipsecProfiles?.find((p) => p.ikev2Profile);
  if (!ip?.ikev2Profile) return undefined;
  const k = crypto.ikev2 ?? {};
  const profile = k.profiles?.find((p) => p.name === ip.ikev2Profile);
  if (!profile) return { ok: false, reason: `ipsec profile ${ip.name}: ikev2 profile ${ip.ikev2Profile} not defined` };
  const warnings: string[] = [];
  const local = profile.authLocal ?? 'pre-share', remote = profile.authRemote ?? 'pre-share';
  if ((local === 'pre-share') !== (remote === 'pre-share')) {
    return { ok: false, reason: `ikev2 profile ${profile.name}: authentication local ${local} with remote ${remote}: pre-share on one side and certificates on the other is not implemented` };
  }
  if (!profile.authLocal || !profile.authRemote) warnings.push(`ikev2 profile ${profile.name}: authentication local/remote not both set (IOS refuses such a profile); ${local} assumed`);
  let certificate: IkeV2Settings['certificate'];
  if (local !== 'pre-share') {
    const c = profileCertificate(crypto, profile.name, profile.pkiTrustpoint, local, keys);
    if (!c.ok) return c;
    certificate = c.value;
  }
  const keyring = k.keyrings?.find((r) => r.name === profile.keyring);
  if (!keyring && !certificate) return { ok: false, reason: `ikev2 profile ${profile.name}: keyring local ${profile.keyring ?? '(none)'} not defined` };
  const peers: KeyringPeer[] = (keyring?.peers ?? []).filter((p) => p.key !== undefined).map((p) => ({ name: p.name, address: p.address, mask: p.mask, identity: p.identity, key: p.key! }));
  const byName = new Map((k.proposals ?? []).map((p) => [p.name, p]));
  let names = (k.policies ?? []).flatMap((p) => p.proposals);
  if (!names.length) names = [...byName.keys()];
  const proposals: IkeV2ProposalSettings[] = [];
  for (const n of names) {
    const p = byName.get(n);
    if (!p) return { ok: false, reason: `ikev2 policy: proposal ${n} not defined` };
    proposals.push({ name: p.name, encryption: p.encryption, integrity: p.integrity.length ? p.integrity : undefined, prf: p.prf.length ? p.prf : undefined, group: p.group });
  }
  if (!proposals.length) { proposals.push(IOS_DEFAULT_PROPOSAL); warnings.push('no crypto ikev2 proposal: using the IOS default proposal'); }
  const transformSets = ip.transformSets.map((n) => crypto.transformSets?.find((t) => t.name === n)).filter((t): t is TransformSet => Boolean(t));
  if (transformSets.length !== ip.transformSets.length) return { ok: false, reason: `ipsec profile ${ip.name}: a transform set is not defined` };
  const dpd = profile.dpd ?? k.dpd;
  return {
    ok: true, warnings,
    value: { proposals, keyring: peers, transformSets, pfs: ip.pfs, lifetime: profile.lifetime, dpd: dpd && { interval: dpd.interval, retry: dpd.retry },
      cookieChallenge: k.cookieChallenge, fragmentMtu: k.fragmentationMtu, certificate, peerMustSign: certificate ? true : undefined, localFqdn: profile.identityLocalFqdn },
  };
}

const SIG_KEY: Record<string, KeyKind> = { 'rsa-sig': 'rsa', 'ecdsa-sig': 'ec', 'ed25519-sig': 'ed25519' };

/** `authentication local rsa-sig|ecdsa-sig|ed25519-sig` with `pki trustpoint T`: T's certificate, key and CAs. */
function profileCertificate(crypto: CryptoConfig, profile: string, tp: string | undefined, method: string, keys: KeyLookup | undefined): Parsed<NonNullable<IkeV2Settings['certificate']>> {
  if (!tp) return { ok: false, reason: `ikev2 profile ${profile}: authentication local ${method} needs pki trustpoint NAME` };
  const c = trustpointCredentials(crypto, tp, keys);
  if (!c.ok) return { ok: false, reason: `ikev2 profile ${profile}: ${c.reason}` };
  const kind = trustpointOf(crypto, tp)!.keyPair!.kind;
  if (SIG_KEY[method] !== kind) return { ok: false, reason: `ikev2 profile ${profile}: authentication local ${method} but trustpoint ${tp}'s key pair is ${kind} (use ${Object.keys(SIG_KEY).find((m) => SIG_KEY[m] === kind)})` };
  return c;
}
