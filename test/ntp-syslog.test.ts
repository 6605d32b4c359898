// `ntp server` and `logging host`: the SNTP packet rules (RFC 4330 / RFC 5905) on crafted replies,
// including hostile ones; then a real supervisor in a namespace synchronizes with chrony (run with
// -x: it serves time and never steers the host's clock) in another namespace, and sends its log to
// a UDP listener there in the RFC 3164 format IOS uses. The supervisor here does not set the clock
// (DMVPN_SET_CLOCK is the image's): it measures the offset and shows it.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT, sh, nsExec } from './util/lab.js';
import { requireTools } from './util/needs.js';
import { callControl } from '../appliance/supervisor/control.js';
import { sntpRequest, parseSntpReply, ntpToUnixMs, unixMsToNtp } from '../appliance/net/sntp.js';
import { rfc3164 } from '../appliance/log/syslog.js';
import { parseStartupConfig } from '../appliance/config/load.js';
import { renderConfig } from '../appliance/config/render.js';

function reply(nonce: Buffer, t2: number, t3: number, o: { mode?: number; stratum?: number; li?: number; vn?: number; ref?: string } = {}): Buffer {
  const b = Buffer.alloc(48);
  b[0] = ((o.li ?? 0) << 6) | ((o.vn ?? 4) << 3) | (o.mode ?? 4);
  b[1] = o.stratum ?? 2;
  b.writeUInt16BE(0, 4); b.writeUInt16BE(0x0100, 6); // root delay 1/256 s
  b.write(o.ref ?? '\x0a\x00\x00\x01', 12, 'latin1');
  nonce.copy(b, 24);
  unixMsToNtp(t2, b, 32); unixMsToNtp(t3, b, 40);
  return b;
}

t.test('SNTP packets', async t => {
  const req = sntpRequest();
  t.equal(req.bytes.length, 48);
  t.equal(req.bytes[0], 0x23, 'LI 0, VN 4, mode 3 (client)');
  t.ok(req.bytes.subarray(40).equals(req.nonce), 'transmit timestamp is the nonce');
  t.not(sntpRequest().nonce.toString('hex'), req.nonce.toString('hex'), 'a fresh nonce per request');
  // era 0 and era 1 (RFC 4330 section 3: top bit clear = after 2036-02-07 06:28:16 UTC)
  const b = Buffer.alloc(8);
  b.writeUInt32BE(0x80000000, 0);
  t.equal(ntpToUnixMs(b, 0), (0x80000000 - 2208988800) * 1000);
  b.writeUInt32BE(0, 0);
  t.equal(new Date(ntpToUnixMs(b, 0)).toISOString(), '2036-02-07T06:28:16.000Z', 'NTP seconds 0 in era 1');
  const now = Date.UTC(2026, 11, 4, 18, 0, 0);
  unixMsToNtp(now + 250, b, 0);
  t.ok(Math.abs(ntpToUnixMs(b, 0) - (now + 250)) < 0.001, 'round trip of a timestamp');

  // our clock 1 s behind the server, 20 ms each way, 10 ms in the server
  const t1 = now, t2 = now + 1000 + 20, t3 = t2 + 10, t4 = now + 50;
  const ok = parseSntpReply(reply(req.nonce, t2, t3), req.nonce, t1, t4);
  t.ok(ok.ok);
  if (ok.ok) {
    t.ok(Math.abs(ok.sample.offsetMs - 1000) < 0.01, `offset ${ok.sample.offsetMs}`);
    t.ok(Math.abs(ok.sample.delayMs - 40) < 0.01, `delay ${ok.sample.delayMs}`);
    t.equal(ok.sample.refId, '10.0.0.1');
    t.equal(ok.sample.stratum, 2);
  }
  const bad = (r: ReturnType<typeof parseSntpReply>) => (r.ok ? 'accepted' : r.reason);
  t.match(bad(parseSntpReply(reply(Buffer.alloc(8, 1), t2, t3), req.nonce, t1, t4)), /does not answer our request/, 'spoofed reply (wrong originate)');
  t.match(bad(parseSntpReply(reply(req.nonce, t2, t3, { mode: 3 }), req.nonce, t1, t4)), /mode 3/);
  t.match(bad(parseSntpReply(reply(req.nonce, t2, t3, { li: 3 }), req.nonce, t1, t4)), /not synchronized/);
  t.match(bad(parseSntpReply(reply(req.nonce, t2, t3, { stratum: 16 }), req.nonce, t1, t4)), /stratum 16/);
  t.match(bad(parseSntpReply(reply(req.nonce, t2, t3, { vn: 1 }), req.nonce, t1, t4)), /version 1/);
  t.match(bad(parseSntpReply(reply(req.nonce, t2, t3).subarray(0, 40), req.nonce, t1, t4)), /short packet/);
  const kod = parseSntpReply(reply(req.nonce, t2, t3, { stratum: 0, ref: 'DENY' }), req.nonce, t1, t4);
  t.same(kod.ok ? null : kod.kiss, 'DENY', 'kiss-o\'-death code');
  const far = reply(req.nonce, t2, t3); far.writeUInt16BE(40, 8); // root dispersion 40 s
  t.match(bad(parseSntpReply(far, req.nonce, t1, t4)), /root distance/);
});

