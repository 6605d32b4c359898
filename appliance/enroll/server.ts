// The hub's enrollment server as the running box has it: the service (service.ts) over its state file,
// and the TLS listener, started, moved or stopped as the running config and key store change (checked
// every few seconds, as the time services read the config on every use: no apply step is needed). When
// it cannot listen, why is kept for `show dmvpn enrollment` and logged once per change.
import type { CryptoConfig } from '../config/model.js';
import { ENROLL_PORT, RENEWAL_GRACE_DAYS, type EnrollmentConfig } from '../config/model-enroll.js';
import type { KeyLookup } from '../ike/pki/trustpoint.js';
import { ServerCredentialsCache, type ServerCredentials } from './credentials.js';
import { EnrollmentService, type ServiceDeps } from './service.js';
import { EnrollmentListener, DEFAULT_LIMITS, type ListenerLimits } from './listener.js';
import { enrollmentCas, unenrolledReason } from './revocation.js';
import type { X509Certificate } from 'node:crypto';

export interface ServerOptions extends Omit<ServiceDeps, 'config' | 'credentials'> {
  running: () => { enrollment?: EnrollmentConfig; crypto: CryptoConfig };
  keys: () => KeyLookup | undefined;
  /** the address to listen on: the tunnel's source (NBMA) address, the Internet-facing one; undefined
   *  while there is none (the listener waits for it) */
  address: () => string | undefined;
  limits?: ListenerLimits;
  /** how often the config is looked at, ms */
  everyMs?: number;
}

export class EnrollmentServer {
  readonly service: EnrollmentService;
  private listener?: EnrollmentListener;
  private listening?: { key: string; address: string; port: number; pin: string };
  private notListening = 'not configured (dmvpn enrollment)';
  private timer?: NodeJS.Timeout;
  private syncing = false;
  /** the credentials as last computed: parsed again only when the config or key store changed */
  private readonly creds = new ServerCredentialsCache();
  /** IKE peers refused as not enrolled (ikeCertCheck), and SAs taken down when their binding went */
  readonly ike = { refused: 0, tornDown: 0 };
  /** the enrollment CA as revocation.ts last computed it, and from what */
  private cas?: { inputs: unknown[]; value: X509Certificate[] };

  constructor(private readonly o: ServerOptions) {
    this.service = new EnrollmentService({
      ...o, config: () => o.running().enrollment, credentials: () => this.credentials(),
      endpoint: () => this.listening && { address: this.listening.address, port: this.listening.port },
    });
  }

  private credentials(): ServerCredentials | string {
    const r = this.o.running();
    return r.enrollment ? this.creds.get(r.enrollment, r.crypto, this.o.keys()) : 'not configured (dmvpn enrollment)';
  }

  start(): void {
    void this.sync();
    this.timer = setInterval(() => void this.sync(), this.o.everyMs ?? 2000);
    this.timer.unref();
  }

  stop(): void { clearInterval(this.timer); this.listener?.close(); this.listener = undefined; this.listening = undefined; }

  /** Listens as the config says, if it can; restarts the listener when its port or identity changed. */
  async sync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const e = this.o.running().enrollment;
      const creds = this.credentials();
      const port = e?.port ?? ENROLL_PORT;
      const address = this.o.address();
      const key = typeof creds === 'string' || !address ? '' : `${address}|${port}|${creds.tlsCert}`; // the certificate changes with the key (the trustpoint checks they match)
      if (this.listening?.key === key) return;
      this.listener?.close();
      this.listener = undefined;
      this.listening = undefined;
      if (typeof creds === 'string') {
        if (creds !== this.notListening) this.o.log(e ? 'warn' : 'info', 'NOT_LISTENING', `enrollment server not listening: ${creds}`);
        this.notListening = creds;
        return;
      }
      if (!address) {
        const why = 'no tunnel source address yet';
        if (why !== this.notListening) this.o.log('warn', 'NOT_LISTENING', `enrollment server not listening: ${why}`);
        this.notListening = why;
        return;
      }
      const l = new EnrollmentListener(this.service, this.o.limits ?? DEFAULT_LIMITS);
      try {
        await l.listen(creds, port, address);
      } catch (err) {
        const why = `${address} port ${port}: ${(err as Error).message}`;
        if (why !== this.notListening) this.o.log('error', 'NOT_LISTENING', `enrollment server not listening: ${why}`);
        this.notListening = why;
        return;
      }
      this.listener = l;
      this.listening = { key, address, port, pin: creds.pin };
      this.o.log('notice', 'LISTENING', `enrollment server listening on ${address} TCP ${port} (TLS 1.3; hub key pin ${creds.pin})`);
    } finally { this.syncing = false; }
  }

  approve(prefix: string): string { return this.service.approve(prefix); }

  /** Why IKE must refuse peer certificate `cert` now (revocation.ts); uncounted, for asking again about
   *  established SAs. */
  readonly refusal = (cert: X509Certificate): string | undefined => unenrolledReason(cert, this.enrollmentCas(), this.service.state);

  /** The hook IKE asks at every IKE_AUTH (Appliance.certAccepted): the refusal, counted. */
  readonly ikeCertCheck = (cert: X509Certificate): string | undefined => {
    const r = this.refusal(cert);
    if (r !== undefined) this.ike.refused++;
    return r;
  };

  /** `n` IKE SAs were taken down because `refusal` refused them (`clear dmvpn enrollment binding`). */
  tornDown(n: number): void { this.ike.tornDown += n; }

  /** the CA certificates revocation applies to, parsed again only when the config or credentials changed */
  private enrollmentCas(): X509Certificate[] {
    const r = this.o.running(), creds = this.credentials();
    const inputs = [r.enrollment, r.crypto, creds];
    if (!this.cas || inputs.some((x, i) => x !== this.cas!.inputs[i])) this.cas = { inputs, value: enrollmentCas(r.enrollment, r.crypto, creds) };
    return this.cas.value;
  }

  /** what `show dmvpn enrollment` prints */
  view() {
    const s = this.service;
    const e = this.o.running().enrollment;
    return {
      listening: this.listening ? { address: this.listening.address, port: this.listening.port, pin: this.listening.pin } : undefined,
      notListening: this.listening ? undefined : this.notListening,
      approval: e?.manual ? 'manual' as const : 'auto' as const,
      pool: e?.pool,
      renewalGraceDays: e?.renewalGraceDays ?? RENEWAL_GRACE_DAYS,
      renewalRegenerate: !!e?.renewalRegenerate,
      counters: { ...s.counters },
      ike: { ...this.ike },
      admitted: s.state.bindings.map((b) => ({ ...b })),
      revoked: [...(s.state.revoked ?? [])],
      pending: [...s.pending.values()].map((p) => ({ ...p })),
      refused: s.refusals.map((r) => ({ ...r })),
    };
  }
}

export type EnrollmentView = ReturnType<EnrollmentServer['view']>;
