// The spoke fetches the hub's CRL (crl.ts) from the enrollment server its trustpoint names (`enrollment
// url`) every FETCH_EVERY_MS and at the CRL's nextUpdate, backing off after a failure (RETRY_FIRST_MS,
// doubling up to FETCH_EVERY_MS). Only a CRL whose signature verifies with the trustpoint's CA is kept
// (crl-store.ts); IKE asks `check` (PeerCertCheck) about every peer certificate, and when a new CRL
// revokes a certificate, established IKE SAs are asked again and those it refuses are taken down
// (`tearDown`, as the hub's `clear dmvpn enrollment binding` does).
import { X509Certificate } from 'node:crypto';
import type { ApplianceConfig } from '../config/model.js';
import { chainCerts, enrollmentUrlOf } from '../config/model-pki.js';
import { requestCrl, EnrollError } from './client.js';
import type { EnrollAnswer } from './codec.js';
import { CrlStore, verifiedCrl } from './crl-store.js';
import type { Level } from '../log/log.js';
import type { PeerCertCheck } from '../ike/tasks/v2/cert-auth.js';

/** how often the CRL is fetched when all is well */
export const FETCH_EVERY_MS = 5 * 60_000;
/** the first retry after a failed fetch, doubling up to FETCH_EVERY_MS */
const RETRY_FIRST_MS = 30_000;

export interface CrlFetchDeps {
  config(): ApplianceConfig;
  log(level: Level, mnemonic: string, text: string): void;
  /** takes down the IKE SAs whose peer certificate `check` refuses; what it took down */
  tearDown(check: PeerCertCheck): Array<{ remote: string; peerId?: string; reason: string }>;
  request?: (at: { host: string; port: number }, caPem: string) => Promise<EnrollAnswer>;
  now?: () => number;
}

/** a trustpoint whose CRL is fetched: its enrollment server and its CA certificate */
interface CrlSourceRef { trustpoint: string; at: { host: string; port: number }; caPem: string }

function sourcesOf(cfg: ApplianceConfig): CrlSourceRef[] {
  const out: CrlSourceRef[] = [];
  for (const t of cfg.crypto.pki?.trustpoints ?? []) {
    const at = enrollmentUrlOf(t);
    const ca = chainCerts(cfg.crypto.pki, t.name).find((c) => c.ca);
    if (at && ca) out.push({ trustpoint: t.name, at, caPem: new X509Certificate(Buffer.from(ca.der, 'hex')).toString() });
  }
  return out;
}

export class CrlFetcher {
  readonly store = new CrlStore();
  readonly counters = { fetched: 0, failed: 0, refused: 0, tornDown: 0 };
  private timer?: NodeJS.Timeout;
  private wait = RETRY_FIRST_MS;

  constructor(private readonly d: CrlFetchDeps) {}

  private now(): number { return this.d.now?.() ?? Date.now(); }

  /** IKE's hook: a peer certificate listed on a CRL held of its issuer is refused, counted. */
  readonly check: PeerCertCheck = (cert) => {
    const r = this.store.refusal(cert);
    if (r !== undefined) this.counters.refused++;
    return r;
  };

  start(): void { if (!this.timer) this.schedule(0); }
  stop(): void { clearTimeout(this.timer); this.timer = undefined; }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => { void this.poll().then((next) => { if (this.timer) this.schedule(next); }); }, ms);
    this.timer.unref?.();
  }

  /** One round over the trustpoints with an enrollment url; resolves with the wait before the next. */
  async poll(): Promise<number> {
    let next = FETCH_EVERY_MS, failed = false;
    for (const s of sourcesOf(this.d.config())) {
      const why = await this.fetchOne(s);
      const held = this.store.of(new X509Certificate(s.caPem));
      if (why) {
        failed = true;
        this.counters.failed++;
        const expired = held !== undefined && held.nextUpdate < this.now();
        const stale = expired ? `; the CRL held (number ${held.number}) is past its nextUpdate: it still refuses what it lists, other certificates of this CA are accepted` : held ? '' : '; no CRL held: certificates of this CA are not checked for revocation';
        this.d.log(expired ? 'warn' : 'error', 'CRL_FETCH_FAILED', `trustpoint ${s.trustpoint}: CRL not fetched from https://${s.at.host}:${s.at.port}: ${why}${stale}; retrying in ${Math.round(this.wait / 1000)} s`);
        continue;
      }
      if (held) next = Math.min(next, Math.max(RETRY_FIRST_MS, held.nextUpdate - this.now()));
    }
    if (!failed) { this.wait = RETRY_FIRST_MS; return next; }
    const w = this.wait;
    this.wait = Math.min(this.wait * 2, FETCH_EVERY_MS);
    return w;
  }

  /** Fetches, verifies and takes one trustpoint's CRL; why not, or undefined. */
  private async fetchOne(s: CrlSourceRef): Promise<string | undefined> {
    let a: EnrollAnswer;
    try { a = await (this.d.request ?? requestCrl)(s.at, s.caPem); } catch (e) { return e instanceof EnrollError ? e.message : String(e); }
    if (a.status === 'refused') return `hub refused: ${a.reason}: ${a.message}`;
    if (a.status !== 'crl') return `hub answered ${a.status}, not a CRL`;
    const c = await verifiedCrl(a.crl, s.caPem);
    if (typeof c === 'string') return c;
    const added = this.store.accept(c);
    if (typeof added === 'string') return added;
    this.counters.fetched++;
    if (!added.length) return undefined;
    this.d.log('notice', 'CRL', `trustpoint ${s.trustpoint}: CRL ${c.number} revokes ${added.length} more certificate(s): ${added.join(' ')}`);
    const gone = this.d.tearDown(this.check);
    this.counters.tornDown += gone.length;
    for (const g of gone) this.d.log('notice', 'CRL_TEARDOWN', `IKE SA with ${g.remote} (${g.peerId ?? 'no identity'}) taken down: ${g.reason}`);
    return undefined;
  }
}
