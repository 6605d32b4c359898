// The hub's firmware server: HTTP on the tunnel address only (so, with tunnel protection, inside
// IPsec), for registered NHRP peers only. Two resources:
//   GET|HEAD /firmware/bundle/NAME.fw   a bundle of the serve directory, with single byte ranges
//                                       (RFC 9110 section 14: Range, If-Range, 206, 416) so a spoke
//                                       resumes an interrupted download;
//   POST /firmware/v1/status            a spoke's report; the answer may tell it to update (report.ts).
// Anything else, or anyone else, is refused with a counter. The bundles are not secret (they are
// signed, not encrypted) but are served only to the peers a push is for.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { BUNDLE_NAME, BUNDLE_PATH, MAX_REPORT, STATUS_PATH, type HubAnswer } from './report.js';
import { contentRange, parseRange, unsatisfiedRange } from './byte-range.js';

export interface ServeOptions {
  address: string;
  port: number;
  /** the directory the bundles are served from */
  dir: string;
  /** a registered NHRP peer's tunnel address */
  isPeer(address: string): boolean;
  /** a spoke's report (raw body; the handler parses it); resolves to the answer (it may wait: long poll) */
  onStatus(peer: string, body: Buffer, signal: AbortSignal): Promise<HubAnswer>;
  /** bytes per second per download (0: unlimited), so a wave does not fill the hub's uplink */
  rate?: number;
  /** counters to add to (a hub keeps one set across the servers it binds as its address changes) */
  counters?: ServeCounters;
}

export const newServeCounters = (): ServeCounters => ({ requests: 0, notPeer: 0, badRequest: 0, notFound: 0, statusPosts: 0, bundleFull: 0, bundleRanged: 0, rangeUnsatisfiable: 0, bytesServed: 0 });

export interface ServeCounters {
  requests: number;
  notPeer: number;
  badRequest: number;
  notFound: number;
  statusPosts: number;
  bundleFull: number;
  bundleRanged: number;
  rangeUnsatisfiable: number;
  /** bundle bytes written to connections (including bytes lost when a connection was cut) */
  bytesServed: number;
}

const CHUNK = 64 * 1024;

/** Waits for the response to drain or close, removing both listeners either way (a bundle waits
 *  hundreds of times: listeners left behind would pile up on the response). */
function drainedOrClosed(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
    res.on('drain', done);
    res.on('close', done);
  });
}

export class FirmwareServer {
  readonly counters: ServeCounters;
  /** offsets of the last ranged requests (show firmware push, the tests) */
  readonly rangeStarts: number[] = [];
  private server?: http.Server;

  constructor(private readonly o: ServeOptions) { this.counters = o.counters ?? newServeCounters(); }

  get address(): string { return this.o.address; }

  listen(): Promise<void> {
    const s = http.createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    s.headersTimeout = 10_000;
    s.requestTimeout = 0; // a long poll or a slow download is legitimate; idle sockets time out below
    s.keepAliveTimeout = 5_000;
    s.timeout = 60_000; // a socket silent for a minute (no body, no reading) is closed: a long poll is at most 30 s
    this.server = s;
    return new Promise((resolve, reject) => {
      s.once('error', reject);
      s.listen(this.o.port, this.o.address, () => { s.off('error', reject); resolve(); });
    });
  }

  close(): void { this.server?.close(); this.server?.closeAllConnections(); this.server = undefined; }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.counters.requests++;
    const peer = req.socket.remoteAddress ?? '';
    if (!this.o.isPeer(peer)) { this.counters.notPeer++; return this.end(res, 403, `${peer} is not a registered NHRP peer of this hub`); }
    const url = req.url ?? '';
    if (req.method === 'POST' && url === STATUS_PATH) return this.status(peer, req, res);
    if ((req.method === 'GET' || req.method === 'HEAD') && url.startsWith(BUNDLE_PATH)) return this.bundle(url.slice(BUNDLE_PATH.length), req, res);
    this.counters.notFound++;
    return this.end(res, 404, 'no such resource');
  }

  private end(res: http.ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'text/plain', connection: 'close', ...headers }).end(`${text}\n`);
  }

  private async status(peer: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > MAX_REPORT) { this.counters.badRequest++; return this.end(res, 413, `a report is at most ${MAX_REPORT} bytes`); }
      chunks.push(c);
    }
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    let answer: HubAnswer;
    try { answer = await this.o.onStatus(peer, Buffer.concat(chunks), gone.signal); } catch (e) {
      this.counters.badRequest++;
      return this.end(res, 400, (e as Error).message);
    }
    this.counters.statusPosts++;
    if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  }

  private async bundle(name: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!BUNDLE_NAME.test(name)) { this.counters.notFound++; return this.end(res, 404, 'no such bundle'); }
    const file = path.join(this.o.dir, name);
    let fd: fs.promises.FileHandle;
    try { fd = await fs.promises.open(file, 'r'); } catch { this.counters.notFound++; return this.end(res, 404, 'no such bundle'); }
    try {
      const st = await fd.stat();
      // strong validator: a bundle replaced under the same name (new inode, size or time) is another
      const etag = `"${st.ino.toString(16)}-${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
      const ifRange = req.headers['if-range'];
      let range = parseRange(req.headers.range, st.size);
      if (range !== undefined && ifRange !== undefined && ifRange !== etag) range = undefined; // changed: send it whole
      if (range === null) {
        this.counters.rangeUnsatisfiable++;
        return this.end(res, 416, 'range not satisfiable', { 'content-range': unsatisfiedRange(st.size), etag });
      }
      const start = range?.start ?? 0, end = range?.end ?? st.size - 1;
      const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', etag, 'content-length': end - start + 1 };
      if (range) {
        this.counters.bundleRanged++;
        this.rangeStarts.push(start);
        if (this.rangeStarts.length > 16) this.rangeStarts.shift();
        res.writeHead(206, { ...headers, 'content-range': contentRange(start, end, st.size) });
      } else {
        this.counters.bundleFull++;
        res.writeHead(200, headers);
      }
      if (req.method === 'HEAD') { res.end(); return; }
      await this.send(fd, start, end + 1, res);
    } finally { await fd.close(); }
  }

  /** Copies [from, to) to the response in chunks, waiting for drain and pacing to the rate. */
  private async send(fd: fs.promises.FileHandle, from: number, to: number, res: http.ServerResponse): Promise<void> {
    const buf = Buffer.alloc(CHUNK);
    const t0 = Date.now();
    let sent = 0;
    for (let pos = from; pos < to && !res.destroyed;) {
      const { bytesRead } = await fd.read(buf, 0, Math.min(CHUNK, to - pos), pos);
      if (bytesRead === 0) break; // truncated under us: the length promised is not met, the client sees it
      const ok = res.write(Buffer.from(buf.subarray(0, bytesRead)));
      pos += bytesRead;
      sent += bytesRead;
      this.counters.bytesServed += bytesRead;
      if (!ok) await drainedOrClosed(res);
      const rate = this.o.rate ?? 0;
      const ahead = rate > 0 ? (sent / rate) * 1000 - (Date.now() - t0) : 0;
      if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
    }
    if (!res.destroyed) res.end();
  }
}
