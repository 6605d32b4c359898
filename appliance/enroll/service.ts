// The enrollment server's logic, without sockets: one decoded request in, one answer out, and the
// records `show dmvpn enrollment` prints (admitted bindings, pending requests, recent refusals,
// counters). Requests are handled one at a time (a chain of promises), so two devices never get the
// same pool address and a one-time token admits one key. Order: the request's form, the token (no
// record is made for a request before its token passes, except a bounded refusal line), the CSR's
// proof of the device key, then the decision (decide.ts); an admission is written to the state file
// before the answer goes out, and nothing is written for a refusal. A renewal (no token: the TLS client
// certificate, renew-check.ts) gets a new certificate for its binding and changes no state.
import type { X509Certificate } from 'node:crypto';
import { certLifetimeMs, renewalGraceMs, type EnrollmentConfig } from '../config/model-enroll.js';
import { checkRenewal } from './renew-check.js';
import { checkToken } from './token.js';
import { decide, REASON_TEXT, type RefusalReason } from './decide.js';
import { decodeRequest, PROTOCOL_VERSION, type EnrollAnswer } from './codec.js';
import { provenKey, issueCertificate } from './issue.js';
import { deviceName } from './device-name.js';
import { spokeConfig } from './template.js';
import { bindingName, bindingOf, MAX_PENDING, type EnrollmentState } from './bindings.js';
import { decideRekey } from './rekey.js';
import { keyId } from './issue.js';
import { withIssued, revokedSerials } from './issued.js';
import { CrlSource } from './crl.js';
import type { IssuedCrlSource } from './crl-view.js';
import type { ServerCredentials } from './credentials.js';
import type { Level } from '../log/log.js';

/** a pending request whose device has not asked again for this long is forgotten (it asks every 5
 *  minutes at most while it waits) */
const PENDING_IDLE_MS = 3600_000;
/** refusals kept for `show dmvpn enrollment` (the newest) */
const MAX_REFUSALS = 32;

export interface Refusal { at: number; from: string; reason: RefusalReason | 'bad-request'; token?: string; key?: string; detail?: string }
export interface Pending { key: string; token: string; from: string; since: number; last: number; approved: boolean }

export interface ServiceDeps {
  config: () => EnrollmentConfig | undefined;
  credentials: () => ServerCredentials | string;
  /** the text of the template file `name` (relative to the startup-config's directory) */
  template: (name: string) => string;
  state: EnrollmentState;
  /** writes `state` durably (atomic file); throws on failure */
  save: (s: EnrollmentState) => void;
  /** where renewals go (the listener's address and port): written into the spoke's trustpoint as
   *  `enrollment url`; undefined (not listening) leaves the spoke without renewal */
  endpoint?: () => { address: string; port: number } | undefined;
  log: (level: Level, mnemonic: string, text: string) => void;
  now?: () => Date;
}

const newCounters = () => ({ requests: 0, admitted: 0, readmitted: 0, renewed: 0, recovered: 0, rekeyed: 0, beyondGrace: 0, crls: 0, pending: 0, refused: 0, badRequest: 0, tooLarge: 0, timeouts: 0, rateLimited: 0, busy: 0, tlsErrors: 0, internalErrors: 0 });

/** a key's short form in logs and shows (its SHA-256 prefix) */
export const shortKey = (k: string) => k.slice(0, 16);

export class EnrollmentService {
  readonly counters = newCounters();
  readonly refusals: Refusal[] = [];
  readonly pending = new Map<string, Pending>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly crls = new CrlSource();

  constructor(private readonly d: ServiceDeps) {
    // the requests that waited for approval when the hub last saved its state (a restart keeps them);
    // the Map is the truth from here on, written with every save
    for (const p of d.state.pending ?? []) {
      if (bindingOf(d.state, p.key) || d.state.revoked?.includes(p.key)) continue;
      // (its device has PENDING_IDLE_MS from now to ask again before it is forgotten)
      this.pending.set(p.key, { ...p, last: this.now().getTime(), approved: d.state.approved?.includes(p.key) ?? false });
    }
    delete d.state.pending;
  }

