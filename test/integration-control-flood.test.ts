// The control plane never starves (issue 14): a GRE data flood at the hub's NBMA address, far more
// than its data plane can take, must not cost a single NHRP packet. An Internet host sends GRE/IPv4
// (spoofed from spoke R2's NBMA address, so the hub decapsulates it and writes it to its TUN, as it
// would a real spoke's data) as fast as it can; meanwhile R2 starts and registers, re-registers every
// second, and resolves R3 (Phase 3). Every Registration Request R2 sent must have reached the hub's NHRP
// engine, while the data drops are counted. R3 registers only at its start (registration timeout
// 120 s), so the hub's count of received requests moves only with R2's during the flood.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { Lab, labConfig, waitFor, sleep, uniquePrefix } from './util/lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'python3']);

const HUB_NBMA = '172.16.15.2';
const R2_NBMA = '172.16.25.2';

/**
 * GRE (protocol 0x0800) around UDP 10.0.2.10 -> 10.0.1.10:9, outer source R2's NBMA address, sent
 * with IP_HDRINCL in a tight loop until killed. The kernel fills in the outer checksum and id.
 */
const FLOOD = `
import socket, struct
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
payload = b'f' * 64
udp = struct.pack('!HHHH', 40000, 9, 8 + len(payload), 0) + payload
inner = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                    socket.inet_aton('10.0.2.10'), socket.inet_aton('10.0.1.10'))
inner = inner[:10] + struct.pack('!H', csum(inner)) + inner[12:] + udp
gre = struct.pack('!HH', 0, 0x0800) + inner
outer = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(gre), 0, 0, 64, 47, 0,
                    socket.inet_aton('${R2_NBMA}'), socket.inet_aton('${HUB_NBMA}')) + gre
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
dst = ('${HUB_NBMA}', 0)
while True:
    for _ in range(10000): s.sendto(outer, dst)
`;

type Traffic = { in: Record<string, number>; out: Record<string, number> };
const traffic = (lab: Lab, r: string): Traffic => lab.ctlJson(r, 'show ip nhrp traffic');
const regOut = (lab: Lab, r: string) => traffic(lab, r).out['registration-request'] ?? 0;
const regIn = (lab: Lab, r: string) => traffic(lab, r).in['registration-request'] ?? 0;
const counters = (lab: Lab, r: string): Record<string, number> => lab.ctlJson(r, 'show dataplane counters');
type Nhs = { requestsSent: number; repliesReceived: number };
const nhsReplies = (lab: Lab, r: string): number => {
  try { return (lab.ctlJson(r, 'show ip nhrp nhs') as Nhs[]).reduce((a, s) => a + s.repliesReceived, 0); } catch { return 0; }
};

/** Starts spoke R2 and returns the seconds until its NHS answered a registration (undefined: none in `ms`). */
async function registerR2(lab: Lab, config: string, ms: number): Promise<number | undefined> {
  const t0 = Date.now();
  lab.start('R2', config);
  const ok = await waitFor(() => nhsReplies(lab, 'R2') > 0, ms, 100);
  return ok ? (Date.now() - t0) / 1000 : undefined;
}

