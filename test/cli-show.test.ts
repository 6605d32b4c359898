// show dmvpn / show ip nhrp formatters against the seeds' exact text for the same data.
import t from 'tap';
import { formatDmvpn, DmvpnView } from '../appliance/show/dmvpn.js';
import { formatNhrp, NhrpEntryView } from '../appliance/show/nhrp.js';
import { iosTime } from '../appliance/show/time.js';
import { formatInterfaceBrief } from '../appliance/show/interfaces.js';

const hms = (h: number, m: number, s: number) => h * 3600 + m * 60 + s;

// Real IOS 12.4T terminal layout: every value right-aligned under its dash column, e.g. a 12.4T
// capture (IOS typo "Incompletea" and all) reads
//   " ----- --------------- --------------- ----- -------- -----"
//   "     1         1.1.1.1     192.168.1.1    UP 00:03:08 S"
// The seeds' web copies collapsed those runs of spaces; their fields must still match one for one.
const collapse = (l: string) => l.trim().split(/\s+/).join(' ');

t.test('show dmvpn: seed 003 hub R1 in the real 12.4T layout', async t => {
  const v: DmvpnView = { interfaces: [{ name: 'Tunnel0', type: 'Hub', peers: [
    { nbma: '172.16.25.2', tunnel: '192.168.0.2', state: 'UP', upDownSeconds: hms(0, 57, 47), attrs: 'D', entries: 1 },
    { nbma: '172.16.35.2', tunnel: '192.168.0.3', state: 'UP', upDownSeconds: hms(0, 45, 56), attrs: 'D', entries: 1 },
    { nbma: '172.16.45.2', tunnel: '192.168.0.4', state: 'UP', upDownSeconds: hms(0, 45, 46), attrs: 'D', entries: 1 },
  ] }] };
  const ios = [
    'Legend: Attrb --> S - Static, D - Dynamic, I - Incomplete',
    '        N - NATed, L - Local, X - No Socket',
    '        # Ent --> Number of NHRP entries with same NBMA peer',
    '',
    'Tunnel0, Type:Hub, NHRP Peers:3, ',
    ' # Ent  Peer NBMA Addr Peer Tunnel Add State  UpDn Tm Attrb',
    ' ----- --------------- --------------- ----- -------- -----',
    '     1     172.16.25.2     192.168.0.2    UP 00:57:47 D',
    '     1     172.16.35.2     192.168.0.3    UP 00:45:56 D',
    '     1     172.16.45.2     192.168.0.4    UP 00:45:46 D',
    ''].join('\n');
  t.equal(formatDmvpn(v), ios);
  // seed 003 lines 70-79 as captured (spaces collapsed by the web copy): same fields
  const seed = ['Legend: Attrb --> S - Static, D - Dynamic, I - Incomplete', '    N - NATed, L - Local, X - No Socket',
    '    # Ent --> Number of NHRP entries with same NBMA peer', '', 'Tunnel0, Type:Hub, NHRP Peers:3, ',
    ' # Ent  Peer NBMA Addr Peer Tunnel Add State  UpDn Tm Attrb', ' ----- --------------- --------------- ----- -------- -----',
    ' 1     172.16.25.2     192.168.0.2    UP 00:57:47 D    ', ' 1     172.16.35.2     192.168.0.3    UP 00:45:56 D    ',
    ' 1     172.16.45.2     192.168.0.4    UP 00:45:46 D    '];
  t.same(formatDmvpn(v).trimEnd().split('\n').map(collapse), seed.map(collapse));
  t.same(JSON.parse(formatDmvpn(v, 'json')), v);
});

t.test('show dmvpn: values end where their dash column ends, for any address length', async t => {
  const out = formatDmvpn({ interfaces: [{ name: 'Tunnel10', type: 'Spoke', peers: [
    { nbma: '203.0.113.254', tunnel: '10.255.255.254', state: 'NHRP', upDownSeconds: null, attrs: 'DX', entries: 12 },
    { nbma: '1.1.1.1', tunnel: '192.168.1.1', state: 'IKE', upDownSeconds: 86400 * 9, attrs: 'S', entries: 1 },
  ] }] });
  const lines = out.split('\n');
  const dash = lines.find(l => l.startsWith(' -----'))!;
  const ends = [...dash.matchAll(/-+/g)].map(m => m.index! + m[0].length); // column ends: 6 22 38 44 53
  const rows = lines.slice(-3, -1);
  t.same(rows, [
    '    12   203.0.113.254  10.255.255.254  NHRP    never DX',
    '     1         1.1.1.1     192.168.1.1   IKE     1w2d S',
  ]);
  for (const r of rows) {
    const fields = [...r.matchAll(/\S+/g)].slice(0, 5).map(m => m.index! + m[0].length);
    t.same(fields, ends.slice(0, 5), `aligned: ${r}`);
  }
});

