// A bundle download that survives an interrupted connection and a reboot: the bytes received so far
// are kept in a partial file on the persistent partition (/data/firmware/download on the box), with
// the URL, the server's ETag and the total length beside it; the next attempt asks only for the rest
// (HTTP Range, RFC 9110 section 14) and, with If-Range, gets the whole bundle again if it changed on
// the server meanwhile. Nothing here trusts the bytes: the caller verifies the whole file at the end
// (a partial file spliced from two bundles, or damaged by a power cut, fails that check and is dropped).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { isStrongEtag, parseContentRange, rangeFrom } from './byte-range.js';

export interface DownloadOptions {
  /** where the partial file and its metadata live (persistent) */
  dir: string;
  /** most the bundle may be */
  max: number;
  /** bytes the download must leave free on its filesystem (default 1 MiB): the persistent partition
   *  also holds the startup-config and the updater's state, which a hostile server must not crowd out */
  reserve?: number;
  /** an attempt that receives nothing for this long is abandoned and retried (default 30 s) */
  stallMs?: number;
  /** attempts in this call before giving up (default 6); a 4xx answer ends at once */
  attempts?: number;
  /** wait before the second attempt, doubled each time (default 1 s) */
  backoffMs?: number;
  /** the source address of the connections (the tunnel address, so the hub knows the spoke) */
  localAddress?: string;
  onProgress?(have: number, total: number | undefined): void;
}

export interface DownloadStats {
  /** bytes received from the network in this call (not counting what the partial file already held) */
  bytesFetched: number;
  attempts: number;
  /** the offset each resumed attempt started from */
  resumedFrom: number[];
}

/** The server answered with something final (4xx, a bad Content-Range): retrying would not help. */
export class DownloadError extends Error {}
/** The bundle does not fit in the directory beside its reserve (another directory might hold it). */
export class NoRoomError extends DownloadError {}

interface Meta { url: string; etag?: string; total?: number }

export function partialPaths(dir: string, url: string): { file: string; meta: string } {
  const id = crypto.createHash('sha256').update(url).digest('hex').slice(0, 16);
  return { file: path.join(dir, `partial-${id}.bin`), meta: path.join(dir, `partial-${id}.json`) };
}

/** Removes the partial file of `url` (done, or refused: a bad bundle must not be resumed). */
export function dropPartial(dir: string, url: string): void {
  const p = partialPaths(dir, url);
  fs.rmSync(p.file, { force: true });
  fs.rmSync(p.meta, { force: true });
}

function readMeta(file: string, url: string): Meta | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Meta;
    return m && m.url === url ? m : undefined;
  } catch { return undefined; }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Downloads `url` into its partial file, resuming; resolves to the complete file's path. */
export async function downloadResumable(url: string, o: DownloadOptions): Promise<{ file: string; stats: DownloadStats }> {
  fs.mkdirSync(o.dir, { recursive: true });
  const p = partialPaths(o.dir, url);
  const stats: DownloadStats = { bytesFetched: 0, attempts: 0, resumedFrom: [] };
  const attempts = o.attempts ?? 6;
  let lastError: Error | undefined;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep((o.backoffMs ?? 1000) * 2 ** (i - 1));
    stats.attempts++;
    try {
      if (await attempt(url, p, o, stats)) return { file: p.file, stats };
    } catch (e) {
      if (e instanceof DownloadError) throw e;
      lastError = e as Error;
    }
  }
  throw new Error(`download failed after ${stats.attempts} attempts (${lastError?.message ?? 'incomplete'}); ${size(p.file)} bytes kept to resume`);
}

function size(file: string): number { try { return fs.statSync(file).size; } catch { return 0; } }

