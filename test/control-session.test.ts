// The control socket's session connections (configuration mode for dmvpnctl - and the console):
// lines answered in order with the session's prompt, one-shot requests unchanged, and bad input from
// a client (garbage, an overlong request, a handler that throws) answered with a marker, never a crash.
import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serveControl, callControl, ControlClient, type ControlSession } from '../appliance/supervisor/control.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ikdctl-'));
const sock = path.join(dir, 'ctl.sock');

/** A session that echoes lines with a counter, slower for the first one (order must hold anyway). */
function fakeSession(privileged: boolean): ControlSession {
  let n = 0, mode = privileged ? '#' : '>';
  return {
    feed: async (line) => {
      if (line === 'boom') throw new Error('handler failed');
      if (line === 'conf t') mode = '(config)#';
      const k = ++n;
      await new Promise((r) => setTimeout(r, k === 1 ? 50 : 0));
      return `${k}:${line}\n`;
    },
    complete: (line) => `${line}x `,
    get prompt() { return `R${mode}`; },
    get closed() { return false; },
  };
}
const server = serveControl(sock, { run: (cmd) => `one-shot ${cmd}\n`, openSession: fakeSession });
t.teardown(() => { server.close(); fs.rmSync(dir, { recursive: true, force: true }); });

/** Raw bytes in, every reply line out (until the server closes or `ms` pass). */
function raw(bytes: string | Buffer, ms = 1000): Promise<string> {
  return new Promise((resolve) => {
    const c = net.createConnection(sock);
    let out = '';
    c.on('connect', () => c.write(bytes));
    c.on('data', (d) => { out += d.toString(); });
    const done = () => { clearTimeout(timer); c.destroy(); resolve(out); };
    const timer = setTimeout(done, ms);
    c.on('close', done);
    c.on('error', done);
  });
}

t.test('session lines are answered in order with the prompt; one-shot requests as before', async (t) => {
  await new Promise((r) => server.listening ? r(undefined) : server.once('listening', r));
  const c = new ControlClient(sock, true);
  const replies = await Promise.all(['a', 'conf t', 'b'].map((l) => c.send(l)));
  t.same(replies.map((r) => r.output), ['1:a\n', '2:conf t\n', '3:b\n']);
  t.same(replies.map((r) => r.prompt), ['R#', 'R(config)#', 'R(config)#']);
  t.same(await c.send('ip nh', { complete: true }), { ok: true, output: 'ip nhx ', prompt: 'R(config)#', closed: false });
  const bad = await c.send('boom');
  t.same(bad, { ok: false, output: '% Internal error: handler failed\n', prompt: 'R(config)#' }, 'a failing line is reported');
  t.equal((await c.send('c')).output, '4:c\n', 'and the session goes on');
  c.close();
  t.same(await callControl(sock, 'show x'), { ok: true, output: 'one-shot show x\n' });
});

t.test('bad input on the socket: a marker and the connection closed, the server keeps serving', async (t) => {
  t.match(await raw('not json\n'), /"output":"% Malformed request"/);
  t.match(await raw(Buffer.from([0xff, 0x00, 0x1b, 0x0a])), /% Malformed request/, 'binary garbage');
  t.match(await raw('{"command": 7}\n'), /% Malformed request/, 'a command that is not a string');
  t.match(await raw('x'.repeat(70 * 1024)), /% Request too long/);
  t.same(await callControl(sock, 'show y'), { ok: true, output: 'one-shot show y\n' }, 'still serving');
});
