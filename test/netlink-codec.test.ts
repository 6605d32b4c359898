// rtnetlink codec on real datagrams captured from this kernel (test/fixtures/netlink/capture.mjs, in a
// namespace: dumps, route add/delete, ECMP, address add, link down, a refused request with its
// extended ACK), on the requests we build, and on truncated and hostile bytes: the parser returns a
// problem for those and never throws.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './util/lab.js';
import {
  decodeMessage, dumpRequest, routeRequest, splitMessages, RTM, NLM_F, RTN, RT_SCOPE, type Decoded,
} from '../appliance/net/netlink-codec.js';

const captured = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/netlink/datagrams.json'), 'utf8')) as Record<string, string[]>;
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

/** Every message of a capture step, decoded (a problem fails the test). */
function decodeStep(t: Test, step: string): Decoded[] {
  const out: Decoded[] = [];
  for (const hex of captured[step]) {
    const { messages, problem } = splitMessages(bytes(hex));
    t.equal(problem, undefined, `${step}: datagram splits cleanly`);
    for (const m of messages) {
      const d = decodeMessage(m);
      if (!d.ok) { t.fail(`${step}: ${d.problem}`); continue; }
      out.push(d.msg);
    }
  }
  return out;
}

t.test('dumps: links, addresses and main-table routes as this kernel sends them', async (t) => {
  const links = decodeStep(t, 'dump-links');
  t.same(links.filter((m) => m.kind === 'link').map((m) => m.kind === 'link' && m.link.name).sort(), ['lo', 'v0', 'v1']);
  t.equal(links.at(-1)!.kind, 'done', 'the dump ends with NLMSG_DONE');
  const v0 = links.find((m) => m.kind === 'link' && m.link.name === 'v0');
  t.ok(v0?.kind === 'link' && v0.link.flags & 1 && v0.link.mtu === 1500, 'v0 is up with MTU 1500');

  const addrs = decodeStep(t, 'dump-addrs').flatMap((m) => (m.kind === 'addr' ? [`${m.addr.local}/${m.addr.prefixLen} if${m.addr.index} ${m.addr.label}`] : []));
  t.same(addrs, ['127.0.0.1/8 if1 lo', `10.1.0.1/24 if${(v0 as { link: { index: number } }).link.index} v0`]);

  const routes = decodeStep(t, 'dump-routes').flatMap((m) => (m.kind === 'route' ? [m.route] : []));
  const connected = routes.find((r) => r.table === 254 && r.dst === '10.1.0.0');
  t.match(connected, { dstLen: 24, protocol: 2, scope: RT_SCOPE.LINK, type: RTN.UNICAST, prefsrc: '10.1.0.1', gateway: undefined },
    'the connected route: proto kernel, scope link, preferred source');
  t.ok(routes.some((r) => r.table === 255 && r.type === RTN.LOCAL && r.dst === '10.1.0.1'), 'local-table routes come too (the table filters them)');
});

t.test('notifications: a route via a gateway, ECMP, its deletion, an address, a link going down', async (t) => {
  const [add] = decodeStep(t, 'add-route-via');
  t.match(add, { kind: 'route', op: 'new', route: { dst: '10.9.0.0', dstLen: 16, gateway: '10.1.0.2', priority: 20, protocol: 188, table: 254, nexthops: [] } });
  t.equal(add.header.type, RTM.NEWROUTE, 'a notification carries the request\'s type (and the ip command\'s sequence number)');
  const [ecmp] = decodeStep(t, 'add-route-ecmp');
  t.match(ecmp, { kind: 'route', route: { dst: '10.8.0.0', gateway: undefined, nexthops: [{ gateway: '10.1.0.2' }, { gateway: '10.1.0.3' }] } });
  const [del] = decodeStep(t, 'del-route-via');
  t.match(del, { kind: 'route', op: 'del', route: { dst: '10.9.0.0', dstLen: 16, gateway: '10.1.0.2' } });
  const addr = decodeStep(t, 'add-addr');
  t.match(addr[0], { kind: 'addr', op: 'new', addr: { local: '10.2.0.1', prefixLen: 24, label: 'v0' } });
  t.ok(addr.some((m) => m.kind === 'route' && m.route.dst === '10.2.0.0' && m.route.table === 254), 'its connected route follows');
  const down = decodeStep(t, 'link-down');
  t.ok(down.every((m) => m.kind === 'link'), 'a link going down: link messages only, no RTM_DELROUTE (the table flushes itself)');
  t.ok(down.some((m) => m.kind === 'link' && m.link.name === 'v0' && !(m.link.flags & 1)), 'v0 without IFF_UP');
});

t.test('a refused request: NLMSG_ERROR with the errno and the kernel\'s extended-ACK text', async (t) => {
  const [err] = decodeStep(t, 'refused-route');
  t.match(err, { kind: 'error', errno: 101, header: { seq: 7 }, message: 'Nexthop has invalid gateway' });
});

