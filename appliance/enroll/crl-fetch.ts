// The spoke fetches the hub's CRL (crl.ts) from the enrollment server its trustpoint names (`enrollment
// url`) every FETCH_EVERY_MS and at the CRL's nextUpdate, backing off after a failure (RETRY_FIRST_MS,
// doubling up to FETCH_EVERY_MS). Only a CRL whose signature verifies with the trustpoint's CA is kept
// (crl-store.ts); IKE asks `check` (PeerCertCheck) about every peer certificate, and when a new CRL
// revokes a certificate, established IKE SAs are asked again and those it refuses are taken down
// (`tearDown`, as the hub's `clear dmvpn enrollment binding` does). The CRLs held are persisted and
// loaded again at start (crl-persist.ts), before the first fetch; `view` is `show crypto pki crls`.
import { X509Certificate } from 'node:crypto';
import type { ApplianceConfig } from '../config/model.js';
import { chainCerts, enrollmentUrlOf } from '../config/model-pki.js';
import { requestCrl, EnrollError } from './client.js';
import type { EnrollAnswer } from './codec.js';
import { CrlStore, verifiedCrl, type HeldCrl, type TrustpointCa } from './crl-store.js';
import { CrlPersistence, type CrlStorage } from './crl-persist.js';
import { crlView, type CrlView, type FetchResult, type IssuedCrlSource } from './crl-view.js';
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
  /** where the CRLs held are kept across restarts; without it, in memory only */
  storage?: CrlStorage;
}

/** a trustpoint whose CRL is fetched: its enrollment server and its CA certificate */
export interface CrlSourceRef extends TrustpointCa { at: { host: string; port: number } }

/** the trustpoints with a CA certificate: `at` their enrollment server (undefined: no CRL is fetched) */
export function trustpointCas(cfg: ApplianceConfig): Array<TrustpointCa & { at?: { host: string; port: number } }> {
  const out = [];
  for (const t of cfg.crypto.pki?.trustpoints ?? []) {
    const cert = chainCerts(cfg.crypto.pki, t.name).find((c) => c.ca);
    if (!cert) continue;
    const ca = new X509Certificate(Buffer.from(cert.der, 'hex'));
    out.push({ trustpoint: t.name, at: enrollmentUrlOf(t), ca, caPem: ca.toString() });
  }
  return out;
}

/** a trustpoint that fetches its CRL: one with an enrollment server */
const fetchesCrl = (t: TrustpointCa & { at?: CrlSourceRef['at'] }): t is CrlSourceRef => t.at !== undefined;
const sourcesOf = (cfg: ApplianceConfig): CrlSourceRef[] => trustpointCas(cfg).filter(fetchesCrl);

export class CrlFetcher {
  readonly store = new CrlStore();
  readonly counters = { fetched: 0, failed: 0, refused: 0, tornDown: 0 };
  readonly persisted: CrlPersistence;
  /** the last fetch of each trustpoint */
  readonly lastFetch = new Map<string, FetchResult>();
  /** when the next round is due (undefined: not scheduled, or `fetching`) */
  nextFetchAt?: number;
  /** a round is under way (a fetch waits for the hub up to the client's timeout) */
  fetching = false;
  private timer?: NodeJS.Timeout;
  private wait = RETRY_FIRST_MS;

  constructor(private readonly d: CrlFetchDeps) {
    this.persisted = new CrlPersistence(d.storage, d.log);
  }

  private now(): number { return this.d.now?.() ?? Date.now(); }

  /** `show crypto pki crls` (crl-view.ts); `issued`: on a hub, the CRL its enrollment server issues */
  view(issued?: IssuedCrlSource): CrlView {
    const p = this.persisted;
    return crlView(trustpointCas(this.d.config()), { store: this.store, lastFetch: this.lastFetch, nextFetchAt: this.nextFetchAt, fetching: this.fetching, storage: p.where,
      counters: { ...this.counters, ...p.counters } }, this.now(), issued);
  }

  /** IKE's hook: a peer certificate listed on a CRL held of its issuer is refused, counted. */
  readonly check: PeerCertCheck = (cert) => {
    const r = this.store.refusal(cert);
    if (r !== undefined) this.counters.refused++;
    return r;
  };

  /** Loads the stored CRLs, then fetches at once and on from then. */
  start(): void { if (!this.timer) this.schedule(0, true); }
  stop(): void { clearTimeout(this.timer); this.timer = undefined; this.nextFetchAt = undefined; this.fetching = false; }

  private schedule(ms: number, first = false): void {
    this.nextFetchAt = this.now() + ms;
    this.timer = setTimeout(() => {
      this.nextFetchAt = undefined;
      this.fetching = true;
      void (first ? this.load() : Promise.resolve()).then(() => this.poll()).then((next) => { this.fetching = false; if (this.timer) this.schedule(next); });
    }, ms);
    this.timer.unref?.();
  }

  /** The stored CRLs of the trustpoints that fetch one, verified as fetched ones are (crl-persist.ts);
   *  an IKE SA that came up before (IKE starts with the appliance) and one of them revokes is taken down. */
  async load(): Promise<void> {
    try {
      const taken = await this.persisted.load(sourcesOf(this.d.config()), this.store, this.now());
      if (taken.some((c) => c.serials.size > 0)) this.takeDown();
    } catch (e) {
      // a bug here must not stop the fetching that follows (nor the supervisor: an unhandled rejection)
      this.persisted.counters.storedRefused++;
      this.d.log('error', 'CRL_STORED_REFUSED', `the stored CRLs are not loaded: ${(e as Error).message}`);
    }
  }

  /** One round over the trustpoints with an enrollment url; resolves with the wait before the next. */
  async poll(): Promise<number> {
    let next = FETCH_EVERY_MS, failed = false;
    const cas = trustpointCas(this.d.config()), sources = cas.filter(fetchesCrl);
    // a CA no trustpoint holds any more: its CRL goes (a CA change of a trustpoint)
    this.store.retain(new Set(cas.map((t) => t.ca.raw.toString('hex'))));
    for (const s of sources) {
      const why = await this.fetchOne(s);
      this.lastFetch.set(s.trustpoint, { at: this.now(), ...(why ? { error: why } : {}) });
      const held = this.store.of(s.ca);
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
    this.persisted.sync(sources, (s) => this.store.of(s.ca), this.now());
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
    // the CRL held now (this one, or the same one held before) was fetched now
    const held: HeldCrl | undefined = this.store.of(c.ca);
    if (held) held.origin = { from: 'fetched', at: this.now() };
    if (!added.length) return undefined;
    this.d.log('notice', 'CRL', `trustpoint ${s.trustpoint}: CRL ${c.number} revokes ${added.length} more certificate(s): ${added.join(' ')}`);
    this.takeDown();
    return undefined;
  }

  /** Asks every IKE SA again and takes down those a CRL held refuses. */
  private takeDown(): void {
    const gone = this.d.tearDown(this.check);
    this.counters.tornDown += gone.length;
    for (const g of gone) this.d.log('notice', 'CRL_TEARDOWN', `IKE SA with ${g.remote} (${g.peerId ?? 'no identity'}) taken down: ${g.reason}`);
  }
}
