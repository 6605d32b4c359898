// Hub discovery and the hub's clock for a factory box (docs/enrollment.md): the Cisco PnP option 43
// string and the lease file parsed strictly against hostile input, the udhcpc hook's lease file written
// from hostile DHCP values, the order provisioning file > option 43 > DNS, the A record asked of the
// lease's DNS server (a real UDP responder), a wrong hub named by DHCP refused by the pin with nothing
// sent, and the clock stepped from an admitted answer (an injected setter) before the config is saved.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { parsePnpOption43, parseLease, discoverHub, readLeaseFile, resolve4With, MAX_LEASE_BYTES, type DiscoveryDeps } from '../appliance/enroll/discovery.js';
import { decideClock, followHubClock, EARLIEST_HUB_TIME } from '../appliance/enroll/hub-clock.js';
import { enrollUntilAdmitted } from '../appliance/enroll/enroll-loop.js';
import { EnrollProgress } from '../appliance/enroll/enroll-progress.js';
import { parseProvisioning, type Provisioning } from '../appliance/enroll/provisioning.js';
import { decodeAnswer } from '../appliance/enroll/codec.js';
import { EnrollmentService } from '../appliance/enroll/service.js';
import { EnrollmentListener } from '../appliance/enroll/listener.js';
import { pinOf } from '../appliance/enroll/credentials.js';
import { emptyState } from '../appliance/enroll/bindings.js';
import { parseStartupConfig } from '../appliance/config/load.js';
import { certificateRequest } from '../appliance/ike/pki/csr.js';
import { TestCa } from './util/pki.js';
import { ROOT, waitFor } from './util/lab.js';
import { requireTools } from './util/needs.js';

requireTools(t, ['openssl', 'busybox', 'ip']);

const SECRET = 'correct-horse-battery-staple';
const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');
const PNP = '5A1D;B2;K4;I172.19.45.222;J80';

