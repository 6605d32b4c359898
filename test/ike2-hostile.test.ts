// IKEv2 under attack, in-process: a 10 000-datagram IKE_SA_INIT flood from spoofed SPIs and addresses
// against a responder with `crypto ikev2 cookie-challenge 10` keeps at most 10 half-open SAs (the rest
// get a stateless COOKIE) while a legitimate initiator still establishes through the cookie; without
// cookies the hard half-open limit bounds the state. Then mutated and truncated copies of every message
// of a real exchange: never an exception, every datagram accounted for, keys never logged.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { ike2Pair, v2Policy } from './util/ike2.js';
import { IkeV2Manager } from '../appliance/ike/manager/ike-v2.js';

const x25519 = [{ name: 'x', encryption: ['aes-gcm-128'], prf: ['sha256'], group: [31] }];

/** One genuine IKE_SA_INIT request (from a real exchange) to replay with other SPIs. */
async function sampleInit(): Promise<Uint8Array> {
  const p = ike2Pair(v2Policy({ proposals: x25519 }), v2Policy({ proposals: x25519 }));
  p.a.m.initiate('172.16.2.1');
  await p.settle();
  p.close();
  return p.wire[0].data;
}

function flood(m: IkeV2Manager, sample: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const d = new Uint8Array(sample);
    d.set(randomBytes(8), 0); // a new initiator SPI each time
    m.handleDatagram(d, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 500, 500);
  }
}

t.test('10k IKE_SA_INIT flood with cookie-challenge 10: bounded state, cookies, a real initiator still gets in', async (t) => {
  const sample = await sampleInit();
  const pol = v2Policy({ proposals: x25519, cookieChallenge: 10 });
  const p = ike2Pair(v2Policy({ proposals: x25519 }), pol);
  t.teardown(() => p.close());
  const sent: number[] = [];
  const before = p.b.m.counters.txDatagrams;
  flood(p.b.m, sample, 10000);
  sent.push(p.b.m.counters.txDatagrams - before);
  t.equal(p.b.m.halfOpen, 10, 'exactly 10 half-open SAs: the threshold');
  t.equal(p.b.m.counters.cookiesSent, 9990, 'every other request answered with a cookie, no state');
  t.equal(p.b.m.counters.internalErrors, 0);
  const sa = p.a.m.initiate('172.16.2.1');
  await p.settle();
  t.equal(sa.state, 'READY', 'the legitimate initiator established (it repeated the cookie)');
  t.ok(p.a.events.some((e) => e.event === 'child'), 'and got its Child SA');
  t.equal(p.b.m.sas.length, 11, 'responder state: the 10 half-open and the real one');
  t.ok(p.a.logs.some((l) => /demands a cookie/.test(l)), 'the initiator was asked for a cookie');
  // a forged cookie (wrong value) gets no state either
  const forged = new Uint8Array(sample); forged.set(randomBytes(8), 0);
  flood(p.b.m, forged, 1);
  t.equal(p.b.m.sas.length, 11, 'no state for a request without the right cookie');
});

t.test('10k flood without cookies: the hard half-open limit (1024) bounds state; expired half-open SAs are forgotten', async (t) => {
  const sample = await sampleInit();
  const m = new IkeV2Manager(v2Policy({ proposals: x25519 }), '172.16.2.1', () => {}, () => {}, {}, { halfOpenMs: 200 });
  t.teardown(() => m.close());
  flood(m, sample, 10000);
  t.equal(m.halfOpen, 1024, '1024 half-open SAs at most');
  t.equal(m.counters.halfOpenRefused, 10000 - 1024, 'the rest refused and counted');
  await new Promise((r) => setTimeout(r, 400));
  t.equal(m.sas.length, 0, 'half-open SAs not authenticated in time are gone');
  t.equal(m.counters.internalErrors, 0);
});

t.test('mutations and truncations of every message: never an exception, all accounted for, bounded state', { timeout: 300000 }, async (t) => {
  const p = ike2Pair(v2Policy(), v2Policy());
  t.teardown(() => p.close());
  const sa = p.a.m.initiate('172.16.2.1');
  await p.settle();
  t.equal(sa.state, 'READY');
  const logs: string[] = [];
  const victims = [p.a.m, p.b.m, new IkeV2Manager(v2Policy({ proposals: x25519 }), '172.16.2.1', () => {}, (_l, line) => logs.push(line), {}, { halfOpenMs: 50 })];
  t.teardown(() => victims[2].close());
  let n = 0;
  // the messages of the real exchange only: answers to the mutations land on p.wire as we go, and
  // iterating the live array fed those back in without end (a heap exhaustion seen under load)
  for (const w of [...p.wire]) {
    for (let i = 0; i < 250; i++) {
      const d = new Uint8Array(w.data);
      const k = 1 + (i % 4);
      for (let j = 0; j < k; j++) d[Math.floor(Math.random() * d.length)] = Math.floor(Math.random() * 256);
      const cut = i % 5 === 0 ? d.subarray(0, Math.floor(Math.random() * d.length)) : d;
      for (const m of victims) { m.handleDatagram(cut, w.src, 500, 500); n++; }
    }
    for (let len = 0; len < w.data.length; len++) for (const m of victims) { m.handleDatagram(w.data.subarray(0, len), w.src, 500, 500); n++; }
  }
  for (let i = 0; i < 2000; i++) for (const m of victims) { m.handleDatagram(new Uint8Array(randomBytes(Math.floor(Math.random() * 400))), '10.9.9.9', 500, 500); n++; }
  const sum = (f: (m: IkeV2Manager) => number) => victims.reduce((s, m) => s + f(m), 0);
  t.equal(sum((m) => m.counters.internalErrors), 0, `${n} hostile datagrams: no internal error`);
  const dropped = sum((m) => m.counters.malformed + m.counters.unknownSa + m.counters.rejected);
  t.ok(dropped >= n * 0.95, `${dropped} of ${n} counted as dropped (the rest were answered: mutated IKE_SA_INIT that stayed valid, duplicates)`);
  t.ok(victims[2].sas.length <= 1024, 'bounded state');
  t.equal(sa.state, 'READY', 'the real SA survived');
  t.notOk(logs.some((l) => /P4ssw0rd/.test(l)), 'no key logged');
});
