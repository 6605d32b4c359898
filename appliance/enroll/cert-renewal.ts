// The spoke renews its device certificate before it runs out (IOS `auto-enroll PERCENT` with
// `enrollment url`): once that share of the certificate's lifetime has passed, it asks the enrollment
// server named by the trustpoint, authenticated by the certificate it holds (client.ts requestRenewal),
// checks the answer (renewalProblem), puts the new certificate into the running config (live apply:
// IKE takes it in place, no SA drops: supervisor/live-config.ts) and into the startup-config when that
// holds the certificate being replaced (so `write memory` is not needed and an operator's unsaved
// edits are not saved with it). A failure is logged and retried with a doubling wait (jittered), until
// it works; a hub that cleared the device's binding refuses (revocation). An expired certificate keeps
// being renewed (a box switched off past its end): the request goes over the underlay to the `enrollment
// url` address (the hub's NBMA address), not through the tunnel its IKE can no longer bring up, and the
// TLS client does not judge its own certificate; the hub accepts it within its `renewal grace`.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { ApplianceConfig } from '../config/model.js';
import { chainCerts, enrollmentUrlOf, type Trustpoint } from '../config/model-pki.js';
import { cryptoLines, renderConfig } from '../config/render.js';
import { parseStartupConfig } from '../config/load.js';
import { requestRenewal, renewalProblem, EnrollError, type RenewCredentials } from './client.js';
import type { EnrollAnswer } from './codec.js';
import type { Level } from '../log/log.js';
import { nextKey, rolloverLabel, type RolloverKeys } from './key-rollover.js';

/** how often the running config's certificates are looked at */
const CHECK_EVERY_MS = 5000;
/** the first retry after a failed renewal, doubling up to RETRY_CAP_MS */
const RETRY_FIRST_MS = 30_000;
const RETRY_CAP_MS = 3600_000;

const pemOf = (derHex: string) => new X509Certificate(Buffer.from(derHex, 'hex')).toString();

/** What `show crypto pki trustpoints status` tells of a trustpoint that renews (show/crypto-pki.ts). */
export interface RenewalStatus {
  trustpoint: string;
  url: string;
  percent: number;
  regenerate: boolean;
  /** the certificate in use */
  serial: string;
  dueMs: number;
  endMs: number;
  /** the last attempt's outcome (since this supervisor started) */
  last?: { at: number; ok: boolean; text: string };
  /** a failed renewal is tried again at this time */
  nextRetryAt?: number;
}

/** A trustpoint that renews: its server, its percent, our certificate and its CA, and when it is due. */
export interface RenewalPlan { trustpoint: string; at: { host: string; port: number }; percent: number; regenerate: boolean; label: string; certPem: string; caPem: string; serial: string; dueMs: number; endMs: number }

/** The renewals the running config asks for (one per trustpoint with `auto-enroll` and `enrollment url`). */
export function renewalPlans(cfg: ApplianceConfig): RenewalPlan[] {
  const out: RenewalPlan[] = [];
  for (const t of cfg.crypto.pki?.trustpoints ?? []) {
    const p = planOf(cfg, t);
    if (p) out.push(p);
  }
  return out;
}

function planOf(cfg: ApplianceConfig, t: Trustpoint): RenewalPlan | undefined {
  const at = enrollmentUrlOf(t);
  if (!at || t.autoEnroll === undefined || !t.keyPair) return undefined;
  const chain = chainCerts(cfg.crypto.pki, t.name);
  const own = chain.find((c) => !c.ca), ca = chain.find((c) => c.ca);
  if (!own || !ca) return undefined;
  const cert = new X509Certificate(Buffer.from(own.der, 'hex'));
  const from = Date.parse(cert.validFrom), end = Date.parse(cert.validTo);
  return { trustpoint: t.name, at, percent: t.autoEnroll, regenerate: !!t.autoEnrollRegenerate, label: t.keyPair.label, certPem: cert.toString(), caPem: pemOf(ca.der), serial: cert.serialNumber, dueMs: from + ((end - from) * t.autoEnroll) / 100, endMs: end };
}

/** `cfg` with trustpoint `tp`'s own certificate replaced by `certPem` (its CA certificates kept) and,
 *  given `label`, its key pair's label (a new key: key-rollover.ts), or undefined when the chain no
 *  longer holds `oldSerial` (the operator changed it meanwhile). */