t.test('a GRE data flood at the hub delays no NHRP registration or resolution, and drops no control packet', async (t) => {
  const lab = new Lab(uniquePrefix('ctlf'), 2);
  const floods: ChildProcess[] = [];
  t.teardown(() => { for (const f of floods) f.kill('SIGKILL'); lab.down(); });
  lab.up();
  const cfg = (r: string, registrationTimeout: number) =>
    lab.writeConfig(r, labConfig(r, { holdtime: 360, registrationTimeout }));
  lab.start('R1', cfg('R1', 2));
  lab.start('R3', cfg('R3', 120));
  const r2 = cfg('R2', 1);
  const idle = await registerR2(lab, r2, 30000);
  t.ok(idle !== undefined, `R2 registered with no flood (${idle} s)`);
  t.ok(await waitFor(() => lab.ping(lab.ns('h2'), '10.0.1.10', 1), 20000), 'h2 -> h1 through the hub');

  // R2 goes away; then the flood starts, and R2 comes back under it (its counters start again at 0)
  await lab.stop('R2');
  await sleep(500);
  const r3Base = regOut(lab, 'R3');
  const hubBase = regIn(lab, 'R1');
  const dropsBase = counters(lab, 'R1');
  const floodStart = Date.now();
  for (let i = 0; i < 2; i++) {
    floods.push(spawn('ip', ['netns', 'exec', lab.ns('inet'), 'python3', '-c', FLOOD], { stdio: 'ignore' }));
  }
  const kernelDrops = (c: Record<string, number>) => (c.nbmaRxKernelDrops ?? 0) - (dropsBase.nbmaRxKernelDrops ?? 0);
  t.ok(await waitFor(() => kernelDrops(counters(lab, 'R1')) > 0, 20000), 'the flood overflows the hub\'s NBMA receive queue');

  const underFlood = await registerR2(lab, r2, 60000);
  t.ok(underFlood !== undefined, `R2 registered under the flood (${underFlood} s; idle: ${idle} s)`);

  // Phase 3: h2 -> h3 crosses the hub (data: it may be lost in the flood), the hub redirects, R2
  // resolves R3's LAN through the hub and installs a shortcut
  const shortcut = await waitFor(() => {
    lab.ping(lab.ns('h2'), '10.0.3.10', 1);
    return lab.ctlJson('R2', 'show ip nhrp shortcut').find((e: { prefix: string }) => e.prefix === '10.0.3.0');
  }, 60000, 500);
  t.ok(shortcut, 'R2 resolved R3 under the flood (Phase 3 shortcut installed)');
  // more registration rounds under the flood: enough requests that losing a fifth of them (as the
  // shared queue did) cannot go unseen
  await waitFor(() => regOut(lab, 'R2') >= 20, 30000, 500);

  const r1Flood = counters(lab, 'R1');
  for (const f of floods) f.kill('SIGKILL');
  const secs = (Date.now() - floodStart) / 1000;
  const offered = (r1Flood.nbmaRxPumpPackets ?? 0) - (dropsBase.nbmaRxPumpPackets ?? 0) + kernelDrops(r1Flood);
  t.comment(`flood: ${offered} packets in ${secs.toFixed(1)} s (${Math.round(offered / secs)} pps) at the hub's GRE socket, ` +
    `${kernelDrops(r1Flood)} dropped by its kernel queue; ` +
    `registration ${underFlood} s under the flood, ${idle} s idle`);

  // Control accounting once the flood is over: every Registration Request the spokes sent (R2 since
  // its start, R3 since the base: none expected) reached the hub's NHRP engine. R2 keeps registering
  // every second, so the hub's count is read between two readings of the spokes' and must lie
  // between them; a request lost in the flood never arrives, so the hub stays behind for good.
  const sentNow = () => regOut(lab, 'R2') + regOut(lab, 'R3') - r3Base;
  let sent = 0, got = 0, sentAfter = 0;
  const even = await waitFor(() => {
    sent = sentNow(); got = regIn(lab, 'R1') - hubBase; sentAfter = sentNow();
    return sent <= got && got <= sentAfter;
  }, 15000, 200);
  t.ok(even, `the hub received every Registration Request the spokes sent under the flood (sent ${sent}..${sentAfter}, received ${got})`);
  const c = counters(lab, 'R1');
  t.comment(`hub control: nhrpIn ${c.nhrpIn}, ctlRxFullDrops ${c.ctlRxFullDrops}, nhrpRxKernelDrops ${c.nhrpRxKernelDrops}, ` +
    `nhrpRxFullDrops ${c.nhrpRxFullDrops}, nhrpInDropped ${c.nhrpInDropped}, noticeShed ${c.noticeShed}; data: nbmaRxKernelDrops ${c.nbmaRxKernelDrops}, ` +
    `nbmaRxFullWaits ${c.nbmaRxFullWaits}, tunTxFullWaits ${c.tunTxFullWaits}, dropRingFull ${c.dropRingFull}`);
  t.equal(c.nhrpRxKernelDrops, 0, 'no NHRP packet dropped in front of the hub\'s control ring');
  t.equal(c.nhrpRxFullDrops, 0, 'nor at the control ring');
  t.equal(c.nhrpInDropped, 0, 'nor on the way to the supervisor (ctlRx)');
  t.ok(c.nhrpRxPumpPackets > 0, `NHRP arrived on its own ring (${c.nhrpRxPumpPackets} packets)`);
  t.ok(kernelDrops(c) > 0, `data drops were counted (nbmaRxKernelDrops +${kernelDrops(c)})`);
  t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 3), 'the tunnel carries traffic again after the flood');
});
