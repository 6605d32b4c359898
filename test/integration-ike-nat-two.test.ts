// Two spokes (R3, R4) behind one nftables masquerade NAT with seed 003's crypto block (IKEv1, NAT-T):
// they reach the hub from the same public address on different ports. The hub negotiates one ISAKMP SA
// and one IPsec SA pair per spoke (per public address + port), ties each tunnel address to the SA pair
// its registration came through, and sends to the right spoke: both register, and h3, h4 and h1 reach
// each other (spoke to spoke through the hub: a shortcut between two spokes behind one NAT would need
// hairpin NAT). Only ESP in UDP 4500 and IKE on the hub's link. When R4 restarts, its INITIAL-CONTACT
// clears its own old SAs at the hub, not R3's (same address, other identity).
import t from 'tap';
import { Lab, labConfig, waitFor, sleep } from './util/lab.js';
import { putBehindNat, natSpokeConfig } from './util/nat.js';
import { withSeedCrypto } from './util/seed003-crypto.js';
import { capture } from './util/esp-lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { tshark } from './util/tshark.js';
import path from 'node:path';

requireTools(t, [...LAB_NEEDS, 'nft', 'tshark']);

const lab = new Lab(`ni-nt${process.pid % 1000}`, 3);
const PUBLIC = '172.16.99.2';
const peersOf = (r: string) => { try { return lab.ctlJson(r, 'show dmvpn').interfaces[0].peers as Array<{ tunnel: string; nbma: string; state: string; attrs?: string }>; } catch { return []; } };
const logs = () => [...lab.routers.values()].map((r) => `--- ${r.name}\n${r.log.slice(-80).join('\n')}`).join('\n');
let stopCapture: (() => Promise<void>) | undefined;
const pcap = path.join(lab.dir, 'hub-wan.pcap');
t.teardown(async () => { await stopCapture?.(); lab.down(); });

t.before(async () => {
  lab.up();
  putBehindNat(lab, [3, 4], { publicIp: PUBLIC, inetLink: 'r99' });
  stopCapture = (await capture(lab.ns('inet'), 'r1', pcap, '')).stop;
  const base = (r: string) => labConfig(r, { holdtime: 60, registrationTimeout: 5, phase1: true });
  lab.start('R1', lab.writeConfig('R1', withSeedCrypto(base('R1'))));
  for (const n of [3, 4]) lab.start(`R${n}`, lab.writeConfig(`R${n}`, withSeedCrypto(natSpokeConfig(base(`R${n}`), n))));
});

t.test('both spokes register through their own SAs from the same public address', async (t) => {
  const up = await waitFor(() => peersOf('R1').filter((p) => p.state === 'UP').length === 2, 90000);
  t.ok(up, 'the hub shows both spokes UP');
  if (!up) { t.comment(logs()); return; }
  for (const tunnel of ['192.168.0.3', '192.168.0.4']) t.equal(peersOf('R1').find((p) => p.tunnel === tunnel)?.nbma, PUBLIC, `${tunnel} at the NAT's public address`);
  const isakmp = lab.ctlJson<Array<{ dst: string; src: string; state: string; remotePort?: number }>>('R1', 'show crypto isakmp sa').filter((s) => [s.src, s.dst].includes(PUBLIC));
  t.equal(isakmp.filter((s) => s.state === 'QM_IDLE').length, 2, `two ISAKMP SAs with ${PUBLIC}, one per spoke`);
  const sas = lab.ctlJson<Array<{ peer: string; dir: string; ports: number }>>('R1', 'show crypto ipsec sa').filter((s) => s.peer === PUBLIC);
  t.equal(sas.filter((s) => s.dir === 'in').length, 2, 'two inbound SAs');
  const outPorts = sas.filter((s) => s.dir === 'out').map((s) => s.ports & 0xffff);
  t.equal(new Set(outPorts).size, 2, `two outbound SAs to two NAT ports (${outPorts.join(', ')})`);
});

t.test('h3, h4 and h1 reach each other, encrypted', async (t) => {
  for (const [from, to] of [['h3', '10.0.1.10'], ['h4', '10.0.1.10'], ['h1', '10.0.3.10'], ['h1', '10.0.4.10'], ['h3', '10.0.4.10'], ['h4', '10.0.3.10']]) {
    t.ok(await waitFor(() => lab.ping(lab.ns(from), to, 2), 20000, 500), `${from} -> ${to}`);
  }
  const sas = lab.ctlJson<Array<{ peer: string; dir: string; packets: number; drops: { auth: number } }>>('R1', 'show crypto ipsec sa').filter((s) => s.peer === PUBLIC);
  t.equal(sas.length, 4, 'the hub\'s four SAs with the NAT address');
  for (const s of sas) t.ok(s.packets >= 3, `${s.dir} SA carried traffic (${s.packets})`);
  t.equal(sas.reduce((a, s) => a + s.drops.auth, 0), 0, 'no authentication failures');
  await stopCapture?.();
  stopCapture = undefined;
  const protos = tshark(['-r', pcap, '-T', 'fields', '-e', 'frame.protocols']).split('\n').filter(Boolean);
  t.ok(protos.some((p) => p.includes('esp')), 'ESP on the hub link');
  t.same(protos.filter((p) => p.includes(':gre')), [], 'no cleartext GRE on the hub link');
});

t.test('R4 restarts: its INITIAL-CONTACT clears its own old SAs at the hub, not R3\'s', async (t) => {
  type Sa = { peer: string; dir: string; spi: number; ports: number };
  const hubSas = () => lab.ctlJson<Sa[]>('R1', 'show crypto ipsec sa').filter((s) => s.peer === PUBLIC);
  const before = hubSas().map((s) => s.spi);
  // the hub's counter, not its log: the lab keeps a bounded log, which may have dropped the line
  const cleared = () => lab.ctlJson<Record<string, number>>('R1', 'show crypto isakmp statistics').initialContactCleared;
  const clearedBefore = cleared();
  const r4 = lab.routers.get('R4')!;
  await sleep(11000); // INITIAL-CONTACT clears SAs older than 10 s (a sibling from a simultaneous start is younger)
  await lab.stop('R4', 'SIGKILL');
  lab.start('R4', r4.config);
  const back = await waitFor(() => hubSas().filter((s) => !before.includes(s.spi)).length >= 2 && lab.ping(lab.ns('h4'), '10.0.1.10', 1), 90000, 1000);
  t.ok(back, 'R4 negotiated new SAs and h4 -> h1 works again');
  if (!back) t.comment(logs());
  const kept = hubSas().filter((s) => before.includes(s.spi));
  t.equal(kept.length, 2, `one pair from before is left: R3's (${kept.map((s) => `${s.dir} 0x${s.spi.toString(16)}`).join(', ')})`);
  const acted = cleared() === clearedBefore + 1;
  t.ok(acted, `the hub acted on R4's INITIAL-CONTACT once (${clearedBefore} -> ${cleared()})`);
  if (!acted) t.comment(lab.routers.get('R1')!.log.filter((l) => /172\.16\.99\.2|INITIAL/.test(l)).slice(-40).join('\n'));
  t.ok(lab.ping(lab.ns('h3'), '10.0.1.10', 3), 'h3 -> h1 on R3\'s untouched SAs');
  t.ok(await waitFor(() => lab.ping(lab.ns('h3'), '10.0.4.10', 1), 20000, 500), 'h3 -> h4 through the hub');
});
