// Phase 3 through NAT, in memory: spokes behind a NAT modelled on Linux masquerade of GRE (no
// ports, so the NAT keeps one entry per inside host and remote address): a packet from outside
// reaches the inside host only once the host has sent to that remote, and an unsolicited one leaves
// an entry that makes the NAT drop the host's own later packets to that remote (conntrack clash).
// Checks that the NATed spoke learns its outside address from its registration reply and
// advertises it, that the hub carries the address it saw, that the owner answers a NATed requester
// without poisoning its NAT, and that shortcuts come up with the outside addresses, flagged nat;
// what goes on the wire is decoded, and checked with Wireshark when it is installed.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NhrpExtType } from '../appliance/nhrp/types.js';
import type { NhrpMessage } from '../appliance/nhrp/types.js';
import { greIpv4, writePcap } from './util/nhrp-pcap.js';
import { tshark, tsharkExperts, tsharkFields } from './util/tshark.js';
import { Net, Node, clientOf, tunnel, udpPacket } from './util/nhrp-net.js';
import { needs } from './util/needs.js';

const HUB = { ip: '10.0.0.1', nbma: '203.0.113.1' };
const A = { ip: '10.0.0.2', nbma: '198.51.100.2' };
const B = { ip: '10.0.0.3', nbma: '10.45.0.2' }; // behind NAT_B
const C = { ip: '10.0.0.4', nbma: '10.46.0.2' }; // behind NAT_C
const NAT_B = '172.16.45.2';
const NAT_C = '172.16.46.2';
const LAN = { [A.ip]: '192.168.10', [B.ip]: '192.168.20', [C.ip]: '192.168.30' } as Record<string, string>;

interface Nat { inside: string; outside: string; open: Set<string>; clash: Set<string>; fullCone: boolean }

class NatNet extends Net {
  nats: Nat[] = [];
  natDrops: string[] = [];
  addNat(inside: string, outside: string, fullCone = false): Nat {
    const n = { inside, outside, open: new Set<string>(), clash: new Set<string>(), fullCone };
    this.nats.push(n);
    return n;
  }
  override deliver(from: string, to: string, bytes: Uint8Array): void {
    let src = from;
    const out = this.nats.find((n) => n.inside === from);
    if (out) {
      if (out.clash.has(to)) { this.natDrops.push(`${from}->${to} (clash at ${out.outside})`); return; }
      out.open.add(to);
      src = out.outside;
    }
    let dst = to;
    const inn = this.nats.find((n) => n.outside === to);
    if (inn) {
      if (!inn.open.has(src) && !(inn.fullCone && inn.open.size > 0)) {
        inn.clash.add(src);
        this.natDrops.push(`${src}->${to} (no mapping at ${inn.outside})`);
        return;
      }
      dst = inn.inside;
    }
    super.deliver(src, dst, bytes);
  }
}

const natCies = (m: NhrpMessage) => m.extensions.find((e) => e.type === NhrpExtType.NatAddress)?.cies ?? [];
const transit = (m: NhrpMessage, type: number) => (m.extensions.find((e) => e.type === type)?.cies ?? []).map((c) => c.proto);

function world(o: { natA?: boolean; fullCone?: boolean } = {}) {
  const net = new NatNet();
  net.addNat(B.nbma, NAT_B, o.fullCone);
  if (o.natA) net.addNat(C.nbma, NAT_C, o.fullCone);
  const hub = new Node(net, HUB, tunnel({ redirect: true }), {
    routeLookup: (d) => {
      const owner = Object.keys(LAN).find((ip) => d.startsWith(`${LAN[ip]}.`));
      return owner ? { nextHop: owner } : undefined;
    },
  });
  const spoke = (me: typeof A) => new Node(net, me, clientOf([HUB], { shortcut: true }),
    { localPrefixes: () => [{ prefix: `${LAN[me.ip]}.0`, len: 24 }] });
  const a = spoke(o.natA ? C : A);
  const b = spoke(B);
  [hub, a, b].forEach((n) => n.engine.start());
  net.settle(0);
  return { net, hub, a, b };
}

/** The hub hairpins a packet each way: both spokes are redirected at once (as in the lab). */
function redirectBoth(w: ReturnType<typeof world>, aMe: typeof A): void {
  w.hub.engine.trafficIndication(NAT_B, B.ip, udpPacket('192.168.20.5', `${LAN[aMe.ip]}.5`));
  w.hub.engine.trafficIndication(w.hub.entry(aMe.ip)!.nbma!, aMe.ip, udpPacket(`${LAN[aMe.ip]}.5`, '192.168.20.5'));
}

t.test('the NATed spoke learns its outside address from the registration reply', async (t) => {
  const { net, a, b } = world();
  t.match(b.engine.nhsStatus(), [{ up: true, natNbma: NAT_B }]);
  t.ok(b.logged(/NAT detected by NHS .*: our NBMA 10\.45\.0\.2 is seen as 172\.16\.45\.2/).length, 'and says so');
  t.notOk(a.engine.nhsStatus()[0].natNbma, 'a spoke not behind NAT learns nothing');
  const reply = net.of(4, HUB.nbma, B.nbma)[0]?.msg;
  t.match(natCies(reply).at(-1), { nbma: NAT_B, proto: B.ip }, 'what the hub saw, in the NAT extension');
});

