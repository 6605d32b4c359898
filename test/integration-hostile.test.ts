// A hostile underlay host (issue 8, security holes 2, 3, 4-NHRP and 6): seed-003 lab (hub R1, spokes
// R2-R4, Phase 3, `ip nhrp authentication`), plus PREFIX-evil at 172.16.99.2 on the "Internet", a
// host no router has ever heard of. It knows the group's NHRP password (it is cleartext on the wire)
// and sends well-formed NHRP built by our codec: the purge of 128.0.0.0/1 at the hub, Resolution
// Requests poisoning R2's binding of R3, guessed Resolution Replies, a registration hijack, then
// packets with a wrong password and a storm of malformed NHRP. Afterwards the registrations are
// intact, R2 never maps anything to the attacker, the spokes' LANs reach each other, and every
// refusal is counted in `show ip nhrp traffic` and logged with the attacker's NBMA address.
import t from 'tap';
import crypto from 'node:crypto';
import { Lab, labConfig, nsExec, sleep, uniquePrefix, waitFor } from './util/lab.js';
import { EVIL_NBMA, addHostile, authExt, cie, hostile, sendNhrp } from './util/nhrp-hostile.js';
import { NhrpType, FLAG_REG_UNIQUE, FLAG_PURGE_N } from '../appliance/nhrp/types.js';
import { udpPacket } from './util/nhrp-net.js';
import { tsharkFields } from './util/tshark.js';
import { LOG_BURST, LOG_WINDOW_MS } from '../appliance/nhrp/refusal.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'tshark']);

const PASSWORD = 'dmvpn1';
const AUTH = [authExt(PASSWORD)];
const HUB_NBMA = '172.16.15.2', R2_NBMA = '172.16.25.2';
const lab = new Lab(uniquePrefix('ho'), 3);
let evil = '';
t.teardown(() => lab.down());

type Traffic = { in: Record<string, number>; out: Record<string, number>; drops: Record<string, number>;
  refused?: Record<string, number> };
const traffic = (r: string): Traffic => lab.ctlJson(r, 'show ip nhrp traffic');
const refused = (r: string, k: string) => traffic(r).refused?.[k] ?? 0;
const peersOf = (r: string): Array<{ nbma: string; tunnel: string; state: string }> => {
  try { return lab.ctlJson(r, 'show dmvpn').interfaces[0].peers; } catch { return []; }
};
const hubBindings = () => peersOf('R1').map((p) => `${p.tunnel}=${p.nbma}`).sort();
const GOOD = ['192.168.0.2=172.16.25.2', '192.168.0.3=172.16.35.2', '192.168.0.4=172.16.45.2'];
const cacheOf = (r: string): Array<{ prefix: string; nbma?: string; flags: string[] }> => lab.ctlJson(r, 'show ip nhrp');
const mappedToEvil = (r: string) => cacheOf(r).filter((e) => e.nbma === EVIL_NBMA).map((e) => e.prefix);
const logHas = (r: string, re: RegExp) => lab.routers.get(r)!.log.some((l) => re.test(l) && l.includes(EVIL_NBMA));
const requestLogLines = () => lab.routers.get('R2')!.log.filter((l) => /resolution request .*refused/.test(l) && l.includes(EVIL_NBMA)).length;
/** Pings received of `count` (not just "at least one"): the issue saw 0 of 5 after the attacks. */
const pings = (from: string, to: string, count = 5) => {
  const out = nsExec(lab.ns(from), ['ping', '-c', String(count), '-i', '0.2', '-W', '2', to], { allowFail: true }).stdout;
  return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
};

t.before(async () => {
  lab.up();
  evil = addHostile(lab);
  for (const r of ['R1', 'R2', 'R3', 'R4']) {
    const cfg = labConfig(r).replace(/( ip nhrp network-id 1\n)/, `$1 ip nhrp authentication ${PASSWORD}\n`);
    lab.start(r, lab.writeConfig(r, cfg));
  }
  if (!await waitFor(() => peersOf('R1').length === 3, 20000)) {
    throw new Error(`hub did not learn 3 spokes:\n${lab.routers.get('R1')!.log.join('\n')}`);
  }
  t.equal(pings('h2', '10.0.3.10'), 5, 'baseline: h2 -> h3 5 of 5 before any attack');
});