  /** Saves `next` with the requests that wait for approval now (those not bound or revoked in it). */
  private save(next: EnrollmentState): void {
    const pending = [...this.pending.values()].filter((p) => !bindingOf(next, p.key) && !next.revoked?.includes(p.key))
      .map(({ key, token, from, since }) => ({ key, token, from, since }));
    const { pending: _old, ...rest } = next;
    this.d.save(pending.length ? { ...rest, pending } : rest);
  }

  private now(): Date { return this.d.now?.() ?? new Date(); }

  get state(): EnrollmentState { return this.d.state; }

  /** The answer to one request body from `from` (the peer's address) that presented TLS client
   *  certificate `peer` (if any), in arrival order; `binder`: the TLS session's exported value a new
   *  key's proof signs (key-proof.ts). */
  handle(body: Buffer, from: string, peer?: X509Certificate, binder?: Buffer): Promise<EnrollAnswer> {
    const r = this.queue.then(() => this.handleOne(body, from, peer, binder));
    this.queue = r.catch(() => undefined);
    return r;
  }

  /** `dmvpn enrollment approve KEY` (a key prefix of at least 8 hex digits): the message for the operator. */
  approve(prefix: string): string {
    const p = prefix.toLowerCase();
    if (!/^[0-9a-f]{8,64}$/.test(p)) return '% a device key: at least 8 hexadecimal digits of its SHA-256 (show dmvpn enrollment)\n';
    const hits = [...this.pending.values()].filter((x) => x.key.startsWith(p));
    if (hits.length !== 1) return `% ${hits.length ? 'more than one' : 'no'} pending request for device key ${p}\n`;
    const next = { ...this.d.state, approved: [...new Set([...(this.d.state.approved ?? []), hits[0].key])] };
    try { this.save(next); } catch (e) { return `% not saved: ${(e as Error).message}\n`; }
    this.d.state.approved = next.approved;
    hits[0].approved = true;
    this.d.log('notice', 'APPROVED', `device key ${shortKey(hits[0].key)} (token ${hits[0].token}) approved: admitted at its next attempt`);
    return `% device key ${shortKey(hits[0].key)} approved\n`;
  }

  /** `clear dmvpn enrollment binding KEY`: frees the device key's address (and a one-time token it used
   *  stays used: the token admitted someone). Saved before it takes effect. */
  unbind(prefix: string): string {
    const p = prefix.toLowerCase();
    if (!/^[0-9a-f]{8,64}$/.test(p)) return '% a device key: at least 8 hexadecimal digits of its SHA-256 (show dmvpn enrollment)\n';
    const hits = this.d.state.bindings.filter((b) => b.key.startsWith(p));
    if (hits.length !== 1) return `% ${hits.length ? 'more than one' : 'no'} binding for device key ${p}\n`;
    const next = { ...this.d.state, bindings: this.d.state.bindings.filter((b) => b !== hits[0]) };
    try { this.save(next); } catch (e) { return `% not saved: ${(e as Error).message}\n`; }
    this.d.state.bindings = next.bindings;
    this.d.log('notice', 'UNBOUND', `device key ${shortKey(hits[0].key)} released ${hits[0].address} (token ${hits[0].token})`);
    return `% device key ${shortKey(hits[0].key)} released ${hits[0].address}\n`;
  }

