// Hub discovery end to end in namespaces (docs/enrollment.md, issue 15): factory spokes whose provisioning
// file has only the hub key's pin and a token, no hub line. The "Internet" namespace plays each spoke's
// ISP: busybox udhcpd on R2's link hands out the WAN address and option 43 in the Cisco PnP string form
// naming the hub; on R3's link it hands out an option 43 we refuse (a host name), a domain and a DNS
// server, where a UDP responder answers the A record of dmvpn-enroll.<domain>. Each spoke gets its lease with busybox udhcpc and our hook
// (rootfs/files/udhcpc.script, writing the lease file), and dmvpnd, started before the lease exists,
// retries until the lease names the hub, enrolls through it and comes UP in the hub's show dmvpn.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Lab, waitFor, nsExec, ROOT } from './util/lab.js';
import { startEnrollHub, HUB_NBMA } from './util/enroll-hub.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { TestCa } from './util/pki.js';

requireTools(t, [...LAB_NEEDS, 'openssl', 'busybox']);

const SECRET = 'ztd-factory-token-0123456789';
const FLEET_SECRET = 'ztd-fleet-token-abcdefghijkl';
const PNP = `5A1D;B2;K5;I${HUB_NBMA};J4430`;
const DOMAIN = 'branch.ztd.test';

