// Startup-config refusal in a real process: a bad line, or a line the system cannot honour, stops
// dmvpnd before anything is applied (no TUN, no addresses), with a message naming the problem.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { ROOT, sh, nsExec, uniquePrefix } from './util/lab.js';
import { requireTools } from './util/needs.js';

requireTools(t, ['root', 'ip']);

const ns = `${uniquePrefix('cfg')}-r`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmvcfg-'));
sh('ip', ['netns', 'add', ns]);
t.teardown(() => sh('ip', ['netns', 'del', ns], { allowFail: true }));
sh('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'dummy'], { allowFail: true });
// no dummy module? fall back on a veth pair inside the namespace
if (nsExec(ns, ['ip', 'link', 'show', 'eth0'], { allowFail: true }).status !== 0) {
  nsExec(ns, ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
}

const GOOD = `hostname R9
interface FastEthernet0/0
 ip address 172.16.95.2 255.255.255.252
interface Tunnel0
 ip address 192.168.0.9 255.255.255.0
 ip nhrp network-id 1
 tunnel source FastEthernet0/0
 tunnel mode gre multipoint
`;

function run(config: string) {
  const f = path.join(dir, `c${Math.random().toString(36).slice(2)}.cfg`);
  fs.writeFileSync(f, config);
  return spawnSync('ip', ['netns', 'exec', ns, path.join(ROOT, 'bin/dmvpnd'), '--config', f, '--control', path.join(dir, 'x.sock')],
    { encoding: 'utf8', timeout: 20000 });
}
const linkExists = (name: string) => nsExec(ns, ['ip', 'link', 'show', name], { allowFail: true }).status === 0;
const addrs = () => nsExec(ns, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']).stdout;

t.test('a bad line refuses the whole config with its line number; nothing is applied', async (t) => {
  const bad = GOOD.replace(' ip nhrp network-id 1', ' ip nhrp network-id 1\n ip nhrp holdtime banana');
  const r = run(bad);
  t.equal(r.status, 1, 'dmvpnd exits 1');
  t.match(r.stderr, /:7: /, 'names line 7');
  t.match(r.stderr, /holdtime banana/, 'quotes the line');
  t.match(r.stderr, /nothing applied/);
  t.notOk(linkExists('Tunnel0'), 'no tunnel device was created');
  t.notMatch(addrs(), /172\.16\.95\.2/, 'eth0 got no address');
});

t.test('an interface the system does not have is refused before anything is applied', async (t) => {
  const r = run(GOOD.replace('interface Tunnel0', 'interface FastEthernet0/7\n ip address 10.9.9.1 255.255.255.0\ninterface Tunnel0'));
  t.equal(r.status, 1);
  t.match(r.stderr, /interface FastEthernet0\/7: no OS interface fa0-7 or eth7: name the OS interface fa0-7 or add "os-interface <OS interface>"/);
  t.notOk(linkExists('Tunnel0'));
  t.notMatch(addrs(), /172\.16\.95\.2/);
});

t.test('missing --config and unknown options are usage errors', async (t) => {
  const r = spawnSync(path.join(ROOT, 'bin/dmvpnd'), [], { encoding: 'utf8' });
  t.equal(r.status, 2);
  t.match(r.stderr, /--config FILE is required/);
  const r2 = spawnSync(path.join(ROOT, 'bin/dmvpnd'), ['--config', 'x', '--bogus'], { encoding: 'utf8' });
  t.equal(r2.status, 2);
  t.match(r2.stderr, /unknown or incomplete option '--bogus'/);
});

t.test('dmvpnctl says clearly when no appliance answers', async (t) => {
  const r = spawnSync(path.join(ROOT, 'bin/dmvpnctl'), ['--control', path.join(dir, 'none.sock'), 'show', 'dmvpn'], { encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, /cannot reach .*none\.sock: ENOENT \(is dmvpnd running with this --control socket\?\)/);
});