t.test('NATed owner, requester not NATed: shortcuts both ways at the outside address', async (t) => {
  const w = world();
  const { net, hub, a, b } = w;
  net.sent.length = 0;
  redirectBoth(w, A);

  // B (behind NAT) asks: its request carries its outside address, the hub keeps it (it saw the same).
  const bReq = net.of(1, NAT_B, HUB.nbma)[0]?.msg;
  t.same(natCies(bReq).map((c) => [c.nbma, c.proto]), [[NAT_B, B.ip]], 'B advertises its outside address');
  const fwdToA = net.of(1, HUB.nbma, A.nbma)[0]?.msg;
  t.same(natCies(fwdToA).map((c) => [c.nbma, c.proto]), [[NAT_B, B.ip]], 'the hub carries the post-NAT address');
  // A answers B through the hub: a direct packet would hit B's NAT before B ever sent to A.
  const aRep = net.of(2, A.nbma).map((s) => s)[0];
  t.equal(aRep?.to, HUB.nbma, 'A sends its reply to the NATed requester via the NHS');
  const relayed = net.of(2, HUB.nbma, B.nbma)[0]?.msg;
  t.equal(relayed?.requestId, bReq.requestId, 'the hub relays it to B through B\'s registration mapping');
  t.same(transit(relayed, NhrpExtType.ReverseTransitNhs), [HUB.ip], 'recording itself on the reverse transit record');
  t.equal(relayed.hopCount, aRep.msg.hopCount - 1);
  t.match(a.entry(B.ip), { nbma: NAT_B, claimedNbma: B.nbma, flags: { nat: true } },
    'A caches B at its post-NAT address');

  // A asks: B answers directly (A is not NATed), naming its outside address in the NAT extension.
  const bRep = net.of(2, NAT_B, A.nbma)[0]?.msg;
  t.ok(bRep, 'B answers A directly (this opens B\'s NAT towards A)');
  t.match(bRep.cies, [{ nbma: B.nbma, proto: B.ip, prefixLen: 24 }], 'CIE: the address B has');
  t.same(natCies(bRep).map((c) => [c.nbma, c.proto]), [[NAT_B, B.ip]], 'NAT extension: where B really is');

  t.same(a.routes, [`+192.168.20.0/24 via ${B.ip}`]);
  t.same(b.routes, [`+192.168.10.0/24 via ${A.ip}`]);
  t.match(a.entry(B.ip), { type: 'dynamic', nbma: NAT_B, claimedNbma: B.nbma, flags: { nat: true, nhop: true } });
  t.match(a.entry('192.168.20.0', 24), { via: B.ip, nbma: NAT_B });
  t.match(a.peers.at(-1), { op: 'set', tunnelIp: B.ip, nbma: NAT_B, flags: { nat: true } }, 'data plane sends to B outside');
  t.match(b.entry(A.ip), { type: 'dynamic', nbma: A.nbma, flags: { nat: false } });
  t.same(net.natDrops, [], 'nothing was dropped by the NAT');
  t.ok(net.nats[0].open.has(A.nbma), 'B\'s NAT has a mapping towards A: A\'s traffic to B gets in');
  t.equal(hub.engine.counters().drops['reply-no-binding'], undefined);
});

t.test('owner answering a NATed requester: post-NAT address in its cache, reply via the NHS', async (t) => {
  const { net, hub, a, b } = world();
  net.sent.length = 0;
  hub.engine.trafficIndication(NAT_B, B.ip, udpPacket('192.168.20.5', '192.168.10.5'));
  t.match(a.entry(B.ip), { type: 'dynamic', nbma: NAT_B, claimedNbma: B.nbma, flags: { implicit: true, nat: true } });
  t.same(net.of(2).map((s) => [s.from, s.to]), [[A.nbma, HUB.nbma], [HUB.nbma, B.nbma]], 'A -> hub -> B (via NAT_B)');
  t.ok(a.logged(/requester behind NAT at 172\.16\.45\.2: reply via NHS 203\.0\.113\.1/).length);
  t.same(b.routes, [`+192.168.10.0/24 via ${A.ip}`]);
  t.match(b.entry(A.ip), { nbma: A.nbma, flags: { nat: false } }, 'relayed reply: the CIE, not the hub, gives A\'s address');
  t.same(net.natDrops, []);
  t.notOk(net.nats[0].clash.size, 'A never sent to B\'s outside address first');
});

