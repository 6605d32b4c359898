// Exec-mode commands over a fake ExecContext (no appliance, no data plane): the commands whose text
// is built in appliance/show/ from live counters (nhs, traffic, data-plane counters, crypto SAs,
// version), the json variants, and the debug/clear actions reaching the context. The expected text
// (test/fixtures/exec/) is what these commands printed before their formatters moved to appliance/show/.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ExecCommands } from '../appliance/supervisor/exec.js';
import type { ExecContext } from '../appliance/supervisor/exec-context.js';
import type { NhsStatus } from '../appliance/nhrp/registration-client.js';
import type { SaRow } from '../appliance/dataplane/sa.js';
import type { ApplianceConfig, TunnelConfig } from '../appliance/config/model.js';

/** What each command printed for the state below, in test/fixtures/exec/. */
const EXPECTED: Record<string, string> = {
  'show ip nhrp nhs': 'nhs.txt', 'show ip nhrp traffic': 'nhrp-traffic.txt',
  'show dataplane counters': 'dataplane-counters.txt', 'show crypto ipsec sa': 'crypto-ipsec-sa.txt',
};
const expected = (file: string) => readFileSync(new URL(`./fixtures/exec/${file}`, import.meta.url), 'utf8');

const dpWorkers = [
  { worker: 0, restarts: 0, counters: { tunRxPackets: 120, greTxPackets: 120, greRxPackets: 80, tunTxPackets: 80, espTxPackets: 118, espRxPackets: 80 } },
  { worker: 1, restarts: 1, counters: { tunRxPackets: 3400, greTxPackets: 3400, greRxPackets: 2100, tunTxPackets: 2100, espTxPackets: 3400, espRxPackets: 2100 } },
];
const NOW = 1796396561216;
const nhs: NhsStatus[] = [
  { tunnelIp: '10.0.0.1', nbma: '192.0.2.1', up: true, flags: 'RE', requestsSent: 5, requestsFailed: 1, repliesReceived: 4, lastReplyAt: NOW - 65000, backoff: 0 },
  { tunnelIp: '10.0.0.2', nbma: '192.0.2.2', up: false, flags: 'E', requestsSent: 3, requestsFailed: 3, repliesReceived: 0, backoff: 4 },
  { nbma: '192.0.2.3', up: false, flags: '', requestsSent: 0, requestsFailed: 0, repliesReceived: 0, backoff: 0 },
];
const counters = { in: { RegistrationReply: 4, ResolutionRequest: 2 }, out: { RegistrationRequest: 5 }, drops: { checksum: 1 }, refused: {} };
const dpCounters = { rxPackets: 12, zero: 0, aVeryLongCounterName: 3, tx: 1 };
const drops = (o: Partial<SaRow['drops']> = {}): SaRow['drops'] =>
  ({ replay: 0, tooOld: 0, auth: 0, badPad: 0, badNextHeader: 0, lifetime: 0, malformed: 0, policy: 0, seqLimit: 0, ...o });
const row = (o: Partial<SaRow>): SaRow => ({ index: 0, state: 'active', dir: 'out', spi: 0x1001, peer: 0xc6336402, cipher: 1, enc: 1, integ: 0, icvLen: 16,
  flags: 0, ports: 0, replayWindow: 0, seq: 17n, addedMs: 1, lastMs: 2, packets: 9, bytes: 900, drops: drops(), seqLimit: 0xffffffffffffffffn, events: 0, ...o });