t.test('option 43 in the Cisco PnP string form: the fields used taken, others skipped, malformed refused with the reason', async (t) => {
  const p = (s: string | Buffer) => parsePnpOption43(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
  t.same(p(PNP), { hub: '172.19.45.222', port: 80 }, 'Cisco\'s example: I address, J port');
  t.same(p('5A1N;I10.1.2.3'), { hub: '10.1.2.3', port: 4430 }, 'no J: the enrollment port');
  t.same(p('5A1D;K5;T1;Z10.0.0.9;B2;I10.1.2.3;J4431;'), { hub: '10.1.2.3', port: 4431 }, 'K, T, Z skipped, any order, a trailing ;');
  t.same(p(Buffer.concat([Buffer.from('5A1D;I10.1.2.3'), Buffer.alloc(3)])), { hub: '10.1.2.3', port: 4430 }, 'trailing NULs dropped (RFC 2132)');
  t.same(p('5A1N;B1;K4;IPnP-Server.Example.NET;J4431'), { name: 'pnp-server.example.net', port: 4431 }, 'B1: a host name (resolved by discovery)');
  t.same(p('5A1N;Ihub.example.net'), { name: 'hub.example.net', port: 4430 }, 'no B and not an address: a host name');
  const refused: Array<[string | Buffer, RegExp]> = [
    ['', /length 0/], [Buffer.alloc(256, 0x41), /length 256/],
    ['5A1D;I10.1.2.3\nJ80', /not printable/], [Buffer.from([0x35, 0x41, 0x31, 0x44, 0x3b, 0xc3, 0xa9]), /not printable/],
    ['I10.1.2.3;J80', /does not start with 5A1D/], ['5A1X;I10.1.2.3', /does not start with 5A1D/], ['5A2D;I10.1.2.3', /does not start/],
    ['5A1D;B3;I2001:db8::1', /address type B3 \(B1, a host name, and B2, IPv4, are taken\)/], ['5A1D;B4;I10.1.2.3', /address type B4/],
    ['5A1D;B1;I10.1.2.3', /I10\.1\.2\.3 is not a host name/], ['5A1D;B1;Ihub_1.example.net', /not a host name/], ['5A1D;Ihub..example', /not a host name/],
    ['5A1D;B2;Ihub.example.net', /Ihub\.example\.net is not an IPv4 address/], ['5A1D;B1;Ihub.example.net;J99999', /J99999 is not a port/],
    ['5A1D;B2;J80', /no I field/], ['5A1D;I10.1.2.256', /is not an IPv4 address/], ['5A1D;I010.1.2.3x', /not an IPv4/], ['5A1D;I010.1.2.3', /I010\.1\.2\.3 is not an IPv4/], ['5A1D;I10.1.2', /not an IPv4/],
    ['5A1D;I10.1.2.3;J0', /J0 is not a port/], ['5A1D;I10.1.2.3;J65536', /J65536 is not a port/], ['5A1D;I10.1.2.3;J8a', /not a port/], ['5A1D;I10.1.2.3;J', /J is not a port/],
    ['5A1D;I0.0.0.0', /I0\.0\.0\.0 is not a unicast host address/], ['5A1D;I0.1.2.3;J4430', /I0\.1\.2\.3 is not a unicast/],
    ['5A1D;I224.0.0.5', /not a unicast/], ['5A1D;I255.255.255.255', /not a unicast/], ['5A1D;I240.1.2.3', /not a unicast/],
    ['5A1D;I10.1.2.3;I10.9.9.9', /field I given twice/], ['5A1D;i10.1.2.3', /capital letter/], ['5A1D;;I10.1.2.3', /capital letter/],
  ];
  for (const [s, why] of refused) t.match(p(s), why, `refused: ${JSON.stringify(typeof s === 'string' ? s : `${s.length} bytes`).slice(0, 40)}`);
  t.ok(String(p(`5A1D;I${'9'.repeat(200)}`)).length < 120, 'a long bad value is quoted only in part');
});

t.test('the lease file: every line checked; oversized, bad hex, unknown, repeated and injected lines refused', async (t) => {
  const good = `ip=172.16.25.2\nrouter=172.16.25.1\ndns=172.16.25.1 192.0.2.53\ndomain=Branch.Example.NET\nopt43=${hex(PNP)}\n`;
  t.same(parseLease(good), { ip: '172.16.25.2', router: ['172.16.25.1'], dns: ['172.16.25.1', '192.0.2.53'], domain: 'branch.example.net', opt43: Buffer.from(PNP) }, 'parsed, domain lowercased');
  t.same(parseLease('ip=\nrouter=\ndns=\ndomain=\nopt43=\n'), { router: [], dns: [] }, 'empty values: absent');
  const refused: Array<[string, RegExp]> = [
    [`opt43=${'41'.repeat(MAX_LEASE_BYTES)}\n`, /larger than 2048 bytes/],
    ['opt43=414\n', /opt43 is not hex/], ['opt43=4G\n', /opt43 is not hex/], [`opt43=${'41'.repeat(256)}\n`, /hex of 1-255 bytes/],
    ['ip=1.2.3.4\nip=5.6.7.8\n', /line 2: ip given twice/], ['domain=a.com\ndomain=b.com\n', /domain given twice/],
    ['hub=1.2.3.4\n', /unknown key "hub"/], ['ip 1.2.3.4\n', /line 1 is not key=printable/], ['ip=1.2.3.4\r\n', /not key=printable/],
    ['domain=ex\u00e4mple.com\n', /not key=printable/], ['domain=a\tb\n', /not key=printable/],
    ['ip=1.2.3.256\n', /ip is not an IPv4/], ['dns=8.8.8.010\n', /dns is not a list/], ['router=1.2.3.4  5.6.7.8\n', /router is not a list/], [`dns=${Array(9).fill('1.1.1.1').join(' ')}\n`, /at most 8/],
    ['domain=-bad.com\n', /not a DNS domain/], [`domain=${'a'.repeat(64)}.com\n`, /not a DNS domain/], ['domain=a..com\n', /not a DNS domain/], ['domain=a_b.com\n', /not a DNS domain/],
    [`domain=${Array(60).fill('abcd').join('.')}\n`, /not a DNS domain/],
  ];
  for (const [s, why] of refused) t.match(parseLease(s), why, `refused: ${JSON.stringify(s).slice(0, 50)}`);
  // a value with an injected line (a lease file not written by our hook) cannot add a key twice or a new one
  t.match(parseLease(`domain=a.com\nopt43=${hex('5A1D;I6.6.6.6')}\nopt43=${hex('5A1D;I7.7.7.7')}\n`), /opt43 given twice/, 'an injected second opt43: refused');
});

t.test('the udhcpc hook writes the lease file whole, leaving out values with characters they cannot have', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztd-hook-'));
  // the hook changes addresses and routes: it runs in a namespace of its own, on an eth0 of its own, never on
  // this host's interfaces (a veth pair; busybox sh runs its own `ip` applet whatever PATH says)
  const ns = `ztd-hook-${process.pid}`;
  spawnSync('ip', ['netns', 'del', ns]);
  t.teardown(() => { spawnSync('ip', ['netns', 'del', ns]); fs.rmSync(dir, { recursive: true, force: true }); });
  for (const args of [['netns', 'add', ns], ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p'], ['-n', ns, 'link', 'set', 'eth0', 'up']]) {
    if (spawnSync('ip', args).status !== 0) { t.fail(`ip ${args.join(' ')}`); return; }
  }
  const lease = path.join(dir, 'dhcp.lease');
  const hook = (event: string, env: Record<string, string>) => spawnSync('ip', ['netns', 'exec', ns, 'busybox', 'sh', path.join(ROOT, 'rootfs/files/udhcpc.script'), event], {
    env: { PATH: process.env.PATH, DMVPN_DHCP_LEASE: lease, DMVPN_RESOLV_CONF: path.join(dir, 'resolv.conf'), interface: 'eth0', ...env }, encoding: 'utf8' });
  const inNs = (...args: string[]) => spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' }).stdout;
  const r = hook('bound', { ip: '172.16.25.2', mask: '30', router: '172.16.25.1', dns: '172.16.25.1 192.0.2.53', domain: 'branch.example.net', opt43: hex(PNP) });
  t.equal(r.status, 0, 'hook exits 0');
  t.equal(fs.readFileSync(lease, 'utf8'), `ip=172.16.25.2\nrouter=172.16.25.1\ndns=172.16.25.1 192.0.2.53\ndomain=branch.example.net\nopt43=${hex(PNP)}\n`, 'the lease file');
  t.match(parseLease(fs.readFileSync(lease, 'utf8')), { domain: 'branch.example.net', opt43: Buffer.from(PNP) }, 'and it parses');
  t.match(inNs('-4', 'addr', 'show', 'eth0'), /inet 172\.16\.25\.2\/30/, 'address applied (in the hook\'s namespace)');
  t.match(inNs('-4', 'route'), /^default via 172\.16\.25\.1 dev eth0/m, 'default route applied');
  t.equal(fs.readFileSync(path.join(dir, 'resolv.conf'), 'utf8'), 'nameserver 172.16.25.1\nnameserver 192.0.2.53\n', 'resolv.conf');
  t.notOk(fs.existsSync(`${lease}.tmp`), 'no temporary file left');
  // hostile values: a newline and a key of its own in the domain, shell syntax, non-hex in opt43
  hook('renew', { ip: '172.16.25.2', router: '172.16.25.1\nopt43=41', dns: '$(touch /tmp/x)', domain: `evil.com\nopt43=${hex('5A1D;I6.6.6.6')}`, opt43: `${hex(PNP)}\n` });
  const text = fs.readFileSync(lease, 'utf8');
  t.equal(text, 'ip=172.16.25.2\nrouter=\ndns=\ndomain=\nopt43=\n', 'every hostile value left out, no line injected');
  t.same(parseLease(text), { ip: '172.16.25.2', router: [], dns: [] }, 'parses to nothing usable');
  hook('deconfig', {});
  t.notOk(fs.existsSync(lease), 'deconfig: the lease file removed (no stale hub)');
});

const PROV = (hub = '') => parseProvisioning(`${hub}pin sha256//${Buffer.alloc(32, 1).toString('base64')}\ntoken SITE1 ${SECRET}\n`) as Provisioning;

t.test('discovery order: provisioning file, then option 43, then DNS; each refusal named', async (t) => {
  t.match(parseProvisioning(`pin sha256//${Buffer.alloc(32, 1).toString('base64')}\ntoken SITE1 ${SECRET}\n`), { port: 4430, token: 'SITE1' }, 'a provisioning file without a hub line is accepted');
  t.notOk('hub' in PROV(), 'and has no hub');
  const asked: Array<[string[], string]> = [];
  const logged: string[] = [];
  let lease: string | undefined;
  let answer: () => Promise<string[]> = async () => ['198.51.100.7'];
  const deps: DiscoveryDeps = { readLease: () => lease, resolve4: (s, n) => { asked.push([s, n]); return answer(); }, log: (s) => logged.push(s) };
  lease = `dns=192.0.2.53\ndomain=branch.example.net\nopt43=${hex(PNP)}\n`;
  t.same(await discoverHub(PROV('hub 203.0.113.1 port 4431\n'), deps), { hub: '203.0.113.1', port: 4431, source: 'provisioning file' }, 'a hub line wins over the lease');
  t.same(await discoverHub(PROV(), deps), { hub: '172.19.45.222', port: 80, source: 'DHCP option 43' }, 'then option 43');
  t.equal(asked.length, 0, 'DNS not asked while an earlier source names the hub');
  lease = `dns=192.0.2.53 192.0.2.54\ndomain=branch.example.net\nopt43=${hex('5A1D;B1;Ihub.example.net;J4432')}\n`;
  t.same(await discoverHub(PROV(), deps), { hub: '198.51.100.7', port: 4432, source: 'DHCP option 43' }, 'option 43 naming a host: its A record, option 43\'s port');
  t.same(asked, [[['192.0.2.53', '192.0.2.54'], 'hub.example.net']], 'asked of the lease\'s DNS servers');
  asked.length = 0;
  answer = async (): Promise<string[]> => { if (asked.length === 1) throw Object.assign(new Error('queryA ENOTFOUND'), { code: 'ENOTFOUND' }); return ['198.51.100.6']; };
  t.same(await discoverHub(PROV(), deps), { hub: '198.51.100.6', port: 4430, source: 'DNS' }, 'option 43\'s host not found: then DNS');
  t.same(asked.map((a) => a[1]), ['hub.example.net', 'dmvpn-enroll.branch.example.net'], 'both names asked, in order');
  t.match(logged, [/DHCP option 43 names hub\.example\.net: hub\.example\.net: ENOTFOUND/], 'the unresolved name logged');
  asked.length = 0; logged.length = 0;
  answer = async () => ['198.51.100.7'];
  lease = `dns=192.0.2.53 192.0.2.54\ndomain=branch.example.net\nopt43=${hex('5A1D;B3;I2001:db8::1')}\n`;
  t.same(await discoverHub(PROV(), deps), { hub: '198.51.100.7', port: 4430, source: 'DNS' }, 'a refused option 43: then DNS');
  t.same(asked, [[['192.0.2.53', '192.0.2.54'], 'dmvpn-enroll.branch.example.net']], 'the A record of dmvpn-enroll.<domain> asked of the lease\'s DNS servers');
  t.match(logged, [/DHCP option 43 refused: address type B3/], 'the refused option 43 logged with its reason');
  answer = async () => ['not-an-address', '198.51.100.8'];
  t.match(await discoverHub(PROV(), deps), { hub: '198.51.100.8' }, 'only an IPv4 answer taken');
  answer = async () => ['0.0.0.0', '239.1.1.1', '255.255.255.255', '198.51.100.9'];
  t.match(await discoverHub(PROV(), deps), { hub: '198.51.100.9' }, 'this-network, multicast and broadcast answers passed over');
  answer = async () => ['0.0.0.0'];
  t.match(await discoverHub(PROV(), deps), /dmvpn-enroll\.branch\.example\.net names no unicast host address \(0\.0\.0\.0\)/, 'only such answers: none taken, why said');
  answer = async () => { throw Object.assign(new Error('queryA ENOTFOUND'), { code: 'ENOTFOUND' }); };
  t.match(await discoverHub(PROV(), deps), /DHCP lease: option 43 refused \(address type B3.*\), dmvpn-enroll\.branch\.example\.net: ENOTFOUND/, 'nothing found: why, for each source');
  lease = `opt43=${hex('5A1D;B1;Ihub.example.net')}\n`;
  t.match(await discoverHub(PROV(), deps), /DHCP lease: option 43 names hub\.example\.net: no DNS server, no domain for DNS/, 'a host name but no DNS server to ask');
  lease = 'ip=172.16.25.2\n';
  t.match(await discoverHub(PROV(), deps), /DHCP lease: no option 43, no domain for DNS/, 'a lease without either');
  lease = 'domain=x.net\n';
  t.match(await discoverHub(PROV(), deps), /dmvpn-enroll\.x\.net: no DNS server/, 'a domain but no DNS server');
  lease = undefined;
  t.match(await discoverHub(PROV(), deps), /no DHCP lease yet/, 'no lease yet');
  lease = `opt43=${hex(PNP)}\nopt43=${hex(PNP)}\n`;
  t.match(await discoverHub(PROV(), deps), /the DHCP lease is refused: line 2: opt43 given twice/, 'a refused lease: nothing taken from it');
  t.match(await discoverHub(PROV(), { ...deps, readLease: () => { throw new Error('EISDIR: illegal operation on a directory'); } }), /DHCP lease is unreadable \(EISDIR/, 'an unreadable lease named');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ztd-lease-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.equal(readLeaseFile(path.join(dir, 'none')), undefined, 'no lease file: undefined');
  t.equal(readLeaseFile(undefined), undefined, 'no lease path: undefined');
  fs.writeFileSync(path.join(dir, 'big'), 'x'.repeat(MAX_LEASE_BYTES + 1));
  t.throws(() => readLeaseFile(path.join(dir, 'big')), /larger than 2048/, 'an oversized file refused without reading it all');
});

t.test('the A record asked of the lease\'s DNS server over UDP (a real responder)', async (t) => {
  const dns = spawn(process.execPath, [path.join(ROOT, 'test/util/dns-responder.mjs'), '127.0.0.1', '0', 'dmvpn-enroll.branch.example.net', '198.51.100.9'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { dns.kill(); });
  let out = '';
  dns.stdout.on('data', (b) => { out += b; });
  const port = await waitFor(() => /listening (\d+)/.exec(out)?.[1], 10000);
  t.ok(port, 'responder up');
  t.same(await resolve4With([`127.0.0.1:${port}`], 'dmvpn-enroll.branch.example.net'), ['198.51.100.9'], 'A record');
  await t.rejects(resolve4With([`127.0.0.1:${port}`], 'dmvpn-enroll.other.example'), { code: 'ENOTFOUND' }, 'another name: not found');
  const lease = `dns=127.0.0.1\ndomain=branch.example.net\n`;
  const found = await discoverHub(PROV(), { readLease: () => lease, resolve4: (s, n) => resolve4With(s.map((a) => `${a}:${port}`), n), log: () => undefined });
  t.same(found, { hub: '198.51.100.9', port: 4430, source: 'DNS' }, 'discovered by DNS');
  t.match(out, /query dmvpn-enroll\.branch\.example\.net 1/, 'the responder was asked');
  // option 43 naming the hub (B1): the same responder knows only dmvpn-enroll.<domain>, so a name it
  // does not know falls through to that one
  const named = `dns=127.0.0.1\ndomain=branch.example.net\nopt43=${hex('5A1N;B1;Ipnp.other.example;J4431')}\n`;
  const viaDns = await discoverHub(PROV(), { readLease: () => named, resolve4: (s, n) => resolve4With(s.map((a) => `${a}:${port}`), n), log: () => undefined });
  t.same(viaDns, { hub: '198.51.100.9', port: 4430, source: 'DNS' }, 'option 43\'s unknown host: NXDOMAIN, then dmvpn-enroll.<domain>');
  t.match(out, /query pnp\.other\.example 1/, 'option 43\'s name was asked first');
  const known = `dns=127.0.0.1\nopt43=${hex('5A1N;B1;Idmvpn-enroll.branch.example.net;J4431')}\n`;
  const viaOpt43 = await discoverHub(PROV(), { readLease: () => known, resolve4: (s, n) => resolve4With(s.map((a) => `${a}:${port}`), n), log: () => undefined });
  t.same(viaOpt43, { hub: '198.51.100.9', port: 4431, source: 'DHCP option 43' }, 'option 43\'s host resolved over UDP');
});

t.test('the hub\'s time: stepped when over a minute off and the box owns its clock; absurd times refused', async (t) => {
  const local = Date.UTC(2026, 11, 5, 12);
  t.same(decideClock(local + 30_000, local), { keep: 30_000 }, 'within a minute: kept');
  t.same(decideClock(local - 3_600_000, local), { step: -3_600_000 }, 'an hour ahead: stepped back');
  for (const bad of [0, EARLIEST_HUB_TIME - 1, Date.UTC(2100, 0, 1), Date.UTC(2200, 0, 1), NaN, 1.5e12 + 0.5, Number.MAX_SAFE_INTEGER]) t.match(decideClock(bad, local), { refused: /the hub's time .* is outside 2026-01-01 - 2100-01-01/ }, `refused: ${bad}`);
  const steps: number[] = [];
  const logs: string[] = [];
  let clock = Date.UTC(1970, 0, 2);
  const o = { setClock: async (ms: number) => { steps.push(ms); clock += ms; }, now: () => clock, log: (l: string, m: string, s: string) => logs.push(`${l} ${m} ${s}`) };
  await followHubClock(local, o);
  t.same(steps, [local - Date.UTC(1970, 0, 2)], 'a box in 1970: stepped to the hub\'s time');
  t.match(logs[0], /^notice CLOCK clock stepped by \d+ s to the hub's time 2026-12-05T12:00:00\.000Z \(was 1970-01-02/, 'logged');
  await followHubClock(Date.UTC(1999, 0, 1), o);
  t.equal(steps.length, 1, 'an absurd hub time: not stepped');
  t.match(logs[1], /^error CLOCK the hub's time 1999-01-01T00:00:00\.000Z is outside .*: clock not set from it/, 'and says so');
  await followHubClock(undefined, o);
  t.equal(logs.length, 2, 'no time in the answer (an older hub): nothing done');
  clock = Date.UTC(1970, 0, 2);
  await followHubClock(local, { ...o, setClock: undefined });
  t.match(logs[2], /^warn CLOCK the clock is \d+ s off the hub's; not set \(this box does not own its clock\)/, 'no permission to set it: a warning only');
  await followHubClock(local, { ...o, setClock: async () => undefined });
  t.match(logs[3], /^error CLOCK the clock could not be stepped to the hub's time 2026-12-05T12:00:00\.000Z \(it reads 1970-01-02/, 'a step that did not take (date -s failed): said so, not "stepped"');
  t.equal(decodeAnswer(Buffer.from(JSON.stringify({ v: 1, status: 'admitted', address: 'a', hostname: 'h', config: 'c', certificate: 'x', ca: 'y', time: 'soon' }))), 'time is not a whole number of milliseconds', 'a non-numeric time: the answer refused');
  const refused = decodeAnswer(Buffer.from(JSON.stringify({ v: 1, status: 'refused', reason: 'bad-token\n%SYS-0-FAKE: x', message: `no\r\n2026 R9: %SEC-0-FORGED: \u001b[2J${'x'.repeat(1000)}` })));
  t.ok(typeof refused === 'object' && refused.status === 'refused', 'a refusal with hostile text still reads as a refusal');
  if (typeof refused === 'object' && refused.status === 'refused') {
    t.notMatch(refused.reason + refused.message, /[\r\n\u001b]/, 'hub text: no line break or escape reaches the log');
    t.ok(refused.message.length <= 303, `hub text capped (${refused.message.length} characters)`);
    t.match(refused.reason, /^bad-token\?%SYS/, 'the control character shown as ?');
  }
  const pending = decodeAnswer(Buffer.from(JSON.stringify({ v: 1, status: 'pending', message: 'wait\nfor approval' })));
  t.same(pending, { v: 1, status: 'pending', message: 'wait?for approval' }, 'a pending answer\'s message made one line');
});

t.test('the loop: a wrong hub named by DHCP is refused by the pin with nothing sent; the right one admits and the clock is set before the save', async (t) => {
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const caPem = ca.ca('lab');
  const hubPem = ca.leaf('hub', 'lab', ['127.0.0.1']);
  const creds = { tlsCert: hubPem, tlsKey: ca.read('hub.key'), caCert: caPem, caKey: ca.read('lab.key'), pin: pinOf(hubPem) };
  // an impostor a hostile DHCP server points at: its own key, counting what reaches it
  const impPem = ca.leaf('impostor', 'lab', ['127.0.0.1']);
  let received = 0, connections = 0;
  const impostor = tls.createServer({ cert: impPem, key: ca.read('impostor.key'), minVersion: 'TLSv1.3' }, (s) => { s.on('data', (b) => { received += b.length; }); s.on('error', () => undefined); });
  impostor.on('connection', () => { connections++; });
  impostor.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
  t.teardown(() => impostor.close());
  const impPort = (impostor.address() as { port: number }).port;
  const prov = parseProvisioning(`pin ${creds.pin}\ntoken SITE1 ${SECRET}\n`) as Provisioning;
  const { privateKey } = generateKeyPairSync('ed25519');
  const csr = certificateRequest(privateKey, 'CN=factory');
  let lease = `opt43=${hex(`5A1D;B2;K5;I127.0.0.1;J${impPort}`)}\n`;
  const locate = () => discoverHub(prov, { readLease: () => lease, resolve4: async () => [], log: () => undefined });
  const events: string[] = [];
  const progress = new EnrollProgress('SITE1', 'test');
  const log = (l: string, m: string, s: string) => { events.push(`${m} ${s}`); if (m === 'FAILED') progress.stop(); };
  const saved: string[] = [];
  const r1 = await enrollUntilAdmitted(prov, privateKey, csr, { log, locate, save: (c) => saved.push(c), baseMs: 50, observer: progress });
  t.equal(r1, undefined, 'not admitted');
  t.match(events.join('\n'), new RegExp(`HUB enrolling with hub 127\\.0\\.0\\.1 port ${impPort} \\(source: DHCP option 43\\)\\nFAILED hub 127\\.0\\.0\\.1 presented key sha256//\\S+, not the pinned one: nothing sent`), 'the source logged, the impostor refused by the pin');
  t.ok(connections >= 1, 'the client did connect to the impostor');
  t.equal(received, 0, 'and received not a byte: the token never left the box');
  t.equal(saved.length, 0, 'nothing saved');

  // the real hub: its clock in 2030, the box's wherever it is; the setter injected
  const enrollment = parseStartupConfig(['dmvpn enrollment', ' trustpoint HUB', ' ca-keypair CA-KEY', ` token SITE1 ${SECRET}`, ' pool 192.168.0.10 192.168.0.20', ' template spoke.cfg', 'end'].join('\n'));
  if (!enrollment.ok) { t.fail('hub config'); return; }
  const hubNow = new Date('2030-06-01T00:00:00Z');
  const template = fs.readFileSync(path.join(ROOT, 'test/fixtures/enroll-spoke-template.cfg'), 'utf8');
  const svc = new EnrollmentService({ config: () => enrollment.config.enrollment, credentials: () => creds, template: () => template, state: emptyState(), save: () => undefined, log: () => undefined, now: () => hubNow });
  const listener = new EnrollmentListener(svc);
  const port = await listener.listen(creds, 0, '127.0.0.1');
  t.teardown(() => listener.close());
  lease = `opt43=${hex(`5A1D;B2;I127.0.0.1;J${port}`)}\n`;
  events.length = 0;
  const steps: number[] = [];
  let shift = 0; // the box's clock: the real one moved by what the injected setter stepped
  const r2 = await enrollUntilAdmitted(prov, privateKey, csr, {
    log, locate, baseMs: 50,
    followClock: (ms) => followHubClock(ms, { setClock: async (off) => { steps.push(off); shift += off; events.push('STEP'); }, now: () => Date.now() + shift, log }),
    save: (c) => { saved.push(c); events.push('SAVE'); },
  });
  t.equal(r2, '192.168.0.10', 'admitted through the hub option 43 named');
  t.equal(steps.length, 1, 'the clock stepped once');
  t.ok(Math.abs(Date.now() + steps[0] - hubNow.getTime()) < 60_000, 'to the hub\'s time');
  const order = events.filter((e) => e === 'STEP' || e === 'SAVE');
  t.same(order, ['STEP', 'SAVE'], 'before the config (and its certificates) is saved');
  t.match(events.join('\n'), /CLOCK clock stepped by \d+ s to the hub's time 2030-06-01T00:00:00\.000Z/, 'logged');
});