  /** `dmvpn enrollment revoke KEY`: the device key loses its binding (if it has one) and is refused from
   *  now on, whatever token it presents (a stolen box keeps its provisioning file and token). Saved
   *  before it takes effect. `undo` (`clear dmvpn enrollment revoked KEY`) lets it enroll again. */
  revoke(prefix: string, undo = false): string {
    const p = prefix.toLowerCase();
    if (!/^[0-9a-f]{8,64}$/.test(p)) return '% a device key: at least 8 hexadecimal digits of its SHA-256 (show dmvpn enrollment)\n';
    const revoked = this.d.state.revoked ?? [];
    const known = undo ? revoked : [...new Set([...this.d.state.bindings.flatMap((b) => (b.previous ? [b.key, b.previous] : [b.key])), ...this.pending.keys(), ...this.refusals.flatMap((r) => (r.key ? [r.key] : []))])];
    const hits = known.filter((k) => k.startsWith(p));
    if (hits.length !== 1) return `% ${hits.length ? 'more than one' : 'no'} ${undo ? 'revoked device key' : 'device key (bound, pending or refused)'} ${p}\n`;
    const key = hits[0];
    if (!undo && revoked.includes(key)) return `% device key ${shortKey(key)} is already revoked\n`;
    const bound = bindingOf(this.d.state, key);
    const nextRevoked = undo ? revoked.filter((k) => k !== key) : [...revoked, key];
    const next: EnrollmentState = { ...this.d.state, bindings: this.d.state.bindings.filter((b) => b.key !== key), ...(nextRevoked.length ? { revoked: nextRevoked } : {}) };
    if (!nextRevoked.length) delete next.revoked;
    try { this.save(next); } catch (e) { return `% not saved: ${(e as Error).message}\n`; }
    this.d.state.bindings = next.bindings;
    if (next.revoked) this.d.state.revoked = next.revoked; else delete this.d.state.revoked;
    this.pending.delete(key);
    const what = undo ? 'may enroll again' : `revoked${bound ? `, ${bound.address} released` : ''}`;
    this.d.log('notice', undo ? 'UNREVOKED' : 'REVOKED', `device key ${shortKey(key)} ${what}`);
    return `% device key ${shortKey(key)} ${what}\n`;
  }

  private refuse(from: string, reason: Refusal['reason'], extra: Omit<Refusal, 'at' | 'from' | 'reason'> = {}): EnrollAnswer {
    this.counters.refused++;
    this.refusals.push({ at: this.now().getTime(), from, reason, ...extra });
    if (this.refusals.length > MAX_REFUSALS) this.refusals.shift();
    const message = reason === 'bad-request' ? `bad request: ${extra.detail}` : `${REASON_TEXT[reason]}${extra.detail ? ` (${extra.detail})` : ''}`;
    this.d.log('warn', 'REFUSED', `enrollment from ${from} refused: ${reason}: ${message}${extra.key ? `; device key ${shortKey(extra.key)}` : ''}${extra.token ? `; token ${extra.token}` : ''}`);
    return { v: PROTOCOL_VERSION, status: 'refused', reason, message };
  }