t.test('RFC 3164 lines and the config lines', async t => {
  const e = { time: new Date(Date.UTC(2026, 11, 4, 8, 5, 9)), facility: 'SYS', severity: 5, mnemonic: 'CONFIG_I', text: 'line one\nline two' };
  t.equal(rfc3164(e, 'R1', 'local7'), '<189>Dec  4 08:05:09 R1 %SYS-5-CONFIG_I: line one line two', 'IOS default facility local7: <189>');
  t.equal(rfc3164({ ...e, severity: 3 }, 'R1', 'local0'), '<131>Dec  4 08:05:09 R1 %SYS-3-CONFIG_I: line one line two');
  t.ok(Buffer.byteLength(rfc3164({ ...e, text: 'x'.repeat(3000) }, 'R1', 'local7')) <= 1024, 'at most 1024 bytes');
  const r = parseStartupConfig('ntp server 10.0.0.1 prefer\nntp server 10.0.0.2\nlogging host 10.0.0.9\nlogging host 10.0.0.8 transport udp port 5514\nlogging trap warnings\nlogging facility local5\nlogging buffered 4096\nntp update-calendar\n');
  t.ok(r.ok);
  if (!r.ok) return;
  t.same(r.config.ntp, { servers: [{ address: '10.0.0.1', prefer: true }, { address: '10.0.0.2' }] });
  t.same(r.config.logging, { hosts: [{ address: '10.0.0.9' }, { address: '10.0.0.8', port: 5514 }], trap: 4, facility: 'local5' });
  const text = renderConfig(r.config);
  t.match(text, /logging facility local5\nlogging trap warnings\nlogging host 10\.0\.0\.9\nlogging host 10\.0\.0\.8 transport udp port 5514\nntp server 10\.0\.0\.1 prefer\nntp server 10\.0\.0\.2\n/);
  const again = parseStartupConfig(text);
  t.same(again.ok && again.config.logging, r.config.logging, 'round trip');
  const bad = parseStartupConfig('ntp server 10.0.0.300\n');
  t.notOk(bad.ok, 'an invalid address is refused');
});

