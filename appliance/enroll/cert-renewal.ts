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

/** how often the running config's certificates are looked at */
const CHECK_EVERY_MS = 5000;
/** the first retry after a failed renewal, doubling up to RETRY_CAP_MS */
const RETRY_FIRST_MS = 30_000;
const RETRY_CAP_MS = 3600_000;

const pemOf = (derHex: string) => new X509Certificate(Buffer.from(derHex, 'hex')).toString();

/** A trustpoint that renews: its server, its percent, our certificate and its CA, and when it is due. */
export interface RenewalPlan { trustpoint: string; at: { host: string; port: number }; percent: number; label: string; certPem: string; caPem: string; serial: string; dueMs: number; endMs: number }

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
  return { trustpoint: t.name, at, percent: t.autoEnroll, label: t.keyPair.label, certPem: cert.toString(), caPem: pemOf(ca.der), serial: cert.serialNumber, dueMs: from + ((end - from) * t.autoEnroll) / 100, endMs: end };
}

/** `cfg` with trustpoint `tp`'s own certificate replaced by `certPem` (its CA certificates kept), or
 *  undefined when the chain no longer holds `oldSerial` (the operator changed it meanwhile). */
export function withOwnCertificate(cfg: ApplianceConfig, tp: string, oldSerial: string, certPem: string): ApplianceConfig | undefined {
  const chain = cfg.crypto.pki?.chains?.find((c) => c.name === tp);
  if (!chain?.certs.some((c) => !c.ca && c.serial.toUpperCase() === oldSerial.toUpperCase())) return undefined;
  const next = structuredClone(cfg);
  const cert = new X509Certificate(certPem);
  const ch = next.crypto.pki!.chains!.find((c) => c.name === tp)!;
  ch.certs = [{ serial: cert.serialNumber, ca: false, der: cert.raw.toString('hex') }, ...ch.certs.filter((c) => c.ca)];
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
  request?: (at: { host: string; port: number }, c: RenewCredentials) => Promise<EnrollAnswer>;
  now?: () => number;
  everyMs?: number;
}

export class CertRenewal {
  private timer?: NodeJS.Timeout;
  private busy = false;
  /** per trustpoint: no attempt before this time, and the wait after the next failure */
  private readonly retry = new Map<string, { at: number; wait: number }>();
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

  /** Renews every certificate that is due (one at a time). */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const cfg = this.d.config();
      if (this.last?.crypto !== cfg.crypto) this.last = { crypto: cfg.crypto, plans: renewalPlans(cfg) };
      for (const p of this.last.plans) {
        const now = this.now();
        if (now < p.dueMs || now < (this.retry.get(p.trustpoint)?.at ?? 0)) continue;
        const why = await this.renew(p);
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
    this.d.log('info', 'RENEWING', `trustpoint ${p.trustpoint}: certificate ${p.serial} has passed ${p.percent}% of its lifetime; renewing with https://${p.at.host}:${p.at.port}`);
    let a: EnrollAnswer;
    try {
      a = await (this.d.request ?? requestRenewal)(p.at, { certPem: p.certPem, keyPem, caPem: p.caPem });
    } catch (e) { return e instanceof EnrollError ? e.message : `request failed: ${(e as Error).message}`; }
    if (a.status === 'refused') return `hub refused: ${a.reason}: ${a.message}`;
    if (a.status !== 'renewed') return `hub answered ${a.status}, not renewed`;
    const problem = renewalProblem(a, createPrivateKey(keyPem), p.certPem, p.caPem);
    if (problem) return `answer refused, nothing changed: ${problem}`;
    const next = withOwnCertificate(this.d.config(), p.trustpoint, p.serial, a.certificate);
    if (!next) return `the running config no longer holds certificate ${p.serial}`;
    const r = await this.d.apply(next);
    if (!r.ok) return `the new certificate was not applied: ${r.message}`;
    const cert = new X509Certificate(a.certificate);
    this.counters.renewed++;
    this.d.log('notice', 'RENEWED', `trustpoint ${p.trustpoint}: certificate ${p.serial} renewed as ${cert.serialNumber}, valid until ${cert.validTo}; ${this.saveStartup(p, a.certificate)}`);
    return undefined;
  }

  /** The startup-config with the new certificate, when it holds the old one: what was done, as text. */
  private saveStartup(p: RenewalPlan, certPem: string): string {
    const text = this.d.readStartup();
    if (text === undefined) return 'no startup-config to update';
    const r = parseStartupConfig(text);
    if (!r.ok) return `startup-config not updated: it does not load (line ${r.errors[0].line})`;
    const next = withOwnCertificate(r.config, p.trustpoint, p.serial, certPem);
    if (!next) return `startup-config not updated: it does not hold certificate ${p.serial} (write memory saves the running config)`;
    try { this.d.saveStartup(renderConfig(next)); } catch (e) { return `startup-config NOT updated: ${(e as Error).message}`; }
    return 'running and startup config updated';
  }
}
