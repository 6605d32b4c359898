// Hierarchical Phase 3 DMVPN in namespaces: a central hub C, two regional hubs A and B, one spoke in
// each region. The appliance has one tunnel interface, so the IOS design with a second tunnel on the
// regional hubs (spoke-facing Tunnel0, hub-facing Tunnel1, same network-id) is modelled as one NBMA
// cloud and one tunnel subnet: the regional hubs are the spokes' NHSes and register with C as their
// own NHS; routing makes the hierarchy (spoke: 10/8 via its regional hub; regional hub: its spoke's
// LAN via the spoke, everything else via C; C: each region via its regional hub). The resolution
// request therefore climbs and descends the same tree IOS would use: SA -> A -> C -> B -> SB.
//   R1 = C (central hub)    R2 = A, R3 = B (regional hubs)    R4 = SA (region A)    R5 = SB (region B)
import t from 'tap';
import { Lab, waitFor, uniquePrefix } from './util/lab.js';
import { routerConfig, peersOf, shortcutOf, greData, trafficOf, diagnostics, tsharkAll, tun, wan, lan, host } from './util/dmvpn.js';
import { tsharkFields } from './util/tshark.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'tshark']);

const M24 = '255.255.255.0', M8 = '255.0.0.0';
const C = 'R1', A = 'R2', B = 'R3', SA = 'R4', SB = 'R5';
const ALL = [C, A, B, SA, SB];
const lab = new Lab(uniquePrefix('hy'), 4);
t.teardown(() => lab.down());

const timers = { holdtime: 60, registrationTimeout: 5 };
const configs: Record<string, string> = {
  [C]: routerConfig({ n: 1, ...timers, redirect: true, multicastDynamic: true,
    routes: [[lan(2), M24, tun(2)], [lan(4), M24, tun(2)], [lan(3), M24, tun(3)], [lan(5), M24, tun(3)]] }),
  [A]: routerConfig({ n: 2, ...timers, nhs: [{ n: 1 }], redirect: true, multicastDynamic: true,
    routes: [[lan(4), M24, tun(4)], ['10.0.0.0', M8, tun(1)]] }),
  [B]: routerConfig({ n: 3, ...timers, nhs: [{ n: 1 }], redirect: true, multicastDynamic: true,
    routes: [[lan(5), M24, tun(5)], ['10.0.0.0', M8, tun(1)]] }),
  [SA]: routerConfig({ n: 4, ...timers, nhs: [{ n: 2 }], shortcut: true, routes: [['10.0.0.0', M8, tun(2)]] }),
  [SB]: routerConfig({ n: 5, ...timers, nhs: [{ n: 3 }], shortcut: true, routes: [['10.0.0.0', M8, tun(3)]] }),
};

t.before(async () => {
  lab.up();
  for (const r of ALL) lab.start(r, lab.writeConfig(r, configs[r]));
  const ok = await waitFor(() => peersOf(lab, C).length === 2 && peersOf(lab, A).some((p) => p.tunnel === tun(4)) &&
    peersOf(lab, B).some((p) => p.tunnel === tun(5)), 25000);
  if (!ok) throw new Error(`the hierarchy did not register:\n${diagnostics(lab, ALL)}`);
});

t.test('each level registers with the level above: spokes with their regional hub, regional hubs with C', async (t) => {
  t.same(peersOf(lab, C).map((p) => [p.tunnel, p.nbma]).sort(), [[tun(2), wan(2)], [tun(3), wan(3)]], 'C knows only the regional hubs');
  t.equal(peersOf(lab, A).find((p) => p.tunnel === tun(4))?.nbma, wan(4), 'A knows its spoke');
  t.equal(peersOf(lab, B).find((p) => p.tunnel === tun(5))?.nbma, wan(5), 'B knows its spoke');
  t.notOk(peersOf(lab, A).some((p) => p.tunnel === tun(5)), 'A does not know the other region\'s spoke');
  t.same(peersOf(lab, SA).map((p) => p.tunnel), [tun(2)], 'SA starts with only its regional hub');
  t.same(peersOf(lab, SB).map((p) => p.tunnel), [tun(3)], 'SB starts with only its regional hub');
});

