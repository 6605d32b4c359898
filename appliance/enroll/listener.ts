// The enrollment listener on the hub's Internet-facing address: TLS 1.3 with the hub's trustpoint
// certificate and key (spokes pin that key), one request and one answer per connection. What a
// hostile host can make it spend is bounded: connections per source address per minute and in all
// (refused before the TLS handshake), connections at once, the handshake and the whole exchange in
// time, the request in bytes (checked from its length prefix). Nothing is logged of a request's
// content: no secret, no key.
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { FrameReader, frame, MAX_REQUEST, PROTOCOL_VERSION } from './codec.js';
import type { EnrollmentService } from './service.js';
import type { ServerCredentials } from './credentials.js';
import { sessionBinder } from './key-proof.js';

export interface ListenerLimits {
  /** connections accepted from one address per minute */
  perSourcePerMinute: number;
  /** connections accepted from all addresses per minute */
  perMinute: number;
  /** connections open at once */
  concurrent: number;
  /** TLS handshake, then the whole exchange, in ms */
  handshakeMs: number;
  exchangeMs: number;
}

export const DEFAULT_LIMITS: ListenerLimits = { perSourcePerMinute: 12, perMinute: 240, concurrent: 16, handshakeMs: 10_000, exchangeMs: 20_000 };
/** source addresses remembered for the per-source limit; beyond it the window starts afresh */
const MAX_SOURCES = 4096;

export class EnrollmentListener {
  private server?: tls.Server;
  private window = { start: 0, total: 0, bySource: new Map<string, number>() };

  constructor(private readonly service: EnrollmentService, private readonly limits: ListenerLimits = DEFAULT_LIMITS) {}

  /** Listens on `host:port` with `creds`; resolves with the bound port. */
  listen(creds: ServerCredentials, port: number, host = '0.0.0.0'): Promise<number> {
    const c = this.service.counters;
    // a client certificate is asked for, not required: a factory box has none (its token is its
    // credential); a renewal presents the certificate it holds, which the service checks itself
    // (renew-check.ts), so the TLS layer does not judge it (rejectUnauthorized false)
    const server = tls.createServer({ key: creds.tlsKey, cert: creds.tlsCert, minVersion: 'TLSv1.3', handshakeTimeout: this.limits.handshakeMs, requestCert: true, rejectUnauthorized: false });
    server.maxConnections = this.limits.concurrent;
    server.on('connection', (raw) => {
      if (!this.admit(raw.remoteAddress ?? '?')) { c.rateLimited++; raw.destroy(); }
    });
    server.on('drop', () => { c.busy++; });
    server.on('tlsClientError', () => { c.tlsErrors++; });
    server.on('secureConnection', (sock) => this.serve(sock));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.off('error', reject); resolve((server.address() as AddressInfo).port); });
    });
  }

  close(): void { this.server?.close(); this.server = undefined; }

  private admit(from: string): boolean {
    const now = Date.now();
    const w = this.window;
    if (now - w.start >= 60_000 || w.bySource.size >= MAX_SOURCES) { w.start = now; w.total = 0; w.bySource.clear(); }
    const n = (w.bySource.get(from) ?? 0) + 1;
    if (n > this.limits.perSourcePerMinute || w.total >= this.limits.perMinute) return false;
    w.bySource.set(from, n);
    w.total++;
    return true;
  }

  private serve(sock: tls.TLSSocket): void {
    const c = this.service.counters;
    const from = sock.remoteAddress ?? '?';
    const reader = new FrameReader(MAX_REQUEST);
    let done = false;
    const timer = setTimeout(() => { if (!done) { done = true; c.timeouts++; sock.destroy(); } }, this.limits.exchangeMs);
    const finish = (answer: object) => { if (sock.writable) sock.end(frame(answer)); clearTimeout(timer); };
    sock.on('error', () => undefined);
    sock.on('close', () => clearTimeout(timer));
    sock.on('data', (b: Buffer) => {
      if (done) return;
      const r = reader.push(b);
      if (r.error) {
        done = true;
        c.tooLarge++;
        finish({ v: PROTOCOL_VERSION, status: 'refused', reason: 'bad-request', message: `bad request: ${r.error}` });
        return;
      }
      if (!r.body) return;
      done = true;
      sock.pause();
      this.service.handle(r.body, from, sock.getPeerX509Certificate(), sessionBinder(sock)).then(finish, () => {
        c.internalErrors++;
        finish({ v: PROTOCOL_VERSION, status: 'refused', reason: 'not-ready', message: 'internal error' });
      });
    });
  }
}
