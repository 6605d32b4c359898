// NHRP packets waiting for an IKE-negotiated SA: kept in order per peer, bounded per peer and in peers
// (drops counted), sent when the SA is up, dropped when the negotiation fails.
import t from 'tap';
import { FirstPackets, FIRST_PACKETS_PER_PEER, FIRST_PACKETS_PEERS } from '../appliance/supervisor/first-packets.js';

t.test('bounded, ordered, counted', async (t) => {
  const q = new FirstPackets();
  const p = (n: number) => Uint8Array.of(n);
  for (let i = 0; i < FIRST_PACKETS_PER_PEER + 3; i++) q.add('172.16.25.2', p(i));
  t.equal(q.waiting('172.16.25.2'), FIRST_PACKETS_PER_PEER);
  t.equal(q.counters.dropped, 3, 'the excess of one peer dropped');
  for (let i = 0; i < FIRST_PACKETS_PEERS + 5; i++) q.add(`10.1.${i >> 8}.${i & 255}`, p(i));
  t.equal(q.counters.dropped, 3 + 6, 'peers beyond the bound dropped (one slot was taken already)');
  const sent: number[] = [];
  t.equal(q.flush('172.16.25.2', (x) => { sent.push(x[0]); return true; }), FIRST_PACKETS_PER_PEER);
  t.same(sent, [...Array(FIRST_PACKETS_PER_PEER).keys()], 'oldest first');
  t.equal(q.waiting('172.16.25.2'), 0);
  q.discard('10.1.0.0');
  t.equal(q.waiting('10.1.0.0'), 0, 'a failed negotiation drops its packets');
  t.equal(q.counters.dropped, 10);
  const copy = Uint8Array.of(7);
  q.add('172.16.35.2', copy); copy[0] = 9;
  q.flush('172.16.35.2', (x) => { t.equal(x[0], 7, 'kept a copy, not the caller\'s buffer'); return false; });
  t.equal(q.counters.dropped, 11, 'a packet the data plane refused is counted');
});

t.test('a retransmitted registration supersedes the waiting one, other packets keep their place', async (t) => {
  const q = new FirstPackets();
  q.add('172.16.15.2', Uint8Array.of(1), 'registration');
  q.add('172.16.15.2', Uint8Array.of(2));
  q.add('172.16.15.2', Uint8Array.of(3), 'registration');
  const sent: number[] = [];
  q.flush('172.16.15.2', (x) => { sent.push(x[0]); return true; });
  t.same(sent, [3, 2], 'the newest registration, in the first one\'s place');
  t.equal(q.counters.superseded, 1);
});
