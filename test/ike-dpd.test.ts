// DPD (RFC 3706, `crypto isakmp keepalive S R [periodic|on-demand]`) under a fake clock: on-demand
// probes only when no ESP came from the peer since the last look, periodic always; unanswered probes
// are resent every R seconds and after DPD_RETRIES more the peer is dead; an answer resets the count.
import t from 'tap';
import { DeadPeerDetection, DPD_RETRIES } from '../appliance/supervisor/ike-dpd.js';
import type { IkeSaView } from '../appliance/supervisor/ike-engine.js';
import { FakeClock } from './util/fake-clock.js';

const sa = { remote: '172.16.25.2', state: 'QM_IDLE' } as IkeSaView;

function setup(k: { seconds: number; retry?: number; periodic?: boolean }) {
  const clock = new FakeClock();
  const probes: number[] = [];
  let rx = 0, dead = 0;
  const dpd = new DeadPeerDetection(k, { probe: () => probes.push(clock.t), inboundPackets: () => rx, dead: () => { dead++; } }, clock.timers);
  return { clock, probes, dpd, addRx: (n: number) => { rx += n; }, dead: () => dead };
}

t.test('on-demand: traffic from the peer suppresses probes; silence probes, retries, then dead', async (t) => {
  const s = setup({ seconds: 10, retry: 3 });
  s.dpd.watch(sa);
  s.clock.advance(10_000);
  t.same(s.probes, [10_000], 'first look: nothing known yet, one probe');
  s.dpd.alive(sa); // the ACK
  s.addRx(5); s.clock.advance(10_000); // 20 s: rx changed since the last look? lastRx was 0 -> 5
  t.equal(s.probes.length, 1, 'traffic from the peer: no probe');
  s.clock.advance(10_000); // 30 s: no new traffic
  t.equal(s.probes.length, 2, 'silence: probe');
  s.clock.advance(3_000 * (DPD_RETRIES + 1));
  t.equal(s.probes.length, 2 + DPD_RETRIES, `resent every 3 s, ${DPD_RETRIES} more times`);
  t.equal(s.dead(), 1, 'then declared dead');
  s.clock.advance(60_000);
  t.equal(s.dead(), 1, 'once');
});

t.test('periodic probes regardless of traffic; an answer resets the count; forget stops it', async (t) => {
  const s = setup({ seconds: 10, periodic: true });
  s.dpd.watch(sa);
  for (let i = 0; i < 3; i++) { s.addRx(10); s.clock.advance(10_000); s.dpd.alive(sa); }
  t.equal(s.probes.length, 3, 'one probe every 10 s with traffic flowing');
  s.clock.advance(10_000 + 2_000); // a probe, then a retry 2 s later (IOS default retry)
  t.same(s.probes.slice(3), [40_000, 42_000]);
  s.dpd.alive(sa);
  s.clock.advance(9_999);
  t.equal(s.probes.length, 5, 'after the answer, back to the 10 s interval');
  s.dpd.forget(sa);
  s.clock.advance(100_000);
  t.equal(s.probes.length, 5, 'forgotten: no more probes');
  t.equal(s.dead(), 0);
});

t.test('without crypto isakmp keepalive nothing is watched', async (t) => {
  const clock = new FakeClock();
  let probes = 0;
  const dpd = new DeadPeerDetection(undefined, { probe: () => { probes++; }, inboundPackets: () => 0, dead: () => {} }, clock.timers);
  dpd.watch(sa);
  clock.advance(1e6);
  t.equal(probes, 0);
});