t.test('inter-region traffic crosses A -> C -> B first, then a direct SA <-> SB shortcut carries it', async (t) => {
  const hubs = [A, C, B];
  const data0 = hubs.map((h) => greData(lab, h));
  t.ok(lab.ping(lab.ns('h4'), host(5), 3), 'h4 -> h5: the first pings get through via the hub tree');
  const data1 = hubs.map((h) => greData(lab, h));
  hubs.forEach((h, i) => t.ok(data1[i] - data0[i] >= 1, `${h} forwarded the first packets (${data1[i] - data0[i]} data packets)`));
  t.ok(lab.ctlJson(A, 'show dataplane counters').redirectNotice > 0, 'A noticed the hairpin and redirected');

  const sa = await waitFor(() => shortcutOf(lab, SA, lan(5)), 10000);
  t.ok(sa, 'SA installed a shortcut for region B\'s spoke LAN');
  t.equal(sa?.prefixLen, 24, 'the covering prefix SB answered with');
  t.equal(sa?.via, tun(5), 'via SB');
  t.equal(peersOf(lab, SA).find((p) => p.tunnel === tun(5))?.nbma, wan(5), 'SA maps SB to its own NBMA address');
  // The reverse direction: SB is redirected by B and resolves h4 the same way up and down the tree.
  const sb = await waitFor(() => { lab.ping(lab.ns('h5'), host(4), 1); return shortcutOf(lab, SB, lan(4)); }, 10000);
  t.ok(sb, 'SB installed a shortcut for region A\'s spoke LAN');
  t.equal(sb?.via, tun(4), 'via SA');

  // The resolution really went up and down the hierarchy: every hub forwarded one request.
  for (const h of hubs) {
    const tr = trafficOf(lab, h);
    t.ok((tr.in['resolution-request'] ?? 0) >= 1 && (tr.out['resolution-request'] ?? 0) >= 1,
      `${h} received and forwarded a Resolution Request (${JSON.stringify(tr)})`);
  }
  const fwd = tsharkFields(lab.routers.get(SB)!.pcap, 'nhrp.hdr.op.type == 1 && ip.src == ' + wan(3),
    ['nhrp.src.prot.addr', 'nhrp.dst.prot.addr', 'nhrp.hdr.hopcnt']);
  const fromSa = fwd.find((p) => p['nhrp.src.prot.addr'] === tun(4));
  t.ok(fromSa, 'SB received SA\'s Resolution Request from B');
  t.equal(fromSa?.['nhrp.hdr.hopcnt'], '61', 'three NHSes (A, C, B) decremented its hop count (64 at SA)');
  const transit = tsharkAll(lab.routers.get(SB)!.pcap, `nhrp.hdr.op.type == 1 && ip.src == ${wan(3)} && nhrp.src.prot.addr == ${tun(4)}`,
    'nhrp.client.prot.addr');
  t.same(transit[0], [tun(2), tun(1), tun(3)], 'its forward transit NHS record lists A, C, B in order');
  const rep = tsharkFields(lab.routers.get(SA)!.pcap, 'nhrp.hdr.op.type == 2', ['ip.src', 'nhrp.dst.prot.addr']);
  t.ok(rep.some((p) => p['ip.src'] === wan(5) && p['nhrp.dst.prot.addr'] === host(5)),
    'SB answered SA directly (not back through the hubs)');

  // Now the hubs are out of the path in both directions.
  const before = hubs.map((h) => greData(lab, h));
  t.ok(lab.ping(lab.ns('h4'), host(5), 5), 'h4 -> h5 over the shortcut');
  t.ok(lab.ping(lab.ns('h5'), host(4), 5), 'h5 -> h4 over the shortcut');
  const d = hubs.map((h, i) => greData(lab, h) - before[i]);
  hubs.forEach((h, i) => t.ok(d[i] < 3, `${h} saw almost none of the 20 packets (${d[i]})`));
  if (d.some((x) => x >= 3) || !sa || !sb) t.comment(diagnostics(lab, ALL, 20));
});

t.test('intra-region traffic stays in the region: the central hub is not involved', async (t) => {
  // A spoke to its own regional hub's LAN: delivered by A, never forwarded to C.
  const c0 = greData(lab, C);
  t.ok(lab.ping(lab.ns('h4'), host(2), 3), 'h4 -> h2 (A\'s LAN)');
  t.ok(greData(lab, C) - c0 < 1, 'C saw none of it');
});
