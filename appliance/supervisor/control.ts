// Local control socket: dmvpnctl (and tests) run one exec command per connection. Requests and
// replies are single JSON lines so output with any characters survives the trip.
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';

export interface ControlRequest { command: string }
export interface ControlReply { ok: boolean; output: string }

export const DEFAULT_CONTROL = '/run/dmvpnd.sock';
const MAX_REQUEST = 64 * 1024;

export function serveControl(sockPath: string, run: (command: string) => Promise<string> | string): net.Server {
  fs.mkdirSync(path.dirname(sockPath), { recursive: true });
  try { fs.unlinkSync(sockPath); } catch { /* not there */ }
  const server = net.createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('data', async (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST) { reply(conn, { ok: false, output: '% Request too long' }); return; }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let req: ControlRequest;
      try { req = JSON.parse(buf.slice(0, nl)); } catch { reply(conn, { ok: false, output: '% Malformed request' }); return; }
      if (typeof req.command !== 'string') { reply(conn, { ok: false, output: '% Malformed request' }); return; }
      try { reply(conn, { ok: true, output: await run(req.command) }); }
      catch (e) { reply(conn, { ok: false, output: `% Internal error: ${(e as Error).message}` }); }
    });
    conn.on('error', () => { /* client went away */ });
  });
  server.listen(sockPath);
  return server;
}

function reply(conn: net.Socket, r: ControlReply) { conn.end(JSON.stringify(r) + '\n'); }

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
    conn.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? ' (is dmvpnd running with this --control socket?)' : '';
      reject(new Error(`cannot reach ${sockPath}: ${e.code ?? e.message}${hint}`));
    });
  });
}