t.test('purge of 128.0.0.0/1 (and of one spoke) from a host that never registered: refused at the hub', async (t) => {
  const before = refused('R1', 'purge');
  sendNhrp(evil, HUB_NBMA, [
    hostile({ type: NhrpType.PurgeRequest, srcProto: '192.168.0.99', dstProto: '192.168.0.1', requestId: 7,
      cies: [cie({ proto: '128.0.0.0', prefixLen: 1, holdingTime: 0 })], extensions: AUTH }),
    hostile({ type: NhrpType.PurgeRequest, srcProto: '192.168.0.2', dstProto: '192.168.0.1', requestId: 8, flags: FLAG_PURGE_N,
      cies: [cie({ proto: '192.168.0.2', holdingTime: 0 })], extensions: AUTH }),
  ]);
  await sleep(500);
  t.comment(`hub bindings after the purge: ${hubBindings().join(' ') || 'none'}`);
  t.same(hubBindings(), GOOD, 'all three registrations survive');
  t.equal(refused('R1', 'purge') - before, 2, 'both purges refused and counted');
  t.ok(logHas('R1', /purge .*refused/), 'the hub logged the refusal naming 172.16.99.2');
  t.match(lab.ctl('R1', 'show ip nhrp traffic'), /Refused: .*\d+ purge/);
  // Wireshark's view of what the hub received and sent: the attack is well-formed NHRP, unanswered.
  const pcap = lab.routers.get('R1')!.pcap;
  const got = tsharkFields(pcap, `nhrp.hdr.op.type == 5 && ip.src == ${EVIL_NBMA}`,
    ['nhrp.hdr.chksum.status', 'nhrp.prefix', 'nhrp.client.prot.addr']);
  t.ok(got.some((p) => p['nhrp.prefix'] === '1' && p['nhrp.client.prot.addr'] === '128.0.0.0' && p['nhrp.hdr.chksum.status'] === '1'),
    `tshark: a well-formed Purge Request for 128.0.0.0/1 reached the hub (${JSON.stringify(got)})`);
  t.equal(tsharkFields(pcap, `nhrp.hdr.op.type == 6 && ip.dst == ${EVIL_NBMA}`, ['ip.dst']).length, 0, 'no Purge Reply went back');
});

t.test('Resolution Requests poisoning R2 with R3\'s address (direct, and through the hub): refused', async (t) => {
  const r2 = refused('R2', 'resolution-request'), r1 = refused('R1', 'resolution-request');
  const req = (dstProto: string, requestId: number) => hostile({ type: NhrpType.ResolutionRequest, srcProto: '192.168.0.3',
    dstProto, requestId, flags: 0xc802, cies: [cie({ prefixLen: 0xff })], extensions: AUTH });
  sendNhrp(evil, R2_NBMA, [req('192.168.0.2', 100), req('10.0.2.10', 101)]);
  sendNhrp(evil, HUB_NBMA, [req('10.0.2.10', 102), req('192.168.0.2', 103)]);
  await sleep(500);
  t.comment(`R2 entries mapped to the attacker: ${mappedToEvil('R2').join(' ') || 'none'}`);
  t.same(mappedToEvil('R2'), [], 'R2 maps nothing to the attacker');
  t.same(mappedToEvil('R1'), [], 'neither does the hub');
  t.ok(refused('R2', 'resolution-request') - r2 >= 2, 'R2 refused both direct requests');
  t.ok(refused('R1', 'resolution-request') - r1 >= 1, 'the hub refused to forward a request whose source is not registered there');
  t.ok(logHas('R2', /resolution request .*refused/), 'R2 logged it naming 172.16.99.2');
});

t.test('unsolicited Resolution Replies with guessed request ids: dropped and counted', async (t) => {
  const before = refused('R2', 'resolution-reply');
  const replies = [];
  for (let id = 1; id <= 64; id++) replies.push(id);
  for (let i = 0; i < 16; i++) replies.push(crypto.randomInt(1, 0xffffffff));
  sendNhrp(evil, R2_NBMA, replies.map((requestId) => hostile({
    type: NhrpType.ResolutionReply, srcNbma: R2_NBMA, srcProto: '192.168.0.2', dstProto: '10.0.3.10', requestId,
    flags: 0xe802, cies: [cie({ prefixLen: 24, proto: '192.168.0.3', nbma: EVIL_NBMA })], extensions: AUTH,
  })));
  await sleep(500);
  t.same(mappedToEvil('R2'), [], 'no binding or shortcut to the attacker');
  t.equal(refused('R2', 'resolution-reply') - before, replies.length, 'every guessed reply counted');
});

t.test('registration hijack of R2\'s address: refused with code 14, R2 keeps its binding', async (t) => {
  const before = refused('R1', 'registration-unique');
  sendNhrp(evil, HUB_NBMA, [hostile({ type: NhrpType.RegistrationRequest, srcProto: '192.168.0.2', dstProto: '192.168.0.1',
    requestId: 9, flags: FLAG_REG_UNIQUE | 0x0002, cies: [cie({ prefixLen: 0xff })], extensions: AUTH })]);
  await sleep(500);
  t.same(hubBindings(), GOOD, 'R2 keeps 192.168.0.2 at 172.16.25.2');
  t.equal(refused('R1', 'registration-unique') - before, 1, 'counted');
  t.ok(logHas('R1', /code 14/), 'logged naming the attacker');
  const reply = tsharkFields(lab.routers.get('R1')!.pcap, `nhrp.hdr.op.type == 4 && ip.dst == ${EVIL_NBMA}`, ['nhrp.code']);
  t.same(reply.map((p) => p['nhrp.code']), ['14'], 'tshark: the attacker got a Registration Reply with CIE code 14');
});

