// The spoke's side of firmware push: it reports to the hub it is registered with (an NHS that
// answered, by its tunnel address, from our tunnel address: over the tunnel) and takes an update
// only from that hub's answer (report.ts). While idle the report is a long poll (the hub answers
// within 30 s, at once when a wave including us starts); while an update runs, every phase change
// and every 2 s. A told update goes through FirmwareService.update as a remote one: never forced,
// only to a newer version, never to one that rolled back here, the announced version checked
// against the signed manifest, and the bundle's signature is what authorises the code.
import http from 'node:http';
import { FIRMWARE_PORT, MAX_WAIT_S, STATUS_PATH, parseAnswer, type ReportPhase, type SpokeReport } from './report.js';
import type { FirmwareService } from './update.js';

export interface PushClientOptions {
  /** the NHS we are registered with (tunnel address) and our tunnel address, when registered */
  hub(): { address: string; local: string } | undefined;
  port?: number;
  log(level: 'info' | 'notice' | 'warn' | 'error', mnemonic: string, text: string): void;
  /** seconds the hub may hold an idle report (default 25) */
  waitS?: number;
}

/** A message as the report carries it: printable (the hub refuses control characters) and bounded. */
const printable = (m: string) => m.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, 400);

export class PushClient {
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private refusal?: { version: string; message: string };
  private failures = 0;
  readonly counters = { reports: 0, answers: 0, updatesTold: 0, refused: 0, errors: 0, badAnswers: 0 };

  constructor(private readonly fw: FirmwareService, private readonly o: PushClientOptions) {
    // phase changes go out at once (the one before the reboot is awaited by the updater, at most 5 s)
    fw.listen(async () => { const h = this.o.hub(); if (h) await this.post(h, 0).catch(() => undefined); });
  }

  start(): void { void this.loop(); }

  stop(): void { this.stopped = true; clearTimeout(this.timer); this.wake?.(); }

  private report(wait: number): SpokeReport {
    const v = this.fw.view();
    const phase: ReportPhase = v.trial ? 'trial' : v.job.phase;
    const r: SpokeReport = { v: 1, arch: v.arch, running: v.runningVersion, phase, wait };
    if (v.job.phase !== 'idle') {
      if (v.job.version) r.version = v.job.version;
      if (v.job.bytes !== undefined) r.bytes = v.job.bytes;
      if (v.job.total !== undefined) r.total = v.job.total;
    }
    if (v.last) r.last = { result: v.last.result, message: printable(v.last.message), at: v.last.at, ...(v.last.version ? { version: v.last.version } : {}) };
    if (this.refusal) r.refusal = this.refusal;
    return r;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const h = this.o.hub();
      let delay = 5000;
      if (h) {
        const busy = this.fw.view().job.phase !== 'idle' || !!this.fw.view().trial;
        try {
          await this.post(h, busy ? 0 : Math.min(this.o.waitS ?? 25, MAX_WAIT_S));
          this.failures = 0;
          delay = busy ? 2000 : 0;
        } catch (e) {
          this.counters.errors++;
          // a hub without a firmware server, or unreachable: back off to a minute
          delay = Math.min(60_000, 2000 * 2 ** Math.min(this.failures++, 5));
          if (this.failures === 1) this.o.log('info', 'PUSH', `report to ${h.address}: ${(e as Error).message}`);
        }
      }
      if (delay > 0 && !this.stopped) await new Promise<void>((r) => { this.wake = r; this.timer = setTimeout(r, delay); });
    }
  }

  /** One report to the hub; acts on the answer. */
  private post(h: { address: string; local: string }, wait: number): Promise<void> {
    const port = this.o.port ?? FIRMWARE_PORT;
    const body = Buffer.from(JSON.stringify(this.report(wait)));
    this.counters.reports++;
    return new Promise<void>((resolve, reject) => {
      const req = http.request({ host: h.address, port, path: STATUS_PATH, method: 'POST', localAddress: h.local,
        headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => { n += c.length; if (n > 4096) res.destroy(new Error('answer too long')); else chunks.push(c); });
        res.on('error', reject);
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString().trim().slice(0, 200)}`));
          this.counters.answers++;
          try { this.act(h, parseAnswer(Buffer.concat(chunks), h.address, port)); } catch (e) {
            this.counters.badAnswers++;
            this.o.log('warn', 'PUSH', `answer from ${h.address} refused: ${(e as Error).message}`);
          }
          resolve();
        });
      });
      req.setTimeout((wait + 15) * 1000, () => req.destroy(new Error('no answer')));
      req.on('error', reject);
      req.end(body);
    });
  }

  private act(h: { address: string; local: string }, a: ReturnType<typeof parseAnswer>): void {
    const u = a.update;
    if (!u) return; // parseAnswer checked its version and URL
    const job = this.fw.view().job;
    // told again while already on it (two reports crossed): not a refusal
    if (job.phase !== 'idle' && job.source === u.url && job.remote) return;
    this.counters.updatesTold++;
    this.refusal = undefined;
    const out = this.fw.update(u.url, false, { version: u.version, localAddress: h.local });
    if (out.startsWith('%')) {
      this.counters.refused++;
      this.refusal = { version: u.version, message: printable(out.replace(/^% /, '').trim()) };
      this.o.log('warn', 'PUSH', `push of ${u.version} from ${h.address} refused: ${this.refusal.message}`);
      this.wake?.(); // tell the hub now
    } else {
      this.o.log('notice', 'PUSH', `hub ${h.address} pushes version ${u.version}: updating from ${u.url}`);
    }
  }
}
