// Issue 8 in the WASM data plane: persisted sequence reservations (SA_LIMIT: an outbound SA never
// sends past the limit the supervisor has fsync'd), inbound SAs restarted at a persisted edge
// (everything up to it counts as seen), SA selectors (outer source = the SA's peer, tunnel-mode
// inner packet = GRE from the peer to us) and cleartext/unknown-peer GRE with the last sender kept.
import t from 'tap';
import { node, pair, SUITES, A, B, ip, type Node, type Out } from './util/esp-env.js';
import { SA_EVENT_REASON, decodeEspControl, readDropSources } from '../appliance/dataplane/sa.js';
import { TUNNEL_FLAG } from '../appliance/dataplane/layout.js';
import { ipv4, gre } from './util/packets.js';

const espOf = (o: Out) => (o.kind === 50 ? o.data.subarray((o.data[0] & 15) * 4) : o.data);
const seqOf = (o: Out) => new DataView(espOf(o).buffer, espOf(o).byteOffset).getUint32(4);
const events = (n: Node) => n.ctl().map((m) => decodeEspControl(m.kind, m.addr, m.aux, m.data) as any).filter((m) => m?.type === 'SA_EVENT');
const outSa = (n: Node) => n.sas().find((x) => x.dir === 'out')!;
const inSa = (n: Node) => n.sas().find((x) => x.dir === 'in')!;

t.test('seqLimited outbound SA: nothing before SA_LIMIT, never past it, SEQ_LOW at the warn mark', async (t) => {
  for (const s of [SUITES[0], SUITES[6], SUITES[7]]) {
    const a = node(A, B), b = node(B, A);
    pair(a, b, s, { initialSeq: 100n, seqLimited: true });
    a.ctl();
    a.send(10);
    t.equal(a.wire().length, 0, `${s.name}: no reservation yet -> nothing sent`);
    t.equal(outSa(a).drops.seqLimit, 1);
    t.equal(a.counters().dropSeqLimit, 1);
    t.same(events(a).map((e) => [e.reason, e.index]), [[SA_EVENT_REASON.SEQ_LOW, 0]], 'asks for a block');
    a.sa.saLimit(0, 104n, 102n); a.apply();
    const sent: number[] = [];
    for (let i = 0; i < 6; i++) { a.send(10); for (const w of a.wire()) { sent.push(seqOf(w)); b.deliver(w, A.nbma); } }
    t.same(sent, [101, 102, 103, 104], `${s.name}: continues after the persisted start, stops at the limit`);
    t.equal(b.take(b.r.tunTx).length, 4, 'the receiver takes them');
    t.equal(outSa(a).drops.seqLimit, 3);
    t.equal(events(a).filter((e) => e.reason === SA_EVENT_REASON.SEQ_LOW).length, 1, 'SEQ_LOW once until re-armed');
    const bad = a.counters().cmdBad;
    a.sa.saLimit(0, 103n, 103n); a.apply();
    t.equal(a.counters().cmdBad, bad + 1, 'a lower limit is refused');
    a.sa.saLimit(0, 200n, 150n); a.apply();
    a.send(10);
    t.same(a.wire().map(seqOf), [105], 'raised: flows again');
    t.equal(outSa(a).seqLimit, 200n);
  }
});

t.test('unlimited SA: the limit never binds (no flag)', async (t) => {
  const a = node(A, B), b = node(B, A);
  pair(a, b, SUITES[0]);
  for (let i = 0; i < 5; i++) a.send(10);
  t.equal(a.wire().length, 5);
  t.equal(outSa(a).seqLimit, 0xffffffffffffffffn);
  t.equal(events(a).length, 0);
});

t.test('inbound SA started at a persisted edge: every number up to it is a replay', async (t) => {
  const a = node(A, B), b = node(B, A);
  pair(a, b, SUITES[0], {}, {});
  const captured: Out[] = [];
  for (let i = 0; i < 10; i++) { a.send(10); captured.push(...a.wire()); }
  for (const w of captured) b.deliver(w, A.nbma);
  t.equal(b.take(b.r.tunTx).length, 10);
  const edge = inSa(b).seq;
  t.equal(edge, 10n);
  // "restart" of B: a new instance whose inbound SA starts at the persisted edge
  const b2 = node(B, A);
  pair(a, b2, SUITES[0], { initialSeq: 10n }, { initialSeq: edge });
  for (const w of captured) b2.deliver(w, A.nbma);
  t.equal(b2.take(b2.r.tunTx).length, 0, 'all 10 captured packets refused after the restart');
  t.equal(inSa(b2).drops.replay, 10, 'counted as replays');
  t.equal(b2.counters().dropEspReplay, 10);
  a.send(10);
  b2.deliver(a.wire()[0], A.nbma);
  t.equal(b2.take(b2.r.tunTx).length, 1, 'new packets (seq 11) pass');
  // without the edge (today's restart) the same capture is accepted again
  const b3 = node(B, A);
  pair(a, b3, SUITES[0]);
  for (const w of captured) b3.deliver(w, A.nbma);
  t.equal(b3.take(b3.r.tunTx).length, 10, 'control: an empty window takes the replays');
});

