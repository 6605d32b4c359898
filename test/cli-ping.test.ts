// `ping` and `traceroute` with IOS's output: option parsing (any order, unique prefixes, the caret
// column of a bad word), the per-echo marks and the success line from scripted probe results, and
// for real through dmvpnctl between two namespaces (the system's ping and traceroute underneath).
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { parsePing, parseTraceroute, ping, iosHop, type Runner } from '../appliance/console/ping.js';
import { serveControl } from '../appliance/supervisor/control.js';
import { ROOT, sh, nsExec } from './util/lab.js';
import { requireTools } from './util/needs.js';

t.test('parsing', async t => {
  t.same(parsePing('ping 10.0.0.1'), { target: '10.0.0.1', repeat: 5, size: 100, timeout: 2, source: undefined });
  t.same(parsePing('ping 10.0.0.1 so fa0/0 rep 10 si 1500 ti 1'), { target: '10.0.0.1', repeat: 10, size: 1500, timeout: 1, source: 'FastEthernet0/0' });
  t.same(parsePing('ping 10.0.0.1 source 10.0.0.2'), { target: '10.0.0.1', repeat: 5, size: 100, timeout: 2, source: '10.0.0.2' });
  t.same(parsePing('ping 10.0.0.300'), { col: 5 }, 'bad address: caret under it');
  t.same(parsePing('ping 10.0.0.1 size 20'), { col: 19 }, 'size below 36');
  t.same(parsePing('ping 10.0.0.1 bogus 3'), { col: 14 });
  t.same(parsePing('ping 10.0.0.1 repeat'), { message: '% Incomplete command.' });
  t.same(parsePing('ping'), { message: '% Incomplete command.' });
  t.same(parseTraceroute('traceroute 10.0.0.1 ttl 2 5'), { target: '10.0.0.1', timeout: 3, minTtl: 2, maxTtl: 5, source: undefined });
  t.same(parseTraceroute('traceroute 10.0.0.1 ttl 5 2'), { message: '% Minimum TTL is larger than the maximum' });
  t.equal(iosHop(' 1  10.97.0.2  0.523 ms  1.600 ms  0.390 ms'), '  1 10.97.0.2 1 msec 2 msec 0 msec \n');
  t.equal(iosHop(' 2  * 10.0.0.9  3.1 ms *'), '  2 * 10.0.0.9 3 msec * \n');
  t.equal(iosHop(' 3  10.0.0.1  1.0 ms !H  *  *'), '  3 10.0.0.1 1 msec H * * \n');
  t.equal(iosHop('traceroute to 10.97.0.2 (10.97.0.2), 30 hops max'), undefined);
});

t.test('IOS marks and success line from probe results', async t => {
  const script = ['64 bytes from 10.0.0.1: seq=0 ttl=64 time=1.4 ms', '', 'From 10.0.0.9 icmp_seq=1 Destination Host Unreachable', '64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=4.6 ms', 'x'];
  const argsSeen: string[][] = [];
  const run: Runner = (_cmd, args, onLine) => { argsSeen.push(args); onLine(script.shift() ?? ''); return { done: Promise.resolve(0), kill: () => undefined }; };
  let out = '';
  await ping({ target: '10.0.0.1', repeat: 5, size: 100, timeout: 2, source: '10.0.0.2' }, { write: s => { out += s; }, aborted: () => false }, run);
  t.equal(out, 'Type escape sequence to abort.\nSending 5, 100-byte ICMP Echos to 10.0.0.1, timeout is 2 seconds:\n'
    + 'Packet sent with a source address of 10.0.0.2 \n!.U!.\nSuccess rate is 40 percent (2/5), round-trip min/avg/max = 1/3/5 ms\n');
  t.same(argsSeen[0], ['-n', '-c', '1', '-W', '2', '-s', '72', '-I', '10.0.0.2', '10.0.0.1'], '100-byte datagram = 72 bytes of ICMP data');
  let n = 0;
  out = '';
  await ping({ target: '10.0.0.1', repeat: 100, size: 100, timeout: 2 }, { write: s => { out += s; }, aborted: () => n >= 3 },
    (_c, _a, onLine) => { n++; onLine('time=1 ms'); return { done: Promise.resolve(0), kill: () => undefined }; });
  t.match(out, /\n!!!\nSuccess rate is 100 percent \(3\/3\)/, 'the escape sequence stops it');
});