t.test('a direct reply from the NATed owner without NAT extension: the outer source is used', async (t) => {
  // B has not learnt its address (its NHS does no NAT detection): the reply came straight from B,
  // so where it came from is where B is.
  const w = world();
  const { net, hub, a, b } = w;
  hub.engine.setHandler(3, () => { /* NHS silent: B never learns its outside address */ });
  (b.engine as any).clients[0].natAddr = undefined;
  net.sent.length = 0;
  hub.engine.trafficIndication(A.nbma, A.ip, udpPacket('192.168.10.5', '192.168.20.5'));
  const rep = net.of(2, NAT_B, A.nbma)[0]?.msg;
  t.same(natCies(rep), [], 'no NAT extension CIE');
  t.match(a.entry(B.ip), { nbma: NAT_B, claimedNbma: B.nbma, flags: { nat: true } }, 'outer source of the reply');
  t.same(a.routes, [`+192.168.20.0/24 via ${B.ip}`]);
});

t.test('NATed owner, NATed requester (endpoint-independent NATs)', async (t) => {
  const w = world({ natA: true, fullCone: true });
  const { net, hub, a, b } = w;
  t.match(a.engine.nhsStatus(), [{ natNbma: NAT_C }]);
  t.match(hub.entry(C.ip), { nbma: NAT_C, claimedNbma: C.nbma, flags: { nat: true } });
  net.sent.length = 0;
  redirectBoth(w, C);
  const cReq = net.of(1, NAT_C, HUB.nbma)[0]?.msg;
  t.same(natCies(cReq).map((x) => [x.nbma, x.proto]), [[NAT_C, C.ip]]);
  t.same(natCies(net.of(1, HUB.nbma, B.nbma).find((s) => s.msg.srcProto === C.ip)!.msg).map((x) => [x.nbma, x.proto]),
    [[NAT_C, C.ip]], 'forwarded with the requester\'s post-NAT address');
  // both requesters are NATed: both owners answer via the hub
  t.same(net.of(2).filter((s) => s.from !== HUB.nbma).map((s) => s.to), [HUB.nbma, HUB.nbma]);
  // (the recorded destination is the one after the NAT, i.e. the inside host)
  t.same(net.of(2, HUB.nbma).map((s) => s.to).sort(), [B.nbma, C.nbma].sort(), 'relayed to both through their NATs');
  t.match(a.entry(B.ip), { nbma: NAT_B, claimedNbma: B.nbma, flags: { nat: true } });
  t.match(b.entry(C.ip), { nbma: NAT_C, claimedNbma: C.nbma, flags: { nat: true } });
  t.same(a.routes, [`+192.168.20.0/24 via ${B.ip}`]);
  t.same(b.routes, [`+192.168.30.0/24 via ${C.ip}`]);
  t.same(net.natDrops, []);
});

t.test('the hub corrects a stale outside address advertised by the requester', async (t) => {
  const w = world();
  const { net, hub, b } = w;
  (b.engine as any).clients[0].natAddr = '198.18.0.99'; // e.g. the NAT changed its address since the last reply
  net.sent.length = 0;
  hub.engine.trafficIndication(NAT_B, B.ip, udpPacket('192.168.20.5', '192.168.10.5'));
  t.same(natCies(net.of(1, NAT_B, HUB.nbma)[0].msg).map((c) => c.nbma), ['198.18.0.99']);
  t.same(natCies(net.of(1, HUB.nbma, A.nbma)[0].msg).map((c) => [c.nbma, c.proto]), [[NAT_B, B.ip]],
    'replaced by what the hub saw');
  t.same(b.routes, [`+192.168.10.0/24 via ${A.ip}`]);
});

t.test('Wireshark dissects the NAT exchange cleanly', needs(t, 'tshark'), async (t) => {
  const w = world();
  w.net.sent.length = 0;
  redirectBoth(w, A);
  const sent = w.net.sent.filter((s) => s.msg.type <= 2 || s.msg.type === 8);
  t.ok(sent.length >= 6);
  const dir = mkdtempSync(join(tmpdir(), 'nhrp-nat-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'nat.pcap');
  writePcap(pcap, sent.map((s) => greIpv4(s.from, s.to, s.bytes)));
  t.notMatch(tsharkExperts(pcap), /Warning|Error|Malformed/i, 'no expert warnings');
  const f = tsharkFields(pcap, 'nhrp', ['nhrp.hdr.op.type', 'nhrp.hdr.chksum.status']);
  t.equal(f.length, sent.length);
  t.ok(f.every((x) => x['nhrp.hdr.chksum.status'] === '1'), 'checksums good');
  const rep = tsharkFields(pcap, `nhrp.hdr.op.type == 2 && ip.src == ${NAT_B}`, ['nhrp.client.nbma.addr']);
  t.equal(rep[0]?.['nhrp.client.nbma.addr'], B.nbma);
  const all = tshark(['-r', pcap, '-Y', `nhrp.hdr.op.type == 2 && ip.src == ${NAT_B}`, '-T', 'fields',
    '-e', 'nhrp.client.nbma.addr', '-E', 'occurrence=a']);
  t.match(all, new RegExp(NAT_B.replace(/\./g, '\\.')), 'the NAT extension CIE dissects with the outside address');
});
