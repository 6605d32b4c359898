// What `show crypto pki crls` shows of the spoke's CRLs (show/crypto-pki-crls.ts formats it): for each
// trustpoint with a CA certificate, the CRL held of that CA (issuer, number, validity, the serials it
// revokes, whether it was fetched or loaded from storage), its last fetch and the next; the counters.
// On a hub, the trustpoint whose CA is the enrollment CA shows the CRL this box issues (crl.ts) instead:
// it is not fetched, it is made here and served to the spokes.
import { X509Certificate } from 'node:crypto';
import { normSerial, type CrlStore, type CrlOrigin, type TrustpointCa } from './crl-store.js';
import type { IssuedCrl } from './crl.js';

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

/** the enrollment server's CRL, as service.ts gives it */
export interface IssuedCrlSource { caPem: string; last?: IssuedCrl; revokedNow: string[]; served: number }

/** a CRL this box issues as its enrollment CA: the last made (if any), what the next would list, how
 *  often one was served to a spoke */
export interface IssuedHereView {
  crl?: { issuer: string; number: string; thisUpdate: number; nextUpdate: number; expired: boolean; serials: string[] };
  revokedNow: string[];
  served: number;
}

export interface CrlTrustpointView {
  trustpoint: string;
  /** this trustpoint's CA is this box's enrollment CA: its CRL is issued here, not fetched */
  issuedHere?: IssuedHereView;
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

export function crlView(trustpoints: ReadonlyArray<TrustpointCa & { at?: { host: string; port: number } }>, f: CrlViewSource, now: number, issued?: IssuedCrlSource): CrlView {
  const ownCa = issued && new X509Certificate(issued.caPem).raw;
  return {
    trustpoints: trustpoints.map((t) => {
      if (ownCa && issued && t.ca.raw.equals(ownCa)) return { trustpoint: t.trustpoint, issuedHere: issuedView(issued, now) };
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

function issuedView(i: IssuedCrlSource, now: number): IssuedHereView {
  const l = i.last;
  return {
    ...(l ? { crl: { issuer: l.issuer, number: l.number.toString(), thisUpdate: l.thisUpdate, nextUpdate: l.nextUpdate, expired: l.nextUpdate < now, serials: l.serials.map(normSerial).sort() } } : {}),
    revokedNow: i.revokedNow.map(normSerial).sort(),
    served: i.served,
  };
}