t.test('a supervisor synchronizes with chrony and logs to syslog', async t => {
  requireTools(t, ['root', 'ip', 'chronyd']);
  const a = `ikc-ntpa-${process.pid}`, b = `ikc-ntpb-${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ikc-ntp-'));
  const procs: ChildProcess[] = [];
  t.teardown(() => {
    for (const p of procs) p.kill('SIGTERM');
    for (const n of [a, b]) sh('ip', ['netns', 'del', n], { allowFail: true });
    if (t.passing()) fs.rmSync(dir, { recursive: true, force: true }); else t.comment(`evidence in ${dir}`);
  });
  for (const n of [a, b]) { sh('ip', ['netns', 'add', n]); nsExec(n, ['ip', 'link', 'set', 'lo', 'up']); }
  sh('ip', ['link', 'add', 'ikc-ntp0', 'netns', a, 'type', 'veth', 'peer', 'name', 'ikc-ntp1', 'netns', b]);
  nsExec(a, ['ip', 'link', 'set', 'ikc-ntp0', 'name', 'eth0']);
  nsExec(b, ['ip', 'addr', 'add', '10.99.0.1/24', 'dev', 'ikc-ntp1']);
  nsExec(b, ['ip', 'link', 'set', 'ikc-ntp1', 'up']);

  fs.writeFileSync(path.join(dir, 'chrony.conf'), `local stratum 8\nallow all\nport 123\ncmdport 0\nbindaddress 10.99.0.1\npidfile ${dir}/chronyd.pid\ndriftfile ${dir}/drift\n`);
  const spawnIn = (ns: string, argv: string[], env: NodeJS.ProcessEnv = process.env) => {
    const p = spawn('ip', ['netns', 'exec', ns, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(p);
    let out = '';
    p.stdout!.on('data', d => { out += d; }); p.stderr!.on('data', d => { out += d; });
    return { p, out: () => out };
  };
  const chrony = spawnIn(b, ['chronyd', '-x', '-d', '-f', path.join(dir, 'chrony.conf')]);
  const listener = spawnIn(b, [process.execPath, '-e',
    "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>console.log(r.address+' '+m));s.bind(5514,'10.99.0.1',()=>console.log('listening'))"]);
  const waitFor = async <T>(f: () => T | Promise<T>, ms: number, what: string): Promise<T> => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise(r => setTimeout(r, 250))) {
      try { const v = await f(); if (v) return v; } catch { /* not yet */ }
    }
    throw new Error(`${what} within ${ms} ms; chrony: ${chrony.out().slice(-800)}`);
  };
  await waitFor(() => /listening/.test(listener.out()), 20_000, 'syslog listener');
  await waitFor(() => / 10\.99\.0\.1:123 /.test(nsExec(b, ['ss', '-uln']).stdout) || /10\.99\.0\.1:123/.test(nsExec(b, ['ss', '-uln']).stdout), 20_000, 'chronyd listening');

  const cfg = path.join(dir, 'startup-config');
  fs.writeFileSync(cfg, 'hostname R8\ninterface FastEthernet0/0\n ip address 10.99.0.2 255.255.255.0\nntp server 10.99.0.1\nlogging host 10.99.0.1 transport udp port 5514\nlogging trap notifications\n');
  const sock = path.join(dir, 'ctl.sock');
  const env: NodeJS.ProcessEnv = { ...process.env, DMVPN_NTP_FIRST_POLL_MS: '2000' };
  delete env.DMVPN_SET_CLOCK;
  const d = spawnIn(a, [path.join(ROOT, 'bin/dmvpnd'), '--config', cfg, '--control', sock], env);
  const ctl = async (c: string) => (await callControl(sock, c, 20_000)).output;
  const status = await waitFor(async () => { const s = await ctl('show ntp status'); return /synchronized, stratum 9/.test(s) && !/unsync/.test(s) ? s : ''; },
    150_000, `NTP synchronized (dmvpnd: ${d.out().slice(-500)})`);
  t.match(status, /^Clock is synchronized, stratum 9, reference is 10\.99\.0\.1\n/, 'stratum = chrony\'s local stratum 8 + 1');
  const off = Number(/clock offset is (-?[\d.]+) msec/.exec(status)?.[1]);
  t.ok(Math.abs(off) < 1000, `same host clock on both sides: offset ${off} ms is small`);
  t.match(status, /clock not set: the host owns it/);
  t.match(await ctl('show ntp associations'), /\*~10\.99\.0\.1\s+\S+\s+8\s/, 'the association: chrony at stratum 8, sys.peer');
  const line = await waitFor(() => /^10\.99\.0\.2 <189>\w{3} [ \d]\d \d\d:\d\d:\d\d R8 %NTP-5-EVENT: clock synchronized with NTP server 10\.99\.0\.1.*$/m.exec(listener.out()),
    30_000, `syslog line (got: ${listener.out()})`);
  t.ok(line, `syslog: ${line?.[0]}`);
  t.notMatch(listener.out(), /%\w+-[67]-/, 'nothing above the trap level (notifications = 5) was sent');
});