t.test('wrong password: every message type dropped as auth-mismatch', async (t) => {
  const before = traffic('R1').drops['auth-mismatch'] ?? 0;
  const wrong = [authExt('guess')];
  sendNhrp(evil, HUB_NBMA, [
    hostile({ type: NhrpType.RegistrationRequest, srcProto: '192.168.0.66', dstProto: '192.168.0.1', cies: [cie({})], extensions: wrong }),
    hostile({ type: NhrpType.PurgeRequest, srcProto: '192.168.0.2', dstProto: '192.168.0.1', cies: [cie({ proto: '192.168.0.2' })], extensions: wrong }),
    hostile({ type: NhrpType.ResolutionRequest, srcProto: '192.168.0.3', dstProto: '10.0.2.10', cies: [cie({})], extensions: [] }),
  ]);
  await sleep(500);
  t.equal((traffic('R1').drops['auth-mismatch'] ?? 0) - before, 3, 'three packets, three auth-mismatch drops');
  t.same(hubBindings(), GOOD);
  t.notOk(peersOf('R1').some((p) => p.tunnel === '192.168.0.66'), 'the wrong-password registration installed nothing');
});

t.test('storm: malformed NHRP and indications from the unknown host; nothing lost, spokes still talk', async (t) => {
  const unknownBefore = refused('R2', 'unknown-source'), purgeBefore = refused('R2', 'purge');
  const valid = hostile({ type: NhrpType.PurgeRequest, srcProto: '192.168.0.3', dstProto: '192.168.0.2',
    cies: [cie({ proto: '10.0.0.0', prefixLen: 8 })], extensions: AUTH });
  const storm: Uint8Array[] = [];
  for (let i = 0; i < 1500; i++) {
    const p = Uint8Array.from(valid);
    if (i % 3 === 0) p[crypto.randomInt(0, p.length)] ^= 1 << crypto.randomInt(0, 8); // one bit flipped
    else if (i % 3 === 1) storm.push(p.subarray(0, crypto.randomInt(0, p.length))); // truncated
    if (i % 3 !== 1) storm.push(i % 3 === 0 ? p : crypto.randomBytes(crypto.randomInt(1, 200)));
  }
  // Well-formed, authenticated, but from nobody R2 knows: error and traffic indications, a purge.
  const unknown = [
    hostile({ type: NhrpType.ErrorIndication, srcProto: '192.168.0.1', dstProto: '192.168.0.2', errorCode: 6, errorOffset: 0,
      payload: hostile({ type: NhrpType.ResolutionRequest, srcProto: '192.168.0.2', dstProto: '10.0.3.10' }), extensions: [] }),
    hostile({ type: NhrpType.TrafficIndication, srcProto: '192.168.0.1', dstProto: '10.0.2.10', trafficCode: 0,
      payload: udpPacket('10.0.2.10', '10.0.3.10'), extensions: AUTH }),
    valid,
  ];
  // And 300 well-formed poisoning requests: 300 refusals, but only a few log lines.
  const requests = Array.from({ length: 300 }, (_, i) => hostile({ type: NhrpType.ResolutionRequest, srcProto: '192.168.0.3',
    dstProto: '192.168.0.2', requestId: 1000 + i, flags: 0xc802, cies: [cie({ prefixLen: 0xff })], extensions: AUTH }));
  const reqBefore = refused('R2', 'resolution-request');
  const linesBefore = requestLogLines();
  sendNhrp(evil, R2_NBMA, [...storm, ...unknown, ...requests]);
  sendNhrp(evil, HUB_NBMA, storm);
  await sleep(1000);
  for (const r of ['R1', 'R2']) t.equal(lab.routers.get(r)!.proc!.exitCode, null, `${r} still running`);
  t.ok(Object.values(traffic('R2').drops).reduce((a, b) => a + b, 0) > 500, 'R2 counted the malformed packets');
  t.ok(refused('R2', 'unknown-source') - unknownBefore >= 2, 'error and traffic indications from an unknown NBMA refused');
  t.ok(refused('R2', 'purge') - purgeBefore >= 1, 'and the purge of 10.0.0.0/8');
  t.same(hubBindings(), GOOD, 'the hub still holds every registration');
  t.same(mappedToEvil('R2'), [], 'R2 maps nothing to the attacker');
  const h2h3 = pings('h2', '10.0.3.10'), h3h4 = pings('h3', '10.0.4.10'), h4h2 = pings('h4', '10.0.2.10');
  t.comment(`after all attacks: h2->h3 ${h2h3}/5, h3->h4 ${h3h4}/5, h4->h2 ${h4h2}/5`);
  t.equal(h2h3, 5, 'h2 -> h3 5 of 5');
  t.equal(h3h4, 5, 'h3 -> h4 5 of 5');
  t.equal(h4h2, 5, 'h4 -> h2 5 of 5');
  t.equal(refused('R2', 'resolution-request') - reqBefore, 300, 'every poisoning request counted');
  const lines = requestLogLines() - linesBefore;
  t.ok(lines >= 1 && lines <= 2 * LOG_BURST, `but logged ${lines} times, not 300 (at most ${LOG_BURST} per ${LOG_WINDOW_MS / 1000} s)`);
});
