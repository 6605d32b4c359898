// The console on a pty (the serial console's program, dist/console.mjs, under `script`), talking to a
// blank appliance in a namespace: configure terminal with abbreviations, `?`, Tab, the caret, `do`,
// `end`, and changes that reach the kernel at once; a refused change leaves the kernel alone.
import t from 'tap';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, sh, nsExec, waitFor } from './util/lab.js';
import { requireTools } from './util/needs.js';
import { PtyConsole } from './util/pty-console.js';

requireTools(t, ['root', 'tun', 'ip', 'script']);

const ns = `ikdpty${process.pid % 10000}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ikdpty-'));
const sock = path.join(dir, 'ctl.sock');
sh('ip', ['netns', 'add', ns]);
t.teardown(() => sh('ip', ['netns', 'del', ns], { allowFail: true }));
for (const i of ['eth0', 'eth1']) {
  nsExec(ns, ['ip', 'link', 'add', i, 'type', 'veth', 'peer', 'name', `${i}p`]);
  nsExec(ns, ['ip', 'link', 'set', `${i}p`, 'up']);
}
fs.writeFileSync(path.join(dir, 'blank.cfg'), '!\n');
const daemon = spawn('ip', ['netns', 'exec', ns, path.join(ROOT, 'bin/dmvpnd'), '--config', path.join(dir, 'blank.cfg'), '--control', sock],
  { stdio: 'ignore' });
t.teardown(() => { daemon.kill('SIGKILL'); });

const addrs = (i: string) => nsExec(ns, ['ip', '-4', '-o', 'addr', 'show', 'dev', i]).stdout;

t.test('configure terminal on the console', async (t) => {
  const c = new PtyConsole(sock);
  t.teardown(() => { c.proc.kill('SIGKILL'); });
  await waitFor(() => /Press RETURN/.test(c.out), 30000, 200);
  t.equal(fs.statSync(sock).mode & 0o777, 0o600, 'the control socket (it configures the appliance) is for its owner only');
  c.type('\r');
  t.match(await c.expect(/Router>$/), /Router>$/, 'user exec prompt');
  c.type('en\r');
  await c.expect(/Router#$/);
  c.type('conf t\r');
  t.match(await c.expect(/Router\(config\)#$/), /Enter configuration commands/, 'conf t enters global config');
  c.type('hostname ikdpty\r');
  t.match(await c.expect(/ikdpty\(config\)#$/), /ikdpty\(config\)#$/, 'the new hostname is in the prompt at once');
  c.type('int eth0\r');
  await c.expect(/ikdpty\(config-if\)#$/);
  c.type('ip add 10.66.0.1 255.255.255.0\r');
  await c.expect(/ikdpty\(config-if\)#$/);
  t.match(addrs('eth0'), /10\.66\.0\.1\/24/, 'the address is on eth0 in the kernel');

  // the caret: prompt "ikdpty(config-if)#" (18) + "ip add" matched up to "ip add" (col 6)
  c.type('ip addx 1.2.3.4 255.0.0.0\r');
  t.match(await c.expect(/marker\.\n[\s\S]*#$/), `\n${' '.repeat(24)}^\n% Invalid input detected at '^' marker.`, 'caret under the first wrong character');
  c.type('ip nhrp ho?');
  t.match(await c.expect(/ip nhrp ho$/), /\nholdtime\s*\n/, '? lists the keywords that complete the word (IOS: words only)');
  c.type('\x15ip nh\t');
  t.match(await c.expect(/ip nhrp $/), /ip nhrp $/, 'Tab completes nh to nhrp');
  c.type('\x15do sh ip int br\r');
  t.match(await c.expect(/eth0\s+10\.66\.0\.1[\s\S]*#$/), /eth0\s+10\.66\.0\.1/, 'do show ip interface brief from config-if');

  c.type('int eth1\r');
  await c.expect(/\(config-if\)#$/);
  c.type('ip address 10.66.0.2 255.255.255.0\r');
  t.match(await c.expect(/% .*\n.*#$/), /% interface eth1: 10\.66\.0\.0 overlaps with eth0/, 'an overlapping address is refused with the reason');
  t.notMatch(addrs('eth1'), /10\.66/, 'eth1 got nothing');
  c.type('end\r');
  await c.expect(/ikdpty#$/);
  c.type('show running-config\r');
  const run = await c.expect(/end\n[\s\S]*ikdpty#$/);
  t.match(run, /hostname ikdpty\n/);
  t.match(run, /interface eth0\n ip address 10\.66\.0\.1 255\.255\.255\.0\n/);
  t.match(run, /interface eth1\n no ip address\n/, 'eth1 entered, its refused address not in the config');

  // terminal length: 3 lines a page, --More--, q ends the output; 0 turns paging off
  c.type('terminal length 3\r');
  await c.expect(/ikdpty#$/);
  c.type('show running-config\r');
  const paged = await c.expect(/ --More-- $/);
  t.equal(paged.split('\n').filter((l) => !/show running-config/.test(l) && !/--More--/.test(l)).length, 2, 'two lines, then --More--');
  c.type(' ');
  await c.expect(/ --More-- $/);
  c.type('q');
  t.notMatch(await c.expect(/ikdpty#$/), /\nend\n/, 'q: the rest of the output is not shown');
  c.type('terminal length 0\r');
  await c.expect(/ikdpty#$/);
  c.type('show running-config\r');
  t.notMatch(await c.expect(/end\n[\s\S]*ikdpty#$/), /--More--/, 'length 0: no pager');

  c.type('configure terminal\r');
  await c.expect(/\(config\)#$/);
  c.type('interface eth0\r');
  await c.expect(/\(config-if\)#$/);
  c.type('no ip address\r');
  await c.expect(/\(config-if\)#$/);
  t.notMatch(addrs('eth0'), /10\.66/, 'no ip address takes it off the kernel interface');
  c.type('no hostname\r');
  t.match(await c.expect(/Router\(config\)#$/), /Router\(config\)#$/, 'a global command from config-if; no hostname restores Router');
  c.type('end\r');
  await c.expect(/Router#$/);
});

t.test('certificates on the console: crypto key generate, a pasted CA in exec, our certificate pasted in config mode', async (t) => {
  const { TestCa, publicKeyOf } = await import('./util/pki.js');
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const c = new PtyConsole(sock);
  t.teardown(() => { c.proc.kill('SIGKILL'); });
  await waitFor(() => /Press RETURN/.test(c.out), 30000, 200);
  c.type('\r');
  await c.expect(/Router>$/);
  c.type('en\r');
  await c.expect(/Router#$/);
  c.type('conf t\r');
  await c.expect(/Router\(config\)#$/);
  c.type('crypto key generate ec keysize 256 label K\r');
  t.match(await c.expect(/Router\(config\)#$/), /% Generating 256 bit EC keys/, 'key generated in global config, as IOS');
  c.type('crypto pki trustpoint TP\r');
  await c.expect(/\(ca-trustpoint\)#$/);
  c.type('eckeypair K\r');
  await c.expect(/\(ca-trustpoint\)#$/);
  c.type('end\r');
  await c.expect(/Router#$/);
  c.type('show crypto key mypubkey ec\r');
  const pub = publicKeyOf(await c.expect(/Key Data:\n[\s\S]*Router#$/));
  const caPem = ca.ca('root');
  const own = ca.leaf('me', 'root', ['10.66.0.1'], pub);
  // privileged exec: no prompt while the PEM is read, IOS's words at the end
  c.type('crypto pki authenticate TP\r');
  t.match(await c.expect(/on a line by itself\n$/), /Enter the base 64 encoded CA certificate\./, 'asks for the CA certificate');
  c.type(caPem.trim().split('\n').join('\r') + '\rquit\r');
  t.match(await c.expect(/Router#$/), /% Certificate successfully imported/, 'CA imported from exec');
  c.type('conf t\r');
  await c.expect(/\(config\)#$/);
  c.type('crypto pki import TP certificate\r');
  await c.expect(/on a line by itself\n$/);
  c.type(own.trim().split('\n').join('\r') + '\r\r');
  t.match(await c.expect(/Router\(config\)#$/), /% Router Certificate successfully imported/, 'our certificate imported from config mode (a blank line ends it)');
  c.type('end\r');
  await c.expect(/Router#$/);
  c.type('show crypto pki trustpoints\r');
  t.match(await c.expect(/Router#$/), /Certificate configured\.\n {4}Router certificate configured\./, 'both in the trustpoint');
});
