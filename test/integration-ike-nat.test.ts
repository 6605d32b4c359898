// Seed 003's crypto block (tunnel mode) with spoke R2 behind an nftables masquerade NAT: main mode
// detects the NAT (RFC 3947 NAT-D), both ends float to UDP 4500, where IKE goes through the data
// plane's socket (IKE_IN / IKE_OUT) and ESP is UDP-encapsulated (RFC 3948); NAT keepalives flow.
// R2 registers with the hub at its post-NAT address, hosts ping hub and spoke-to-spoke, and on the
// Internet side there is no cleartext GRE and tshark finds every ISAKMP packet clean.
import t from 'tap';
import path from 'node:path';
import { Lab, labConfig, waitFor } from './util/lab.js';
import { putBehindNat, natSpokeConfig } from './util/nat.js';
import { capture } from './util/esp-lab.js';
import { tshark, tsharkFields } from './util/tshark.js';
import { problems } from './util/tshark-json.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { withSeedCrypto } from './util/seed003-crypto.js';

requireTools(t, [...LAB_NEEDS, 'nft', 'tshark', 'dumpcap']);

const withCrypto = (cfg: string) => withSeedCrypto(cfg, { natKeepalive: 5 });

t.test('IKEv1 through a NAT: NAT-T, ESP in UDP, tunnel mode', async (t) => {
  const lab = new Lab(`ikan${process.pid % 10000}`, 2);
  const stops: Array<() => Promise<void>> = [];
  t.teardown(async () => { for (const s of stops) await s(); lab.down(); });
  lab.up();
  putBehindNat(lab, [2], { publicIp: '172.16.45.2', inetLink: 'r2b' });
  const wire = path.join(lab.dir, 'hub-link.pcap');
  stops.push((await capture(lab.ns('inet'), 'r1', wire, 'not arp')).stop);
  for (const r of ['R1', 'R2', 'R3']) {
    let c = labConfig(r, { holdtime: 60, registrationTimeout: 5 });
    if (r === 'R2') c = natSpokeConfig(c, 2);
    lab.start(r, lab.writeConfig(r, withCrypto(c)));
  }
  const logs = () => [...lab.routers.values()].map((r) => `--- ${r.name}\n${r.log.slice(-80).join('\n')}`).join('\n');
  const peers = () => { try { return lab.ctlJson('R1', 'show dmvpn').interfaces[0].peers as Array<{ nbma: string; state: string; attrs: string }>; } catch { return []; } };
  const up = await waitFor(() => peers().filter((p) => p.state === 'UP').length === 2, 60000);
  t.ok(up, 'both spokes registered, R2 through the NAT');
  if (!up) { t.comment(logs()); return; }
  const r2 = peers().find((p) => p.nbma === '172.16.45.2');
  t.ok(r2, 'the hub knows R2 at its post-NAT address');
  t.match(r2?.attrs ?? '', /N/, 'flagged NATed');

  const sa = lab.ctlJson<Array<{ src: string; state: string }>>('R1', 'show crypto isakmp sa').find((r) => r.src === '172.16.45.2');
  t.equal(sa?.state, 'QM_IDLE', 'hub: QM_IDLE with R2\'s public address');
  t.match(lab.ctl('R1', 'show crypto ipsec sa'), /current_peer 172\.16\.45\.2 port 4500[\s\S]*?in use settings =\{Tunnel UDP-Encaps, \}/, 'hub: tunnel mode in UDP 4500 to R2');
  t.match(lab.ctl('R1', 'show crypto session'), /Peer: 172\.16\.45\.2 port \d+\n {2}IKE SA: local 172\.16\.15\.2\/4500/, 'the ISAKMP SA floated to 4500');

  t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 4), 'h2 (behind the NAT) -> h1');
  t.ok(lab.ping(lab.ns('h3'), '10.0.2.10', 4), 'h3 -> h2 (spoke to the NATed spoke)');
  const direct = await waitFor(() => lab.ctlJson<Array<{ src: string; dst: string; state: string }>>('R3', 'show crypto isakmp sa')
    .some((r) => r.state === 'QM_IDLE' && [r.src, r.dst].includes('172.16.45.2')), 30000);
  t.ok(direct, 'R3 <-> R2 ISAKMP SA through the NAT, on demand');
  t.ok(lab.ping(lab.ns('h3'), '10.0.2.10', 4), 'h3 -> h2 again');
  const keepalives = await waitFor(() => lab.ctlJson<Record<string, number>>('R1', 'show dataplane counters').nattKeepaliveRx > 0, 20000);
  t.ok(keepalives, 'NAT keepalives from R2 reached the hub (crypto isakmp nat keepalive 5)');
  const counters = lab.ctlJson<Record<string, number>>('R1', 'show dataplane counters');
  t.ok(counters.ikeIn > 0 && counters.ikeOut > 0, `IKE on 4500 went through the data plane (in ${counters.ikeIn}, out ${counters.ikeOut})`);
  if (!direct) t.comment(logs());

  for (const s of stops.splice(0)) await s();
  t.equal(tsharkFields(wire, 'gre', ['frame.number']).length, 0, 'no cleartext GRE on the hub link');
  t.ok(tsharkFields(wire, 'udp.port == 4500 && esp', ['esp.spi']).length >= 4, 'ESP in UDP 4500');
  const isakmp = JSON.parse(tshark(['-r', wire, '-Y', 'isakmp', '-T', 'json', '--no-duplicate-keys'])) as unknown[];
  t.ok(isakmp.length >= 6, `ISAKMP on the hub link (${isakmp.length})`);
  t.same(problems(isakmp), [], 'every ISAKMP packet clean in tshark (with and without the non-ESP marker)');
  t.ok(tsharkFields(wire, 'udp.port == 4500 && isakmp', ['frame.number']).length >= 2, 'ISAKMP on 4500 after the float');
});