t.test('requests we build decode back to what was asked', async (t) => {
  const req = routeRequest('replace', { prefix: '10.7.0.0', len: 16, gateway: '192.168.0.3', oif: 5, protocol: 191, metric: 10 }, 42);
  const { messages, problem } = splitMessages(req);
  t.equal(problem, undefined);
  t.match(messages[0].header, { type: RTM.NEWROUTE, seq: 42, flags: NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.REPLACE, len: req.length });
  const d = decodeMessage(messages[0]);
  t.match(d, { ok: true, msg: { kind: 'route', route: { dst: '10.7.0.0', dstLen: 16, gateway: '192.168.0.3', oif: 5, protocol: 191, priority: 10, table: 254, scope: RT_SCOPE.UNIVERSE } } });
  const del = splitMessages(routeRequest('delete', { prefix: '10.7.0.0', len: 16, protocol: 191 }, 43)).messages[0];
  t.match(del.header, { type: RTM.DELROUTE, flags: NLM_F.REQUEST | NLM_F.ACK });
  t.match(decodeMessage(del), { ok: true, msg: { route: { scope: RT_SCOPE.NOWHERE, gateway: undefined } } }, 'a delete matches any scope');
  t.throws(() => routeRequest('replace', { prefix: '10.7.0.0', len: 33, protocol: 4 }, 1), /out of range/);
  t.throws(() => routeRequest('replace', { prefix: '10.7.0', len: 8, protocol: 4 }, 1), /not an IPv4/);
  const dump = dumpRequest(RTM.GETROUTE, 9);
  t.same(splitMessages(dump).messages[0].header, { len: 28, type: RTM.GETROUTE, flags: NLM_F.REQUEST | NLM_F.DUMP, seq: 9, pid: 0 });
});

/** Runs the whole parser; true if it returned (with or without problems), the test fails on a throw. */
function parseAll(b: Uint8Array): { problems: number; messages: number } {
  const { messages, problem } = splitMessages(b);
  let problems = problem ? 1 : 0;
  for (const m of messages) if (!decodeMessage(m).ok) problems++;
  return { problems, messages: messages.length };
}

t.test('truncated datagrams: every prefix of every capture parses without throwing; cuts inside a message are problems', async (t) => {
  let cuts = 0, flagged = 0;
  for (const hexes of Object.values(captured)) {
    for (const hex of hexes) {
      const full = bytes(hex);
      for (let n = 0; n < full.length; n++) {
        const r = parseAll(full.subarray(0, n));
        cuts++;
        if (r.problems) flagged++;
      }
    }
  }
  t.ok(cuts > 5000, `${cuts} truncations parsed`);
  t.ok(flagged > cuts * 0.9, `${flagged} of them reported as a problem (the rest end exactly between messages or headers)`);
});

t.test('hostile bytes: flipped bytes and crafted lengths give problems, never exceptions', async (t) => {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const all = Object.values(captured).flat().map(bytes);
  let runs = 0;
  for (let i = 0; i < 20000; i++) {
    const b = all[Math.floor(rnd() * all.length)].slice();
    for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    parseAll(b);
    runs++;
  }
  t.equal(runs, 20000, 'random corruption of real datagrams never threw');

  const route = bytes(captured['add-route-via'][0]);
  const set16 = (b: Uint8Array, off: number, v: number) => { new DataView(b.buffer, b.byteOffset).setUint16(off, v, true); return b; };
  const set32 = (b: Uint8Array, off: number, v: number) => { new DataView(b.buffer, b.byteOffset).setUint32(off, v, true); return b; };
  t.match(splitMessages(set32(route.slice(), 0, 0)), { messages: [], problem: /length 0/ }, 'nlmsg_len 0 (would loop forever if trusted)');
  t.match(splitMessages(set32(route.slice(), 0, 0xffffffff)), { messages: [], problem: /outside/ }, 'nlmsg_len past the datagram');
  t.match(parseAll(set16(route.slice(), 28, 2)), { problems: 1 }, 'attribute length below its header');
  t.match(parseAll(set16(route.slice(), 28, 0x7fff)), { problems: 1 }, 'attribute length past the message');
  const dst33 = route.slice(); dst33[17] = 33;
  t.match(decodeMessage(splitMessages(dst33).messages[0]), { ok: false, problem: /rtm_dst_len 33/ });
  const shortDst = route.slice(); set16(shortDst, 28 + 8 + 8, 7); // third attribute (RTA_DST) claims 3 bytes of value
  t.ok(parseAll(shortDst).problems >= 1, 'an IPv4 attribute of the wrong size');
  const ecmp = bytes(captured['add-route-ecmp'][0]);
  const mpAt = ecmp.indexOf(0x09, 28) - 2; // RTA_MULTIPATH header (len, type 9)
  t.ok(mpAt > 0);
  set16(ecmp, mpAt + 4, 0); // first rtnexthop length 0
  t.match(decodeMessage(splitMessages(ecmp).messages[0]), { ok: false, problem: /rtnexthop length 0/ });
  t.match(decodeMessage({ header: { len: 16, type: RTM.NEWROUTE, flags: 0, seq: 0, pid: 0 }, payload: new Uint8Array(3) }), { ok: false, problem: /rtmsg needs 12/ });
  t.match(decodeMessage({ header: { len: 16, type: 2, flags: 0, seq: 0, pid: 0 }, payload: new Uint8Array(2) }), { ok: false, problem: /NLMSG_ERROR needs 4/ });
  t.match(splitMessages(new Uint8Array(7)), { messages: [], problem: /7 bytes after/ });
});