export function withOwnCertificate(cfg: ApplianceConfig, tp: string, oldSerial: string, certPem: string, label?: string): ApplianceConfig | undefined {
  const chain = cfg.crypto.pki?.chains?.find((c) => c.name === tp);
  if (!chain?.certs.some((c) => !c.ca && c.serial.toUpperCase() === oldSerial.toUpperCase())) return undefined;
  const next = structuredClone(cfg);
  const cert = new X509Certificate(certPem);
  const ch = next.crypto.pki!.chains!.find((c) => c.name === tp)!;
  ch.certs = [{ serial: cert.serialNumber, ca: false, der: cert.raw.toString('hex') }, ...ch.certs.filter((c) => c.ca)];
  const t = next.crypto.pki!.trustpoints?.find((x) => x.name === tp);
  if (label !== undefined) {
    if (!t?.keyPair) return undefined;
    t.keyPair.label = label;
  }
  next.crypto.lines = cryptoLines(next.crypto); // the running-config prints the crypto section from these
  return next;
}

export interface RenewalDeps {
  config(): ApplianceConfig;
  /** the key store's private key (PEM) of a label */
  keyPem(label: string): string | undefined;
  /** live apply of a whole config (Appliance.reconfigure) */
  apply(next: ApplianceConfig): Promise<{ ok: boolean; message?: string }>;
  /** the startup-config's text (undefined: none) and its atomic save */
  readStartup(): string | undefined;
  saveStartup(text: string): void;
  log(level: Level, mnemonic: string, text: string): void;
  /** the key store's rollover operations (`auto-enroll regenerate`); without them such a trustpoint fails */
  keys?: RolloverKeys;
  request?: (at: { host: string; port: number }, c: RenewCredentials) => Promise<EnrollAnswer>;
  now?: () => number;
  everyMs?: number;
}

export class CertRenewal {
  private timer?: NodeJS.Timeout;
  private busy = false;
  /** per trustpoint: no attempt before this time, and the wait after the next failure */
  private readonly retry = new Map<string, { at: number; wait: number }>();
  /** per trustpoint: the last attempt's outcome */
  private readonly results = new Map<string, { at: number; ok: boolean; text: string }>();
  readonly counters = { attempts: 0, renewed: 0, failed: 0 };
  /** the plans of the crypto config last looked at: live apply replaces the running config whole, so
   *  the same object means the same certificates (not parsed again every tick) */
  private last?: { crypto: ApplianceConfig['crypto']; plans: RenewalPlan[] };

