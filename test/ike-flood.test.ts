// A flood of main mode first messages from spoofed addresses (valid proposals, cookies all different)
// fills the responder's half-open table; a real peer, which answers message 2 within a round trip,
// must still get in: the oldest SAs that have seen only message 1 make room (counted), the table stays
// bounded, and nothing is established for the flood.
import t from 'tap';
import { randomFillSync } from 'node:crypto';
import { IkeV1Manager } from '../appliance/ike/manager/ike-v1.js';
import { ikePair, seedCrypto } from './util/ike.js';

const FLOOD = 3000;
const TABLE = 1024; // the manager's MAX_HALF_OPEN

t.test('a legitimate initiator establishes while spoofed first messages flood the responder', async (t) => {
  const pair = ikePair(seedCrypto(), seedCrypto());
  t.teardown(() => pair.close());
  let first: Uint8Array | undefined;
  const flooder = new IkeV1Manager(seedCrypto(), '172.16.9.9', (d) => { first ??= d; });
  flooder.initiate('172.16.2.1');
  flooder.close();
  t.ok(first, 'a real message 1 to copy');
  for (let i = 0; i < FLOOD; i++) {
    const m = Uint8Array.from(first!);
    randomFillSync(m, 0, 8); // a fresh initiator cookie each time
    pair.b.handleDatagram(m, `172.16.${100 + (i >> 8)}.${i & 255}`, 500);
  }
  t.equal(pair.b.sas.length, TABLE, 'half-open table full and bounded');
  t.equal(pair.b.counters.evicted, FLOOD - TABLE, 'the oldest message-1-only SAs made room');
  const sa = pair.a.initiate('172.16.2.1');
  await pair.settle();
  t.equal(sa.state, 'QM_IDLE', 'the real initiator established');
  t.equal(pair.b.sas.filter((s) => s.state === 'QM_IDLE').length, 1, 'one established SA on the responder: the real one');
  t.ok(pair.b.sas.length <= TABLE + 1, 'still bounded');
  t.equal(pair.b.counters.internalErrors, 0);
});
