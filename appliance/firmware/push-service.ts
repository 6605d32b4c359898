// The hub's side of firmware push, put together: the bundles of the serve directory (heads verified
// with the image's key, so only signed bundles are offered), the server on the tunnel address
// (serve.ts; bound again when the address changes), and the push (push.ts). What it needs of the
// appliance (the tunnel address, the registered NHRP peers) comes as functions: this layer sees no
// NHRP or config module.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { checkSignature, readHeadOf } from './verify.js';
import { FirmwareServer, newServeCounters } from './serve.js';
import { PushController, type PushBundle, type PushOptions } from './push.js';
import { BUNDLE_NAME, BUNDLE_PATH, parseReport } from './report.js';
import { fetchBundle } from './fetch.js';
import { ipToU32 } from '../net/ipv4.js';

export interface PushServiceOptions {
  /** the bundles served (/data/firmware/serve on the box) */
  dir: string;
  port: number;
  publicKeyPem: string;
  /** the tunnel's address now, if any */
  tunnelAddress(): string | undefined;
  /** tunnel addresses of the spokes registered with us now */
  registeredPeers(): string[];
  rate?: number;
  waveTimeoutMs?: number;
  /** where a push is kept across restarts of the supervisor (push.ts, push-store.ts) */
  store?: PushOptions['store'];
  log(level: 'info' | 'notice' | 'warn' | 'error', mnemonic: string, text: string): void;
}

/** The bundles of `dir` whose manifest signature verifies with `publicKeyPem`. */
export function servedBundles(dir: string, publicKeyPem: string): Array<PushBundle & { size: number }> {
  const key = crypto.createPublicKey(publicKeyPem);
  const out: Array<PushBundle & { size: number }> = [];
  let names: string[] = [];
  try { names = fs.readdirSync(dir).filter((n) => BUNDLE_NAME.test(n)).sort(); } catch { return out; }
  for (const name of names) {
    try {
      const { head, size } = readHeadOf(path.join(dir, name));
      checkSignature(head, key);
      out.push({ name, version: head.manifest.version, arch: head.manifest.arch, size });
    } catch { /* not a bundle, or not signed with our key: not offered */ }
  }
  return out;
}

export class PushService {
  readonly push: PushController;
  private server?: FirmwareServer;
  private timer?: NodeJS.Timeout;
  private bindError?: string;
  /** the servers' counters, one set across rebinds */
  private readonly counters = newServeCounters();

  constructor(private readonly o: PushServiceOptions) {
    this.push = new PushController({
      bundles: () => servedBundles(o.dir, o.publicKeyPem),
      url: (name) => `http://${this.server?.address ?? o.tunnelAddress()}:${o.port}${BUNDLE_PATH}${name}`,
      waveTimeoutMs: o.waveTimeoutMs ?? 30 * 60_000,
      log: o.log,
      store: o.store,
    });
  }

  /** Binds the server to the tunnel address now and whenever it changes (checked every 2 s), while
   *  the serve directory exists (a box without one, a spoke, listens on nothing). */
  start(): void {
    const check = async () => {
      const want = fs.existsSync(this.o.dir) ? this.o.tunnelAddress() : undefined;
      if (this.server && this.server.address === want) return;
      if (this.server) { this.server.close(); this.server = undefined; }
      if (!want) return;
      const s = new FirmwareServer({ address: want, port: this.o.port, dir: this.o.dir, rate: this.o.rate, counters: this.counters,
        isPeer: (a) => this.o.registeredPeers().includes(a),
        onStatus: (peer, body, signal) => this.push.onReport(peer, parseReport(body), signal) });
      try {
        await s.listen();
        this.server = s;
        this.bindError = undefined;
        this.o.log('info', 'SERVE', `firmware server on ${want}:${this.o.port} for registered NHRP peers`);
      } catch (e) {
        const msg = `cannot serve firmware on ${want}:${this.o.port}: ${(e as Error).message}`;
        if (msg !== this.bindError) this.o.log('warn', 'SERVE', msg);
        this.bindError = msg;
      }
    };
    const loop = () => { void check().finally(() => { this.timer = setTimeout(loop, 2000); this.timer.unref?.(); }); };
    loop();
  }

  stop(): void { clearTimeout(this.timer); this.server?.close(); this.server = undefined; this.push.stop(); }

  private notServing(): string {
    if (!fs.existsSync(this.o.dir)) return `no serve directory ${this.o.dir}: firmware fetch <url> creates it`;
    return this.bindError ?? 'no tunnel address';
  }

  private fetching?: string;
  lastFetch?: string;

  /** `firmware fetch <url>`: a bundle into the serve directory (fetch.ts), in the background. */
  fetch(url: string): string {
    if (!/^https?:\/\//.test(url)) return '% firmware fetch takes an http:// or https:// URL\n';
    if (this.fetching) return `% Already fetching ${this.fetching}\n`;
    this.fetching = url;
    void fetchBundle(url, { dir: this.o.dir, publicKeyPem: this.o.publicKeyPem }).then(
      (b) => { this.lastFetch = `fetched ${b.name} (${b.size} bytes, version ${b.version}) from ${url}`; this.o.log('notice', 'FETCH', this.lastFetch); },
      (e: Error) => { this.lastFetch = `${url}: ${e.message}`; this.o.log('warn', 'FETCH', this.lastFetch); },
    ).finally(() => { this.fetching = undefined; });
    return `Fetching ${url} into ${this.o.dir} (show firmware push follows it)\n`;
  }

  /** `firmware push <address|all> [wave N]` */
  startPush(target: string, wave: number): string {
    if (!this.server) return `% The firmware server is not running (${this.notServing()})\n`;
    const peers = this.o.registeredPeers();
    if (target !== 'all' && !peers.includes(target)) return `% ${target} is not a registered NHRP peer of this hub\n`;
    return this.push.start(target === 'all' ? [...peers].sort((a, b) => ipToU32(a) - ipToU32(b)) : [target], wave);
  }

  view() {
    return { ...this.push.view(), fetching: this.fetching, lastFetch: this.lastFetch, serving: this.server ? `${this.server.address}:${this.o.port}` : undefined, notServing: this.server ? undefined : this.notServing(),
      counters: { ...this.counters }, rangeStarts: [...(this.server?.rangeStarts ?? [])], bundles: servedBundles(this.o.dir, this.o.publicKeyPem) };
  }
}