// flags: 1 UDP-encapsulated, 4 tunnel mode, 32 GRE only (dataplane/sa.ts SA_FLAG)
const sas: SaRow[] = [
  row({ index: 0, dir: 'out', spi: 0x1001, flags: 1 | 4 | 32, seqLimit: 4096n, drops: drops({ seqLimit: 2 }) }),
  row({ index: 1, dir: 'in', spi: 0x2002, flags: 1 | 4 | 32, replayWindow: 1024, packets: 7, drops: drops({ replay: 2, tooOld: 1, auth: 3, policy: 4 }) }),
  row({ index: 2, dir: 'in', spi: 0xABCDEF01, peer: 0xc6336403, enc: 4, integ: 2, icvLen: 0, flags: 0, state: 'expired', replayWindow: 64, packets: 0 }),
  row({ index: 3, dir: 'out', spi: 0x3003, peer: 0xc6336404, enc: 6, integ: 1, flags: 32 }),
];
const names: Record<number, string> = { 0: 'r2', 1: 'r2' };
const tunnel = { name: 'Tunnel7', mode: 'gre-multipoint', nhrp: { nhs: [{ tunnelIp: '10.0.0.1', priority: 3, cluster: 2 }, { tunnelIp: '10.0.0.2' }] } } as unknown as TunnelConfig;

function fakeContext() {
  const calls: string[] = [];
  const ctx: ExecContext = {
    startedAt: NOW - 3723000,
    config: () => ({ hostname: 'r1', interfaces: [] }) as unknown as ApplianceConfig,
    tunnel: () => tunnel, tunnelSource: () => '198.51.100.1', overlayUp: () => true, osNameOf: () => undefined,
    kernel: () => ({ routes: () => [], addresses: () => [], since: () => undefined, link: () => undefined }),
    nhrp: () => ({ nhsStatus: () => nhs, counters: () => counters, cacheEntries: () => [], clearCache: () => { calls.push('clearCache'); } }),
    nhrpSendUsage: () => 37, dataplaneCounters: () => dpCounters, dataplaneWorkers: () => dpWorkers,
    reconfigure: async () => ({ ok: false, message: 'not used here' }),
    ipsecSas: () => ({ rows: sas, nameOf: (i) => names[i] ?? `sa${i}` }),
    logLines: () => ['line one', 'line two'],
    debugOn: (f) => { calls.push(`debug ${f}`); }, debugOffAll: () => { calls.push('undebug all'); },
    dataplaneForTest: () => undefined,
    ike: () => ({
      // seed 003's hub: both spokes initiated (dst = the responder, us)
      sas: () => [
        { local: '172.16.15.2', remote: '172.16.25.2', initiator: false, state: 'QM_IDLE', connId: 1001, remotePort: 500, localPort: 500 },
        { local: '172.16.15.2', remote: '172.16.35.2', initiator: false, state: 'QM_IDLE', connId: 1002, remotePort: 500, localPort: 500 },
        // an IKEv2 SA: in show crypto session, not in show crypto isakmp sa (IOS: show crypto ikev2 sa)
        { local: '172.16.15.2', remote: '172.16.45.2', initiator: false, state: 'READY', connId: 1003, remotePort: 500, localPort: 500, version: 2 },
      ],
      children: () => [{ peer: '172.16.25.2', spiIn: 0x1234, spiOut: 0x5678, mode: 'tunnel', udp: false }],
      clear: (peer) => { calls.push(`clear crypto sa ${peer ?? 'all'}`); return 1; },
      clearIsakmp: (id) => { calls.push(`clear crypto isakmp ${id ?? 'all'}`); return 1; },
      counters: () => ({ rxDatagrams: 12, evicted: 3 }),
    }),
  };
  return { ctx, calls };
}