/** One request; resolves true when the file is complete. */
function attempt(url: string, p: { file: string; meta: string }, o: DownloadOptions, stats: DownloadStats): Promise<boolean> {
  let meta = readMeta(p.meta, url);
  let have = meta ? size(p.file) : 0;
  if (!meta || !isStrongEtag(meta.etag)) { have = 0; meta = undefined; } // no validator: resuming could splice two bundles
  if (meta?.total !== undefined && have === meta.total) return Promise.resolve(true);
  // the most this file may grow to: the limit, and what the filesystem has beyond the reserve
  const fsys = fs.statfsSync(o.dir);
  const limit = Math.max(0, Math.min(o.max, have + Number(fsys.bavail) * Number(fsys.bsize) - (o.reserve ?? 1 << 20)));
  const headers: Record<string, string> = {};
  if (have > 0) { headers.range = rangeFrom(have); headers['if-range'] = meta!.etag!; }
  const get = url.startsWith('https:') ? https.get : http.get;
  return new Promise<boolean>((resolve, reject) => {
    const req = get(url, { headers, localAddress: o.localAddress }, (res) => {
      const status = res.statusCode ?? 0;
      let start: number, total: number | undefined;
      if (status === 206 && have > 0) {
        const range = parseContentRange(res.headers['content-range']);
        if (!range || range.start !== have || (meta!.total !== undefined && range.size !== meta!.total)) {
          res.resume();
          fs.rmSync(p.meta, { force: true }); // start again from the beginning next time
          return reject(new DownloadError(`the server answered the range from ${have} with "${res.headers['content-range']}"`));
        }
        // a server that ignores If-Range (busybox httpd does) answers 206 for a bundle replaced since
        // the partial file began: the answer's ETag says so; those bytes would splice two bundles
        if (res.headers.etag !== undefined && res.headers.etag !== meta!.etag) {
          res.resume();
          fs.rmSync(p.meta, { force: true }); // the next attempt starts from the beginning
          return reject(new Error(`the server sent a range of another bundle (ETag ${res.headers.etag}, ours ${meta!.etag}): starting again`));
        }
        start = have; total = range.size;
        stats.resumedFrom.push(have);
      } else if (status === 200) {
        start = 0;
        const len = res.headers['content-length'];
        total = len !== undefined ? Number(len) : undefined;
      } else {
        res.resume();
        const msg = `HTTP ${status} ${res.statusMessage ?? ''}`.trim();
        return reject(status >= 400 && status < 500 ? new DownloadError(msg) : new Error(msg));
      }
      if (total !== undefined && total > limit) {
        res.destroy();
        return reject(limit < o.max ? new NoRoomError(`the bundle (${total} bytes) exceeds the room on ${o.dir} (${limit} bytes)`) : new DownloadError(`the bundle (${total} bytes) exceeds ${o.max} bytes`));
      }
      const etag = isStrongEtag(res.headers.etag) ? res.headers.etag : undefined; // a weak one may not go in If-Range
      if (start === 0) {
        fs.writeFileSync(p.file, Buffer.alloc(0), { mode: 0o600 });
        fs.writeFileSync(p.meta, JSON.stringify({ url, etag, total } satisfies Meta));
      }
      const out = fs.openSync(p.file, 'r+');
      let pos = start;
      const done = (err?: Error) => {
        try { fs.closeSync(out); } catch { /* already closed */ }
        if (err) return reject(err);
        if (total !== undefined && pos !== total) return reject(new Error(`connection ended at ${pos} of ${total} bytes`));
        resolve(true);
      };
      res.on('data', (chunk: Buffer) => {
        if (pos + chunk.length > limit) { res.destroy(new DownloadError(`download exceeds ${limit} bytes`)); return; }
        fs.writeSync(out, chunk, 0, chunk.length, pos);
        pos += chunk.length;
        stats.bytesFetched += chunk.length;
        o.onProgress?.(pos, total);
      });
      res.on('end', () => done());
      res.on('error', (e) => done(e));
      res.on('aborted', () => done(new Error(`connection cut at ${pos} bytes`)));
    });
    req.setTimeout(o.stallMs ?? 30_000, () => req.destroy(new Error(`nothing received for ${Math.round((o.stallMs ?? 30_000) / 1000)} s`)));
    req.on('error', reject);
  });
}