t.test('for real between two namespaces, through dmvpnctl', async t => {
  requireTools(t, ['root', 'ip', 'ping', 'traceroute']);
  const a = `ikc-pa-${process.pid}`, b = `ikc-pb-${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ikc-ping-'));
  t.teardown(() => { for (const n of [a, b]) sh('ip', ['netns', 'del', n], { allowFail: true }); fs.rmSync(dir, { recursive: true, force: true }); });
  for (const n of [a, b]) { sh('ip', ['netns', 'add', n]); nsExec(n, ['ip', 'link', 'set', 'lo', 'up']); }
  sh('ip', ['link', 'add', 'ikc-pv0', 'netns', a, 'type', 'veth', 'peer', 'name', 'ikc-pv1', 'netns', b]);
  nsExec(a, ['ip', 'addr', 'add', '10.97.0.1/24', 'dev', 'ikc-pv0']); nsExec(a, ['ip', 'link', 'set', 'ikc-pv0', 'up']);
  nsExec(b, ['ip', 'addr', 'add', '10.97.0.2/24', 'dev', 'ikc-pv1']); nsExec(b, ['ip', 'link', 'set', 'ikc-pv1', 'up']);
  const sock = path.join(dir, 'ctl.sock');
  const srv = serveControl(sock, {
    run: (c) => (c === 'show running-config'
      ? 'Building configuration...\n\n!\nhostname R1\n!\ninterface FastEthernet0/0\n ip address 10.97.0.1 255.255.255.0\n!\ninterface FastEthernet0/1\n no ip address\n!\nend\n' : '% no\n'),
    openSession: () => { throw new Error('this test has no configuration sessions'); },
  });
  t.teardown(() => srv.close());
  // async: the control socket is served by this process, so it must not block in spawnSync
  const ctl = (...args: string[]) => new Promise<{ stdout: string; stderr: string }>((res) => {
    execFile('ip', ['netns', 'exec', a, process.execPath, path.join(ROOT, 'dist/dmvpnctl.mjs'), '--control', sock, ...args],
      { encoding: 'utf8', timeout: 120_000 }, (_e, stdout, stderr) => res({ stdout, stderr }));
  });

  const ok = await ctl('ping', '10.97.0.2', 'repeat', '3', 'source', 'FastEthernet0/0');
  t.match(ok.stdout, /^Type escape sequence to abort\.\nSending 3, 100-byte ICMP Echos to 10\.97\.0\.2, timeout is 2 seconds:\nPacket sent with a source address of 10\.97\.0\.1 \n!!!\nSuccess rate is 100 percent \(3\/3\), round-trip min\/avg\/max = \d+\/\d+\/\d+ ms\n$/, ok.stdout + ok.stderr);
  const lost = await ctl('ping', '10.97.0.99', 'repeat', '2', 'timeout', '1');
  t.match(lost.stdout, /\n[.U]{2}\nSuccess rate is 0 percent \(0\/2\)\n$/, lost.stdout);
  const big = await ctl('ping', '10.97.0.2', 'size', '1400', 'repeat', '1');
  t.match(big.stdout, /1400-byte ICMP Echos[\s\S]*\n!\nSuccess rate is 100 percent \(1\/1\)/);
  const noaddr = await ctl('ping', '10.97.0.2', 'source', 'Fa0/1');
  t.match(noaddr.stdout, /% Invalid source interface/);
  const bad = await ctl('ping', '10.97.0.256');
  t.match(bad.stderr, /ping 10\.97\.0\.256\n {5}\^\n% Invalid input detected/);
  const tr = await ctl('traceroute', '10.97.0.2', 'timeout', '1');
  t.match(tr.stdout, /^Type escape sequence to abort\.\nTracing the route to 10\.97\.0\.2\n\n {2}1 10\.97\.0\.2 \d+ msec \d+ msec \d+ msec \n$/, tr.stdout + tr.stderr);
});