t.test('show dmvpn: several entries with one NBMA peer, one row each (IOS 15 capture: "     2 100.100.100.1 ... S" then "... 10.1.0.4 UP ... D")', async t => {
  const v: DmvpnView = { interfaces: [{ name: 'Tunnel0', type: 'Spoke', peers: [
    { nbma: '100.100.100.1', tunnel: '10.1.0.1', state: 'UP', upDownSeconds: hms(0, 55, 19), attrs: 'S', entries: 2, target: '10.1.0.1/32',
      more: [{ tunnel: '10.1.0.4', state: 'UP', upDownSeconds: 6, attrs: 'D', target: '10.1.0.4/32' }] },
  ] }] };
  t.same(formatDmvpn(v).split('\n').slice(-3, -1), [
    '     2   100.100.100.1        10.1.0.1    UP 00:55:19 S',
    '                              10.1.0.4    UP 00:00:06 D',
  ]);
  t.same(formatDmvpn(v, 'detail').split('\n').slice(-3, -1), [
    '    2 100.100.100.1          10.1.0.1    UP 00:55:19    S        10.1.0.1/32',
    '                             10.1.0.4    UP 00:00:06    D        10.1.0.4/32',
  ]);
});

t.test('show dmvpn: a Phase 1 point-to-point spoke and a tunnel that is down', async t => {
  const out = formatDmvpn({ interfaces: [{ name: 'Tunnel999', type: 'Spoke', destination: '1.1.1.1', source: '4.4.4.2', up: true, lineUp: false,
    address: '192.168.1.3', protect: 'P1', peers: [] }] }, 'detail');
  t.match(out, /\nInterface Tunnel999 is up\/down, Addr\. is 192\.168\.1\.3, VRF ""\n   Tunnel Src\.\/Dest\. addr: 4\.4\.4\.2\/1\.1\.1\.1, Tunnel VRF ""\n   Protocol\/Transport: "GRE\/IP", Protect "P1"\nType:Spoke, Total NBMA Peers \(v4\/v6\): 0\n/);
});

t.test('show dmvpn detail (IOS 15 layout)', async t => {
  const out = formatDmvpn({ interfaces: [{ name: 'Tunnel100', type: 'Hub', address: '192.168.200.1', source: '10.10.11.15', peers: [
    { nbma: '10.10.11.28', tunnel: '192.168.200.2', state: 'UP', upDownSeconds: hms(0, 8, 57), attrs: 'D', entries: 1 },
  ] }] }, 'detail');
  t.match(out, /\nInterface Tunnel100 is up\/up, Addr\. is 192\.168\.200\.1, VRF ""\n   Tunnel Src\.\/Dest\. addr: 10\.10\.11\.15\/MGRE, Tunnel VRF ""\n/);
  t.match(out, /\n    1 10\.10\.11\.28       192\.168\.200\.2    UP 00:08:57    D   192\.168\.200\.2\/32\n$/);
});

