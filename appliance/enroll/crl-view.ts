// What `show crypto pki crls` shows of the spoke's CRLs (show/crypto-pki-crls.ts formats it): for each
// trustpoint with a CA certificate, the CRL held of that CA (issuer, number, validity, the serials it
// revokes, whether it was fetched or loaded from storage), its last fetch and the next; the counters.
import type { CrlStore, CrlOrigin, TrustpointCa } from './crl-store.js';

/** the last fetch of a trustpoint's CRL: when, and why it failed (undefined: it succeeded) */
export interface FetchResult { at: number; error?: string }

export interface HeldCrlView {
  issuer: string;
  /** decimal (a cRLNumber may be 20 octets: no JSON number) */
  number: string;
  thisUpdate: number;
  nextUpdate: number;
  /** past its nextUpdate: it still refuses what it lists (docs/enrollment.md "The CRL") */
  expired: boolean;
  serials: string[];
  origin?: CrlOrigin;
}

export interface CrlTrustpointView {
  trustpoint: string;
  /** the enrollment server it is fetched from (`https://A:P`); undefined: no `enrollment url`, not fetched */
  url?: string;
  crl?: HeldCrlView;
  lastFetch?: FetchResult;
}

export interface CrlView {
  trustpoints: CrlTrustpointView[];
  /** when the next fetch round is due (undefined: none scheduled, or one under way) */
  nextFetch?: number;
  /** a fetch round is under way */
  fetching: boolean;
  /** where the CRLs are persisted (undefined: in memory only) */
  storage?: string;
  counters: { fetched: number; failed: number; refused: number; tornDown: number; loaded: number; storedRefused: number; writeFailed: number };
}

/** what crlView reads of the fetcher */
export interface CrlViewSource {
  store: CrlStore;
  lastFetch: ReadonlyMap<string, FetchResult>;
  nextFetchAt?: number;
  fetching: boolean;
  storage?: string;
  counters: CrlView['counters'];
}

export function crlView(trustpoints: ReadonlyArray<TrustpointCa & { at?: { host: string; port: number } }>, f: CrlViewSource, now: number): CrlView {
  return {
    trustpoints: trustpoints.map((t) => {
      const c = f.store.of(t.ca);
      return {
        trustpoint: t.trustpoint,
        ...(t.at ? { url: `https://${t.at.host}:${t.at.port}` } : {}),
        ...(c ? { crl: { issuer: c.issuer, number: c.number.toString(), thisUpdate: c.thisUpdate, nextUpdate: c.nextUpdate, expired: c.nextUpdate < now, serials: [...c.serials].sort(), ...(c.origin ? { origin: c.origin } : {}) } } : {}),
        ...(f.lastFetch.has(t.trustpoint) ? { lastFetch: f.lastFetch.get(t.trustpoint) } : {}),
      };
    }),
    ...(f.nextFetchAt !== undefined ? { nextFetch: f.nextFetchAt } : {}),
    fetching: f.fetching,
    ...(f.storage ? { storage: f.storage } : {}),
    counters: f.counters,
  };
}
