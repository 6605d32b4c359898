// Local control socket: dmvpnctl, the console and tests talk to the supervisor here. Requests and
// replies are single JSON lines so output with any characters survives the trip.
//
// Two kinds of connection:
//  * one-shot (dmvpnctl show ...): one request, one reply, the server closes the connection.
//  * session ({ session: true } on the first request): the connection keeps one CLI session (its
//    mode: exec, privileged, configure terminal and its sub-modes) until the client closes it; each
//    request gets one reply line carrying the session's prompt. Configuration mode lives here.
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';

/** `complete`: Tab completion of `command` (the reply's output is the new input line). */
export interface ControlRequest { command: string; session?: boolean; privileged?: boolean; complete?: boolean }
export interface ControlReply { ok: boolean; output: string; prompt?: string; closed?: boolean }

/** One CLI session of a session connection, as the supervisor runs it. */
export interface ControlSession {
  feed(line: string): Promise<string>;
  complete(line: string): string;
  readonly prompt: string;
  /** the session ended (`exit` from exec mode) */
  readonly closed: boolean;
}

export interface ControlHandler {
  run(command: string): Promise<string> | string;
  openSession(privileged: boolean): ControlSession;
}

export const DEFAULT_CONTROL = '/run/dmvpnd.sock';
const MAX_REQUEST = 64 * 1024;

export function serveControl(sockPath: string, handler: ControlHandler): net.Server {
  fs.mkdirSync(path.dirname(sockPath), { recursive: true });
  try { fs.unlinkSync(sockPath); } catch { /* not there */ }
  const server = net.createServer((conn) => {
    let buf = '';
    let session: ControlSession | undefined;
    // requests of one connection run in order (a config line waits for the one before it)
    let queue: Promise<void> = Promise.resolve();
    conn.setEncoding('utf8');
    const serve = async (req: ControlRequest): Promise<void> => {
      if (typeof req.command !== 'string') { reply(conn, { ok: false, output: '% Malformed request' }, true); return; }
      if (req.session && !session) session = handler.openSession(!!req.privileged);
      if (!session) {
        try { reply(conn, { ok: true, output: await handler.run(req.command) }, true); }
        catch (e) { reply(conn, { ok: false, output: `% Internal error: ${(e as Error).message}` }, true); }
        return;
      }
      const s = session;
      try {
        const output = req.complete ? s.complete(req.command) : await s.feed(req.command);
        reply(conn, { ok: true, output, prompt: s.prompt, closed: s.closed }, s.closed);
      } catch (e) { reply(conn, { ok: false, output: `% Internal error: ${(e as Error).message}\n`, prompt: s.prompt }, false); }
    };
    conn.on('data', (chunk: string) => {
      if (conn.writableEnded) return; // refused already: the rest is not read
      buf += chunk;
      if (buf.length > MAX_REQUEST) { reply(conn, { ok: false, output: '% Request too long' }, true); buf = ''; return; }
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let req: ControlRequest;
        try { req = JSON.parse(text); } catch { reply(conn, { ok: false, output: '% Malformed request' }, true); return; }
        queue = queue.then(() => serve(req));
      }
    });
    conn.on('error', () => { /* client went away */ });
  });
  // The socket configures the appliance: only its owner (root, the console and dmvpnctl) may connect.
  // umask while binding, so there is no moment at which it is open to others.
  const mask = process.umask(0o177);
  try { server.listen(sockPath); } finally { process.umask(mask); }
  server.on('listening', () => fs.chmodSync(sockPath, 0o600));
  return server;
}

function reply(conn: net.Socket, r: ControlReply, last: boolean) {
  if (conn.destroyed || conn.writableEnded) return;
  const line = JSON.stringify(r) + '\n';
  if (last) conn.end(line); else conn.write(line);
}

const unreachable = (sockPath: string, e: NodeJS.ErrnoException) => {
  const hint = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? ' (is dmvpnd running with this --control socket?)' : '';
  return new Error(`cannot reach ${sockPath}: ${e.code ?? e.message}${hint}`);
};

export function callControl(sockPath: string, command: string, timeoutMs = 10000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(sockPath);
    let buf = '';
    const timer = setTimeout(() => { conn.destroy(); reject(new Error(`no answer from ${sockPath} within ${timeoutMs} ms`)); }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify({ command }) + '\n'));
    conn.on('data', (c: string) => { buf += c; });
    conn.on('end', () => {
      clearTimeout(timer);
      try { resolve(JSON.parse(buf)); } catch { reject(new Error(`malformed reply from ${sockPath}`)); }
    });
    conn.on('error', (e: NodeJS.ErrnoException) => { clearTimeout(timer); reject(unreachable(sockPath, e)); });
  });
}

/** The client side of a session connection: lines go in order, one reply each. */
export class ControlClient {
  private readonly conn: net.Socket;
  private buf = '';
  private readonly waiting: Array<{ resolve: (r: ControlReply) => void; reject: (e: Error) => void }> = [];
  private failure?: Error;
  private first = true;

  constructor(private readonly sockPath: string, private readonly privileged: boolean) {
    this.conn = net.createConnection(sockPath);
    this.conn.setEncoding('utf8');
    this.conn.on('data', (c: string) => {
      this.buf += c;
      for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
        const text = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiting.shift();
        try { w?.resolve(JSON.parse(text)); } catch { w?.reject(new Error(`malformed reply from ${sockPath}`)); }
      }
    });
    this.conn.on('error', (e: NodeJS.ErrnoException) => this.fail(unreachable(sockPath, e)));
    this.conn.on('close', () => this.fail(new Error(`${sockPath}: the supervisor closed the session`)));
  }

  /** Run one line in the session. */
  send(command: string, opts: { complete?: boolean; timeoutMs?: number } = {}): Promise<ControlReply> {
    if (this.failure) return Promise.reject(this.failure);
    const req: ControlRequest = { command, ...(opts.complete ? { complete: true } : {}) };
    if (this.first) { req.session = true; req.privileged = this.privileged; this.first = false; }
    return new Promise((resolve, reject) => {
      // a late reply would answer the next request: a session that timed out is over
      const timer = setTimeout(() => { this.fail(new Error(`no answer from ${this.sockPath} within ${opts.timeoutMs ?? 60000} ms`)); this.conn.destroy(); },
        opts.timeoutMs ?? 60000);
      this.waiting.push({ resolve: (r) => { clearTimeout(timer); resolve(r); }, reject: (e) => { clearTimeout(timer); reject(e); } });
      this.conn.write(JSON.stringify(req) + '\n');
    });
  }

  close(): void { this.conn.end(); }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }
}