  private async handleOne(body: Buffer, from: string, peer?: X509Certificate, binder?: Buffer): Promise<EnrollAnswer> {
    this.counters.requests++;
    const cfg = this.d.config();
    const req = decodeRequest(body);
    if (typeof req === 'string') { this.counters.badRequest++; return this.refuse(from, 'bad-request', { detail: req }); }
    if (!cfg) return this.refuse(from, 'not-ready', { detail: 'no dmvpn enrollment' });
    const now = this.now();
    if ('renew' in req) return this.renew(cfg, from, peer, now, req.newKey, binder);
    if ('crl' in req) return this.crl(from, now);
    // the token before anything costs CPU or is remembered
    const tc = checkToken(cfg.tokens, req.token, req.secret, now);
    if (!tc.ok) return this.refuse(from, tc.reason, { token: req.token });
    const proven = await provenKey(req.csr);
    if (typeof proven === 'string') { this.counters.badRequest++; return this.refuse(from, 'bad-request', { detail: proven, token: req.token }); }
    const creds = this.d.credentials();
    if (typeof creds === 'string') return this.refuse(from, 'not-ready', { detail: creds });
    const dec = decide(cfg, this.d.state, { token: tc.token, key: proven.key }, new Set(this.d.state.approved));
    if (dec.kind === 'refused') return this.refuse(from, dec.reason, { token: req.token, key: proven.key, detail: dec.detail });
    if (dec.kind === 'pending') return this.hold(proven.key, req.token, from, now);
    let config: string, certificate: string;
    // the device's name and tunnel address, both the hub's choice: nothing the request says goes in
    const bound = bindingOf(this.d.state, proven.key);
    const name = bound ? bindingName(bound) : deviceName(dec.hostname, proven.key);
    try {
      if (!cfg.template) throw new Error('no template (dmvpn enrollment: template FILE)');
      certificate = await issueCertificate({ caCertPem: creds.caCert, caKeyPem: creds.caKey, spki: proven.spki, names: [name], addresses: [dec.address], hostname: dec.hostname, now, lifetimeMs: certLifetimeMs(cfg) });
      const at = this.d.endpoint?.();
      config = spokeConfig(this.d.template(cfg.template), { ...dec, name }, certificate, creds.caCert, at && { ...at, regenerate: cfg.renewalRegenerate });
    } catch (e) {
      return this.refuse(from, 'not-ready', { token: req.token, key: proven.key, detail: (e as Error).message });
    }
    // recorded before the answer goes out, so that a revocation lists every certificate handed out since
    const issued = withIssued(this.d.state, proven.key, certificate, now);
    if (dec.again) {
      try { this.save({ ...this.d.state, issued }); } catch (e) {
        this.counters.internalErrors++;
        return this.refuse(from, 'not-ready', { token: req.token, key: proven.key, detail: `state not saved: ${(e as Error).message}` });
      }
      this.d.state.issued = issued;
    }
    if (!dec.again) {
      const approved = (this.d.state.approved ?? []).filter((k) => k !== proven.key);
      const next: EnrollmentState = {
        bindings: [...this.d.state.bindings, { key: proven.key, address: dec.address, hostname: dec.hostname, token: dec.token, admitted: now.toISOString() }],
        usedTokens: tc.token.oneTime ? { ...this.d.state.usedTokens, [dec.token]: proven.key } : this.d.state.usedTokens,
        ...(approved.length ? { approved } : {}),
        ...(this.d.state.revoked ? { revoked: this.d.state.revoked } : {}),
        issued,
      };
      try { this.save(next); } catch (e) {
        this.counters.internalErrors++;
        return this.refuse(from, 'not-ready', { token: req.token, key: proven.key, detail: `state not saved: ${(e as Error).message}` });
      }
      Object.assign(this.d.state, next);
      if (!next.approved) delete this.d.state.approved;
      this.counters.admitted++;
    } else this.counters.readmitted++;
    this.pending.delete(proven.key);
    this.d.log('notice', 'ADMITTED', `device key ${shortKey(proven.key)} from ${from} ${dec.again ? 're-enrolled' : 'admitted'} as ${dec.hostname} ${dec.address}, IKE identity ${name} (token ${dec.token})`);
    return { v: PROTOCOL_VERSION, status: 'admitted', address: dec.address, hostname: dec.hostname, config, certificate, ca: creds.caCert, time: this.now().getTime() };
  }