  constructor(private readonly d: RenewalDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.d.everyMs ?? CHECK_EVERY_MS);
    this.timer.unref();
    void this.tick();
  }

  stop(): void { clearInterval(this.timer); }

  private now(): number { return this.d.now?.() ?? Date.now(); }

  /** The trustpoints that renew, from the running config, with what happened to their renewals. */
  status(): RenewalStatus[] {
    return renewalPlans(this.d.config()).map((p) => ({
      trustpoint: p.trustpoint, url: `https://${p.at.host}:${p.at.port}`, percent: p.percent, regenerate: p.regenerate,
      serial: p.serial, dueMs: p.dueMs, endMs: p.endMs,
      ...(this.results.has(p.trustpoint) ? { last: this.results.get(p.trustpoint) } : {}),
      ...(this.retry.has(p.trustpoint) ? { nextRetryAt: this.retry.get(p.trustpoint)!.at } : {}),
    }));
  }

  /** Renews every certificate that is due (one at a time). */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const cfg = this.d.config();
      if (this.last?.crypto !== cfg.crypto) this.last = { crypto: cfg.crypto, plans: renewalPlans(cfg) };
      for (const p of this.last.plans) {
        const now = this.now();
        // a rollover cut short (a key staged for the certificate in use) is finished without waiting
        const resume = p.regenerate && this.d.keys?.staged(rolloverLabel(p.label), p.serial) !== undefined;
        if ((now < p.dueMs && !resume) || now < (this.retry.get(p.trustpoint)?.at ?? 0)) continue;
        const why = await this.renew(p);
        this.results.set(p.trustpoint, { at: this.now(), ok: why === undefined, text: why ?? `certificate ${p.serial} renewed` });
        if (why === undefined) { this.retry.delete(p.trustpoint); continue; }
        this.counters.failed++;
        const wait = this.retry.get(p.trustpoint)?.wait ?? RETRY_FIRST_MS;
        const jittered = Math.round(wait * (0.8 + Math.random() * 0.4));
        this.retry.set(p.trustpoint, { at: this.now() + jittered, wait: Math.min(RETRY_CAP_MS, wait * 2) });
        const left = p.endMs - this.now();
        this.d.log('error', 'RENEW_FAILED', `trustpoint ${p.trustpoint}: certificate ${p.serial} not renewed: ${why}; ${left > 0 ? `it expires in ${Math.round(left / 1000)} s` : 'it has EXPIRED: IKE cannot authenticate with it; the hub still renews it within its renewal grace (else: enroll again)'}; retrying in ${Math.round(jittered / 1000)} s`);
      }
    } finally { this.busy = false; }
  }

  /** One renewal of `p`: undefined when done, else why not. */
  private async renew(p: RenewalPlan): Promise<string | undefined> {
    this.counters.attempts++;
    const keyPem = this.d.keyPem(p.label);
    if (!keyPem) return `no key pair ${p.label} in the key store`;
    let next: { label: string; pem: string } | undefined;
    if (p.regenerate) {
      if (!this.d.keys) return 'auto-enroll regenerate: no key store';
      let k: Awaited<ReturnType<typeof nextKey>>;
      try { k = await nextKey(this.d.keys, p.label, keyPem, p.serial, (l) => this.named(l)); } catch (e) { return `auto-enroll regenerate: key store: ${(e as Error).message}`; }
      if (typeof k === 'string') return `auto-enroll regenerate: ${k}`;
      next = k;
      this.d.log('info', 'REKEY', `trustpoint ${p.trustpoint}: ${k.fresh ? 'generated' : 'using the staged'} key pair ${k.label} to replace ${p.label}`);
    }
    this.d.log('info', 'RENEWING', `trustpoint ${p.trustpoint}: certificate ${p.serial} has passed ${p.percent}% of its lifetime; renewing${next ? ' with a new key' : ''} with https://${p.at.host}:${p.at.port}`);
    let a: EnrollAnswer;
    try {
      a = await (this.d.request ?? requestRenewal)(p.at, { certPem: p.certPem, keyPem, caPem: p.caPem, ...(next ? { newKeyPem: next.pem } : {}) });
    } catch (e) { return e instanceof EnrollError ? e.message : `request failed: ${(e as Error).message}`; }
    if (a.status === 'refused') return `hub refused: ${a.reason}: ${a.message}`;
    if (a.status !== 'renewed') return `hub answered ${a.status}, not renewed`;
    const problem = renewalProblem(a, createPrivateKey(next?.pem ?? keyPem), p.certPem, p.caPem);
    if (problem) return `answer refused, nothing changed: ${problem}`;
    const cfg = withOwnCertificate(this.d.config(), p.trustpoint, p.serial, a.certificate, next?.label);
    if (!cfg) return `the running config no longer holds certificate ${p.serial}`;
    // key and certificate together in one live apply: IKE takes both in place (supervisor/live-config.ts)
    const r = await this.d.apply(cfg);
    if (!r.ok) return `the new certificate was not applied: ${r.message}`;
    const cert = new X509Certificate(a.certificate);
    this.counters.renewed++;
    const saved = this.saveStartup(p, a.certificate, next?.label);
    if (next) this.retire(p.label, next.label);
    this.d.log('notice', 'RENEWED', `trustpoint ${p.trustpoint}: certificate ${p.serial} renewed as ${cert.serialNumber}${next ? ` for the new key pair ${next.label}` : ''}, valid until ${cert.validTo}; ${saved}`);
    return undefined;
  }

  /** Whether the running or the startup config names key label `label` in a trustpoint. */
  private named(label: string): boolean {
    const names = (c: ApplianceConfig) => (c.crypto.pki?.trustpoints ?? []).some((t) => t.keyPair?.label === label);
    if (names(this.d.config())) return true;
    const text = this.d.readStartup();
    const r = text === undefined ? undefined : parseStartupConfig(text);
    return r !== undefined && (!r.ok || names(r.config)); // a startup-config that does not load: assume it does
  }

  /** After a rollover: the new key pair is in use (its mark goes); the old one goes once no config names it. */
  private retire(old: string, now: string): void {
    try {
      this.d.keys!.settle(now);
      if (this.named(old)) { this.d.log('warn', 'REKEY', `key pair ${old} kept: a configuration still names it (write memory)`); return; }
      this.d.keys!.drop(old);
    } catch (e) { this.d.log('error', 'REKEY', `key store not updated after the rollover to ${now}: ${(e as Error).message}`); }
  }

  /** The startup-config with the new certificate, when it holds the old one: what was done, as text. */
  private saveStartup(p: RenewalPlan, certPem: string, label?: string): string {
    const text = this.d.readStartup();
    if (text === undefined) return 'no startup-config to update';
    const r = parseStartupConfig(text);
    if (!r.ok) return `startup-config not updated: it does not load (line ${r.errors[0].line})`;
    const next = withOwnCertificate(r.config, p.trustpoint, p.serial, certPem, label);
    if (!next) return `startup-config not updated: it does not hold certificate ${p.serial} (write memory saves the running config)`;
    try { this.d.saveStartup(renderConfig(next)); } catch (e) { return `startup-config NOT updated: ${(e as Error).message}`; }
    return 'running and startup config updated';
  }
}