t.test('show ip nhrp: seed 004 R1 and R3 entries', async t => {
  const e = (prefix: string, nbma: string, created: number, flags: string[]): NhrpEntryView => ({
    prefix, prefixLen: 32, via: prefix, iface: 'Tunnel999', createdSeconds: created, expiresSeconds: null, type: 'static', flags, nbma,
  });
  const r1 = formatNhrp([e('192.168.1.2', '3.3.3.2', hms(0, 44, 20), ['used']), e('192.168.1.3', '4.4.4.2', hms(0, 44, 4), ['used'])]);
  t.equal(r1, [
    '192.168.1.2/32 via 192.168.1.2',
    '   Tunnel999 created 00:44:20, never expire',
    '   Type: static, Flags: used',
    '   NBMA address: 3.3.3.2',
    '192.168.1.3/32 via 192.168.1.3',
    '   Tunnel999 created 00:44:04, never expire',
    '   Type: static, Flags: used',
    '   NBMA address: 4.4.4.2',
    ''].join('\n'));
  const r3 = formatNhrp([e('192.168.1.1', '1.1.1.1', hms(0, 29, 11), [])]);
  // the seed (copied without indentation) shows exactly these lines
  t.same(r3.trimEnd().split('\n').map(l => l.trimStart()), [
    '192.168.1.1/32 via 192.168.1.1', 'Tunnel999 created 00:29:11, never expire', 'Type: static, Flags:', 'NBMA address: 1.1.1.1']);
});

t.test('show ip nhrp dynamic / incomplete / detail / brief', async t => {
  const dyn: NhrpEntryView = { prefix: '10.0.123.2', prefixLen: 32, via: '10.0.123.2', iface: 'Tunnel123', createdSeconds: hms(0, 1, 42),
    expiresSeconds: hms(0, 8, 17), type: 'dynamic', flags: ['registered', 'nhop'], nbma: '200.0.123.2' };
  t.equal(formatNhrp([dyn]), '10.0.123.2/32 via 10.0.123.2\n   Tunnel123 created 00:01:42, expire 00:08:17\n   Type: dynamic, Flags: registered nhop\n   NBMA address: 200.0.123.2\n');
  t.equal(formatNhrp([dyn], 'detail').split('\n')[0], '10.0.123.2/32 via 10.0.123.2, Tunnel123 created 00:01:42, expire 00:08:17');
  const inc: NhrpEntryView = { prefix: '10.1.1.4', prefixLen: 32, via: '10.1.1.4', iface: 'Tunnel1', createdSeconds: 7, expiresSeconds: 177,
    type: 'incomplete', flags: ['negative'], cacheHits: 4 };
  t.equal(formatNhrp([inc]), '10.1.1.4, Tunnel1 created 00:00:07, expire 00:02:57\n   Type: incomplete, Flags: negative\n   Cache hits: 4\n');
  const brief = formatNhrp([{ ...dyn, iface: 'Tunnel0', prefix: '10.0.0.11', via: '10.0.0.11', nbma: '203.0.113.11', flags: ['registered'] }, inc], 'brief');
  t.match(brief, /\n-------- ------------------------------------------- ------ ----------------\nTu0      10\.0\.0\.11 {42}203\.0\.113\.11\n {9}10\.0\.0\.11\/32 {32}D\/r   \n$/);
  t.equal(formatNhrp([], 'default'), '');
  t.same(JSON.parse(formatNhrp([dyn], 'json')), [dyn]);
});

t.test('IOS time formats', async t => {
  t.equal(iosTime(0), '00:00:00');
  t.equal(iosTime(hms(23, 59, 59)), '23:59:59');
  t.equal(iosTime(86400 + 2 * 3600), '1d02h');
  t.equal(iosTime(86400 * 9), '1w2d');
  t.equal(iosTime(86400 * 7 * 53), '1y1w');
  t.equal(iosTime(null), 'never');
});

// Layout of a 12.4 router capture: 'FastEthernet0/0            10.10.1.254     YES manual up                    up'
t.test('show ip interface brief: IOS 12.4 columns; seed 004 R2 rows', async t => {
  const out = formatInterfaceBrief([
    { name: 'FastEthernet0/0', address: '20.1.1.1', adminUp: true, protocolUp: true },
    { name: 'Serial4/0', address: '1.1.1.2', adminUp: true, protocolUp: true },
    { name: 'Tunnel999', address: '192.168.1.1', adminUp: true, protocolUp: false },
    { name: 'Serial4/3', adminUp: false, protocolUp: false },
  ]);
  t.equal(out, [
    'Interface                  IP-Address      OK? Method Status                Protocol',
    'FastEthernet0/0            20.1.1.1        YES manual up                    up',
    'Serial4/0                  1.1.1.2         YES manual up                    up',
    'Tunnel999                  192.168.1.1     YES manual up                    down',
    'Serial4/3                  unassigned      YES unset  administratively down down',
    ''].join('\n'));
});