  /** A renewal: a new certificate for the binding of the key the client certificate proved; with
   *  `newKey`, for that key, the binding moved to it (rekey.ts) and saved before the answer goes out. */
  private async renew(cfg: EnrollmentConfig, from: string, peer: X509Certificate | undefined, now: Date, newKey?: { spki: Buffer; proof: Buffer }, binder?: Buffer): Promise<EnrollAnswer> {
    const creds = this.d.credentials();
    if (typeof creds === 'string') return this.refuse(from, 'not-ready', { detail: creds });
    const c = checkRenewal(peer, creds.caCert, this.d.state, now, renewalGraceMs(cfg), newKey && keyId(newKey.spki));
    if (!c.ok) {
      if (c.reason === 'expired-beyond-grace') this.counters.beyondGrace++;
      return this.refuse(from, c.reason, { key: c.key, detail: c.detail });
    }
    const b = c.binding;
    let spki = c.spki, key = c.key, next: EnrollmentState | undefined;
    if (newKey) {
      const d = decideRekey(this.d.state, c, newKey, binder);
      if (!d.ok) {
        if (d.reason === 'bad-request') this.counters.badRequest++;
        return this.refuse(from, d.reason, { key: c.key, detail: d.detail });
      }
      ({ spki, key, next } = d);
    }
    let certificate: string;
    try {
      certificate = await issueCertificate({ caCertPem: creds.caCert, caKeyPem: creds.caKey, spki, names: [bindingName(b)], addresses: [b.address], hostname: b.hostname, now, lifetimeMs: certLifetimeMs(cfg) });
    } catch (e) {
      return this.refuse(from, 'not-ready', { key: c.key, detail: (e as Error).message });
    }
    // the binding moved (a new key) and the certificate recorded (issued.ts), saved before the answer goes out
    const saved: EnrollmentState = { ...(next ?? this.d.state), issued: withIssued(this.d.state, key, certificate, now) };
    try { this.save(saved); } catch (e) {
      this.counters.internalErrors++;
      return this.refuse(from, 'not-ready', { key: c.key, detail: `state not saved: ${(e as Error).message}` });
    }
    this.d.state.bindings = saved.bindings;
    this.d.state.usedTokens = saved.usedTokens;
    this.d.state.issued = saved.issued;
    this.counters.renewed++;
    if (c.expiredMs > 0) this.counters.recovered++;
    if (newKey) this.counters.rekeyed++;
    const late = c.expiredMs > 0 ? ` (it had expired ${Math.round(c.expiredMs / 1000)} s ago: within the renewal grace)` : '';
    const rekey = !newKey ? '' : next ? `; its key replaced by device key ${shortKey(key)} (the old one no longer bound)` : `; for its new device key ${shortKey(key)} again (the answer of its key change lost?)`;
    this.d.log('notice', 'RENEWED', `device key ${shortKey(c.key)} from ${from}: certificate of ${b.hostname} ${b.address} renewed${late}${rekey}`);
    return { v: PROTOCOL_VERSION, status: 'renewed', certificate, ca: creds.caCert, time: this.now().getTime() };
  }

  /** What `show crypto pki crls` shows of the CRL this server issues (undefined: it cannot serve). */
  issuedCrl(): IssuedCrlSource | undefined {
    const creds = this.d.credentials();
    if (typeof creds === 'string') return undefined;
    return { caPem: creds.caCert, last: this.crls.issued(), revokedNow: revokedSerials(this.d.state, this.now()), served: this.counters.crls };
  }

  /** The current CRL of the enrollment CA: the certificates issued to revoked keys (crl.ts). */
  private async crl(from: string, now: Date): Promise<EnrollAnswer> {
    const creds = this.d.credentials();
    if (typeof creds === 'string') return this.refuse(from, 'not-ready', { detail: creds });
    let crl: string;
    try { crl = await this.crls.current(creds.caCert, creds.caKey, revokedSerials(this.d.state, now), now); } catch (e) {
      return this.refuse(from, 'not-ready', { detail: (e as Error).message });
    }
    this.counters.crls++;
    return { v: PROTOCOL_VERSION, status: 'crl', crl };
  }

  private hold(key: string, token: string, from: string, now: Date): EnrollAnswer {
    // a device that stopped asking (a box sent back, a wrong one) must not hold a slot for ever
    for (const [k, q] of this.pending) if (now.getTime() - q.last > PENDING_IDLE_MS) {
      this.pending.delete(k);
      this.d.log('info', 'PENDING', `device key ${shortKey(k)} (token ${q.token}) forgotten: it has not asked for ${PENDING_IDLE_MS / 60_000} minutes`);
    }
    const p = this.pending.get(key);
    if (p) { p.last = now.getTime(); p.from = from; }
    else {
      if (this.pending.size >= MAX_PENDING) return this.refuse(from, 'not-ready', { token, key, detail: `${MAX_PENDING} requests already wait for approval` });
      this.pending.set(key, { key, token, from, since: now.getTime(), last: now.getTime(), approved: false });
      this.d.log('notice', 'PENDING', `device key ${shortKey(key)} from ${from} (token ${token}) waits for approval: dmvpn enrollment approve ${shortKey(key)}`);
      // saved so that a hub restart keeps it; a failed save loses only that (it still waits here)
      try { this.save(this.d.state); } catch (e) { this.d.log('error', 'STATE', `pending request of ${shortKey(key)} not saved: ${(e as Error).message}`); }
    }
    this.counters.pending++;
    return { v: PROTOCOL_VERSION, status: 'pending', message: 'waiting for the operator\'s approval' };
  }
}