t.test('selectors: authenticated ESP from an address that is not the SA peer is dropped (policy)', async (t) => {
  for (const udp of [false, true]) {
    const a = node(A, B), b = node(B, A);
    pair(a, b, SUITES[0], udp ? { udp: {} } : {});
    a.send(10);
    const [w] = a.wire();
    const other = ip('192.0.2.66');
    // raw: the outer source in the packet is what counts; UDP: the socket's source address
    const moved = w.kind === 50 ? { ...w, data: reSource(w.data, other) } : w;
    b.deliver(moved, other);
    t.equal(b.take(b.r.tunTx).length, 0, `${udp ? 'udp' : 'raw'}: not delivered`);
    t.equal(inSa(b).drops.policy, 1);
    t.equal(b.counters().dropEspPolicy, 1);
    t.equal(readDropSources(b.buf, b.l).espPolicy, other, 'last sender kept for the log');
    t.equal(inSa(b).packets, 0, 'no crypto work, no window update');
    b.deliver(w, A.nbma);
    t.equal(b.take(b.r.tunTx).length, 1, 'the same packet from the peer passes (window untouched)');
  }
});

t.test('tunnel-mode selectors: the inner packet must be GRE from the peer to our tunnel source', async (t) => {
  const a = node(A, B), b = node(B, A);
  pair(a, b, SUITES[0], { tunnel: true });
  a.send(10);
  b.deliver(a.wire()[0], A.nbma);
  t.equal(b.take(b.r.tunTx).length, 1, 'GRE from the peer passes');
  // an SA holder wrapping GRE "from" another NBMA address (spoofing a different peer) is refused
  const forged = node({ ...A, nbma: ip('192.0.2.77') }, B);
  pair(forged, node(B, A), SUITES[0], { tunnel: true, initialSeq: 50n });
  forged.send(10);
  const [w] = forged.wire();
  const outerFromA = reSource(w.data, A.nbma);
  b.deliver({ ...w, data: outerFromA }, A.nbma);
  t.equal(b.take(b.r.tunTx).length, 0, 'inner GRE source != SA peer: dropped');
  t.equal(inSa(b).drops.policy, 1);
});

t.test('GRE data from an NBMA address with no peer entry: dropped, counted, last sender kept', async (t) => {
  const b = node(B, A, { flags: TUNNEL_FLAG.STRICT });
  const stranger = ip('198.18.0.9');
  const inner = ipv4({ src: ip('10.3.0.10'), dst: B.host, proto: 1, payload: new Uint8Array(16) });
  b.r.nbmaRx.pushSlot(47, stranger, 0, ipv4({ src: stranger, dst: B.nbma, proto: 47, payload: gre({ proto: 0x0800, payload: inner }) }));
  b.poll();
  t.equal(b.take(b.r.tunTx).length, 0, 'not delivered to the LAN');
  t.equal(b.counters().dropUnknownPeer, 1);
  t.equal(readDropSources(b.buf, b.l).unknownPeer, stranger);
  // NHRP from the same stranger still goes up (registration/resolution)
  b.r.nbmaRx.pushSlot(47, stranger, 0, ipv4({ src: stranger, dst: B.nbma, proto: 47, payload: gre({ proto: 0x2001, payload: new Uint8Array(40) }) }));
  b.poll();
  t.equal(b.counters().nhrpIn, 1, 'NHRP from a new address reaches the supervisor');
  // the known peer (A) still gets through
  const fromA = ipv4({ src: A.host, dst: B.host, proto: 17, payload: new Uint8Array(8) });
  b.r.nbmaRx.pushSlot(47, A.nbma, 0, ipv4({ src: A.nbma, dst: B.nbma, proto: 47, payload: gre({ proto: 0x0800, payload: fromA }) }));
  b.poll();
  t.equal(b.take(b.r.tunTx).length, 1, 'a peer\'s GRE is delivered');
  // protected tunnel: cleartext GRE from the peer itself is dropped, sender kept
  const p = node(B, A, { flags: TUNNEL_FLAG.STRICT | TUNNEL_FLAG.PROTECTED });
  p.r.nbmaRx.pushSlot(47, A.nbma, 0, ipv4({ src: A.nbma, dst: B.nbma, proto: 47, payload: gre({ proto: 0x0800, payload: fromA }) }));
  p.poll();
  t.equal(p.take(p.r.tunTx).length, 0);
  t.equal(p.counters().dropCleartext, 1);
  t.equal(readDropSources(p.buf, p.l).cleartext, A.nbma);
});

/** Rewrites the outer IPv4 source (and checksum) of a raw ESP packet. */
function reSource(pkt: Uint8Array, src: number): Uint8Array {
  const d = pkt.slice();
  const v = new DataView(d.buffer);
  v.setUint32(12, src);
  v.setUint16(10, 0);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(10, ~sum & 0xffff);
  return d;
}