t.test('factory spokes find the hub by DHCP option 43 and by DNS, enroll through it and come up', async (t) => {
  const lab = new Lab(`ztd${process.pid % 10000}`, 2);
  const ca = new TestCa();
  const children: ChildProcess[] = [];
  t.teardown(() => { for (const c of children) c.kill(); lab.down(); ca.close(); });
  lab.up();
  const { listening, enrollView, hubPeers } = await startEnrollHub(lab, ca, [`SITE1 ${SECRET} one-time`, `FLEET ${FLEET_SECRET}`]);
  const logs = () => [...lab.routers.values()].map((r) => `--- ${r.name}\n${r.log.slice(-60).join('\n')}`).join('\n');
  t.ok(listening, 'hub: enrollment server listening');
  if (!listening) { t.comment(logs()); return; }
  const inet = `${lab.prefix}-inet`;
  const run = (ns: string, args: string[], env: Record<string, string> = {}) => {
    const c = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const out: string[] = [];
    c.stdout!.on('data', (b) => out.push(String(b))); c.stderr!.on('data', (b) => out.push(String(b)));
    children.push(c);
    return { proc: c, out };
  };
  // the ISP's DHCP server on spoke n's link: its one address, the router, and `extra` options
  const udhcpd = (n: number, extra: string[]) => {
    const conf = path.join(lab.dir, `udhcpd-r${n}.conf`);
    fs.writeFileSync(path.join(lab.dir, `udhcpd-r${n}.leases`), '');
    fs.writeFileSync(conf, [`start 172.16.${n}5.2`, `end 172.16.${n}5.2`, 'max_leases 1', `interface r${n}`,
      `lease_file ${lab.dir}/udhcpd-r${n}.leases`, `pidfile ${lab.dir}/udhcpd-r${n}.pid`,
      'option subnet 255.255.255.252', `option router 172.16.${n}5.1`, ...extra, ''].join('\n'));
    return run(inet, ['busybox', 'udhcpd', '-f', conf]);
  };
  // a factory spoke: no startup-config, a provisioning file without a hub line, the lease file path set
  const factory = (r: string, token: string) => {
    const prov = path.join(lab.dir, `${r}.provision`);
    fs.writeFileSync(prov, `! no hub line: found by DHCP or DNS\npin ${listening.pin}\ntoken ${token}\n`, { mode: 0o600 });
    const lease = path.join(lab.dir, `${r}.lease`);
    lab.start(r, path.join(lab.dir, `${r}.cfg`), { DMVPN_DHCP_LEASE: lease, DMVPN_ENROLL_RETRY_MS: '1000', DMVPN_ENROLL_RETRY_CAP_MS: '3000' }, ['--provision', prov]);
    return lease;
  };
  // the spoke's DHCP client with our hook, asking for option 43 as the image's init does
  const udhcpc = (r: string, lease: string) => run(lab.ns(r), ['busybox', 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '10', '-T', '1', '-O', '43', '-s', path.join(ROOT, 'rootfs/files/udhcpc.script')],
    { DMVPN_DHCP_LEASE: lease, DMVPN_RESOLV_CONF: path.join(lab.dir, `${r}.resolv.conf`) });
  const log = (r: string) => lab.routers.get(r)!.log.join('\n');

  // R2: option 43
  const d2 = udhcpd(2, [`option 0x2b ${Buffer.from(PNP).toString('hex')}`]);
  const r2lease = factory('R2', `SITE1 ${SECRET}`);
  t.ok(await waitFor(() => /%ENROLL-3-NO_HUB: no hub line in the provisioning file, and no DHCP lease yet \(attempt \d+\); retrying/.test(log('R2')), 30000), 'R2: no lease yet: says so and retries');
  const c2 = udhcpc('R2', r2lease);
  const leased2 = await waitFor(() => fs.existsSync(r2lease) && fs.readFileSync(r2lease, 'utf8'), 30000);
  if (!t.equal(leased2, `ip=172.16.25.2\nrouter=172.16.25.1\ndns=\ndomain=\nopt43=${Buffer.from(PNP).toString('hex')}\n`, 'R2: the hook wrote the lease, option 43 in hex')) t.comment(`udhcpd: ${d2.out.join('')}\nudhcpc: ${c2.out.join('')}`);
  t.match(nsExec(lab.ns('R2'), ['ip', '-4', 'addr', 'show', 'eth0']).stdout.toString(), /inet 172\.16\.25\.2\/30/, 'R2: WAN address from DHCP');
  const r2up = await waitFor(() => hubPeers().some((p) => p.nbma === '172.16.25.2' && p.tunnel === '192.168.0.10' && p.state === 'UP'), 90000);
  t.ok(r2up, 'hub: R2 UP in show dmvpn as 192.168.0.10');
  if (!r2up) t.comment(logs());
  // notice lines: read from the supervisor's own log (show logging), which keeps those of the enrollment
  t.match(lab.ctl('R2', 'show logging'), /enrolling with hub 172\.16\.15\.2 port 4430 \(source: DHCP option 43\)/, 'R2: the hub found by DHCP option 43, logged with its source');
  t.match(lab.ctl('R2', 'show logging'), /enrolled with hub 172\.16\.15\.2: spoke-192-168-0-10, tunnel address 192\.168\.0\.10; startup-config saved/, 'R2: enrolled and saved');

  // R3: DNS: dmvpn-enroll.<domain> asked of the lease's DNS server
  const dns = run(inet, [process.execPath, path.join(ROOT, 'test/util/dns-responder.mjs'), '172.16.35.1', '53', `dmvpn-enroll.${DOMAIN}`, HUB_NBMA]);
  t.ok(await waitFor(() => /listening 53/.test(dns.out.join('')), 15000), 'DNS responder up on R3\'s link');
  // its option 43 names an IPv6 hub (B3), which is refused: discovery goes on to DNS
  udhcpd(3, [`option domain ${DOMAIN}`, 'option dns 172.16.35.1', `option 0x2b ${Buffer.from('5A1D;B3;K5;I2001:db8::1;J4430').toString('hex')}`]);
  const r3lease = factory('R3', `FLEET ${FLEET_SECRET}`);
  udhcpc('R3', r3lease);
  t.ok(await waitFor(() => /query dmvpn-enroll/.test(dns.out.join('')), 45000), 'R3: asks DNS');
  t.match(dns.out.join(''), new RegExp(`query dmvpn-enroll\\.${DOMAIN.replace(/\./g, '\\.')} 1`), 'the lease\'s DNS server was asked for the A record');
  const r3up = await waitFor(() => hubPeers().some((p) => p.nbma === '172.16.35.2' && p.tunnel === '192.168.0.11' && p.state === 'UP'), 90000);
  t.ok(r3up, 'hub: R3 UP in show dmvpn as 192.168.0.11');
  if (!r3up) t.comment(logs());
  t.match(lab.ctl('R3', 'show logging'), /enrolling with hub 172\.16\.15\.2 port 4430 \(source: DNS\)/, 'R3: the hub found by DNS, logged with its source');
  t.match(lab.ctl('R3', 'show logging'), /%ENROLL-3-DISCOVERY: DHCP option 43 refused: address type B3 \(B1, a host name, and B2, IPv4, are taken\)/, 'R3: its malformed option 43 refused with the reason');
  t.match(enrollView()?.admitted ?? [], [{ address: '192.168.0.10', token: 'SITE1' }, { address: '192.168.0.11', token: 'FLEET' }], 'hub: both admitted in show dmvpn enrollment');
  t.ok(nsExec(lab.ns('R3'), ['ping', '-c', '3', '-i', '0.3', '-W', '2', '192.168.0.1'], { allowFail: true }).status === 0, 'R3 pings the hub\'s tunnel address');
  for (const r of ['R2', 'R3']) t.notMatch(log(r), new RegExp(`${SECRET}|${FLEET_SECRET}|PRIVATE KEY`), `${r}: no secret or key in its log`);
});