t.test('exec commands over an ExecContext print the IOS text built in appliance/show/', async (t) => {
  const realNow = Date.now;
  Date.now = () => NOW;
  const env = { r: process.env.DMVPN_RESTARTS, c: process.env.DMVPN_LAST_CRASH };
  process.env.DMVPN_RESTARTS = '2'; process.env.DMVPN_LAST_CRASH = 'signal SIGSEGV';
  t.teardown(() => {
    Date.now = realNow;
    if (env.r === undefined) delete process.env.DMVPN_RESTARTS; else process.env.DMVPN_RESTARTS = env.r;
    if (env.c === undefined) delete process.env.DMVPN_LAST_CRASH; else process.env.DMVPN_LAST_CRASH = env.c;
  });
  const { ctx, calls } = fakeContext();
  const exec = new ExecCommands(ctx);
  for (const [cmd, file] of Object.entries(EXPECTED)) t.equal(exec.run(cmd), expected(file), cmd);
  t.equal(exec.run('show version'), [
    `DMVPN appliance firmware, node ${process.version}`,
    "r1 uptime is 01:02:03",
    "Supervisor restarted 2 times by its watchdog (last: signal SIGSEGV)",
  ].join('\n') + '\n', 'show version');
  t.equal(exec.run('show logging'), "line one\nline two\n", 'show logging');
  // json: the raw views, 64-bit SA counters as strings, the peer as a dotted quad
  t.same(JSON.parse(exec.run('show ip nhrp nhs json')), nhs);
  t.same(JSON.parse(exec.run('show ip nhrp traffic json')), counters);
  t.same(JSON.parse(exec.run('show dataplane counters json')), dpCounters);
  t.equal(exec.run('show dataplane workers'), [
    'Worker  TunRx  GreTx  EspTx  GreRx  EspRx  TunTx  Restarts',
    '0         120    120    118     80     80     80         0',
    '1        3400   3400   3400   2100   2100   2100         1',
  ].join('\n') + '\n');
  t.same(JSON.parse(exec.run('show dataplane workers json')), dpWorkers);
  t.equal(exec.run('show crypto ipsec sa json'), "[{\"index\":0,\"state\":\"active\",\"dir\":\"out\",\"spi\":4097,\"peer\":\"198.51.100.2\",\"cipher\":1,\"enc\":1,\"integ\":0,\"icvLen\":16,\"flags\":37,\"ports\":0,\"replayWindow\":0,\"seq\":\"17\",\"addedMs\":1,\"lastMs\":2,\"packets\":9,\"bytes\":900,\"drops\":{\"replay\":0,\"tooOld\":0,\"auth\":0,\"badPad\":0,\"badNextHeader\":0,\"lifetime\":0,\"malformed\":0,\"policy\":0,\"seqLimit\":2},\"seqLimit\":\"4096\",\"events\":0,\"name\":\"r2\"},{\"index\":1,\"state\":\"active\",\"dir\":\"in\",\"spi\":8194,\"peer\":\"198.51.100.2\",\"cipher\":1,\"enc\":1,\"integ\":0,\"icvLen\":16,\"flags\":37,\"ports\":0,\"replayWindow\":1024,\"seq\":\"17\",\"addedMs\":1,\"lastMs\":2,\"packets\":7,\"bytes\":900,\"drops\":{\"replay\":2,\"tooOld\":1,\"auth\":3,\"badPad\":0,\"badNextHeader\":0,\"lifetime\":0,\"malformed\":0,\"policy\":4,\"seqLimit\":0},\"seqLimit\":\"18446744073709551615\",\"events\":0,\"name\":\"r2\"},{\"index\":2,\"state\":\"expired\",\"dir\":\"in\",\"spi\":2882400001,\"peer\":\"198.51.100.3\",\"cipher\":1,\"enc\":4,\"integ\":2,\"icvLen\":0,\"flags\":0,\"ports\":0,\"replayWindow\":64,\"seq\":\"17\",\"addedMs\":1,\"lastMs\":2,\"packets\":0,\"bytes\":900,\"drops\":{\"replay\":0,\"tooOld\":0,\"auth\":0,\"badPad\":0,\"badNextHeader\":0,\"lifetime\":0,\"malformed\":0,\"policy\":0,\"seqLimit\":0},\"seqLimit\":\"18446744073709551615\",\"events\":0,\"name\":\"sa2\"},{\"index\":3,\"state\":\"active\",\"dir\":\"out\",\"spi\":12291,\"peer\":\"198.51.100.4\",\"cipher\":1,\"enc\":6,\"integ\":1,\"icvLen\":16,\"flags\":32,\"ports\":0,\"replayWindow\":0,\"seq\":\"17\",\"addedMs\":1,\"lastMs\":2,\"packets\":9,\"bytes\":900,\"drops\":{\"replay\":0,\"tooOld\":0,\"auth\":0,\"badPad\":0,\"badNextHeader\":0,\"lifetime\":0,\"malformed\":0,\"policy\":0,\"seqLimit\":0},\"seqLimit\":\"18446744073709551615\",\"events\":0,\"name\":\"sa3\"}]\n");
  // actions reach the context, and only through it
  t.equal(exec.run('debug nhrp'), 'NHRP protocol debugging is on\n');
  t.equal(exec.run('undebug all'), 'All possible debugging has been turned off\n');
  t.equal(exec.run('clear ip nhrp'), '');
  t.same(calls, ['debug nhrp', 'undebug all', 'clearCache']);
  // seed 003 (IOS 12.4T), R1's output verbatim
  t.equal(exec.run('show crypto isakmp sa'), [
    'IPv4 Crypto ISAKMP SA',
    'dst             src             state          conn-id slot status',
    '172.16.15.2     172.16.35.2     QM_IDLE           1002    0 ACTIVE',
    '172.16.15.2     172.16.25.2     QM_IDLE           1001    0 ACTIVE',
  ].join('\n') + '\n\n', 'show crypto isakmp sa');
  t.same(JSON.parse(exec.run('show crypto isakmp sa json')).map((r: { connId: number; status: string }) => [r.connId, r.status]), [[1002, 'ACTIVE'], [1001, 'ACTIVE']]);
  const session = exec.run('show crypto session');
  t.match(session, /Peer: 172\.16\.25\.2 port 500\n  IKE SA: local 198\.51\.100\.1\/500 remote 172\.16\.25\.2\/500 Active\n/);
  t.match(session, /Session status: UP-ACTIVE\nPeer: 172\.16\.25\.2/);
  t.match(session, /Session status: UP-IDLE\nPeer: 172\.16\.35\.2/);
  t.match(session, /Peer: 172\.16\.45\.2 port 500/, 'the IKEv2 SA is in show crypto session');
  t.same(JSON.parse(exec.run('show crypto isakmp statistics json')), { rxDatagrams: 12, evicted: 3 });
  t.match(exec.run('show crypto isakmp statistics'), /evicted\s+3/);
  calls.length = 0;
  t.equal(exec.run('clear crypto sa'), '');
  t.equal(exec.run('clear crypto sa peer 172.16.25.2'), '');
  t.equal(exec.run('clear crypto isakmp 1001'), '');
  t.equal(exec.run('debug crypto isakmp'), 'Crypto ISAKMP debugging is on\n');
  t.same(calls, ['clear crypto sa all', 'clear crypto sa 172.16.25.2', 'clear crypto isakmp 1001', 'debug isakmp']);
});

t.test('exec commands before the tunnel runs: empty views, not errors', async (t) => {
  const { ctx } = fakeContext();
  const down: ExecContext = { ...ctx, nhrp: () => undefined, dataplaneCounters: () => undefined, dataplaneWorkers: () => undefined, ipsecSas: () => undefined, tunnel: () => undefined };
  const exec = new ExecCommands(down);
  t.equal(exec.run('show crypto ipsec sa'), '');
  t.equal(exec.run('show crypto ipsec sa json'), '[]\n');
  t.equal(exec.run('show dataplane counters'), '\n');
  t.equal(exec.run('show dataplane workers'), '% No data plane is running\n');
  t.equal(exec.run('show ip nhrp nhs'), 'Legend: E=Expecting replies, R=Responding, W=Waiting\nTunnel0:\n');
  t.equal(exec.run('show ip nhrp traffic'), [
    'Tunnel0: Max-send limit:100Pkts/10Sec, Usage:37%', '   Sent: none', '   Rcvd: none', '   Dropped: none', '   Refused: none',
  ].join('\n') + '\n');
  t.equal(exec.run('clear ip nhrp'), '');
});
