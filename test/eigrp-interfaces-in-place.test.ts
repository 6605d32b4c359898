// A `network` statement added or removed, or an interface's EIGRP settings changed, on a running
// speaker (EigrpSpeaker.setInterfaces, what supervisor/eigrp.ts calls on such a config change): as on
// IOS, the new connected network is advertised and a removed one withdrawn without resetting the
// adjacencies on the other interfaces; a changed interface resets only its own neighbors (a goodbye,
// then the adjacency forms again). Hub and spoke on a simulated mGRE segment, fake clock.
import t from 'tap';
import { EigrpSpeaker } from '../appliance/routing/eigrp/speaker.js';
import type { SpeakerInterface, SpeakerOptions } from '../appliance/routing/eigrp/speaker.js';
import { Segment, Rib } from './util/eigrp-segment.js';

const tunnel = (address: string, helloInterval = 5): SpeakerInterface => ({
  name: 'Tunnel0', address, prefixLen: 24, bandwidth: 100, delay: 5000, mtu: 1400,
  rules: { splitHorizon: false, nextHopSelf: true }, helloInterval, holdTime: 15, passive: false,
});
const lan: SpeakerInterface = {
  name: 'Ethernet0/1', address: '192.168.11.1', prefixLen: 24, bandwidth: 100000, delay: 10, mtu: 1500,
  rules: { splitHorizon: true, nextHopSelf: true }, helloInterval: 5, holdTime: 15, passive: true,
};
const tunnelNet: SpeakerOptions['originate'][number] = { prefix: '10.0.0.0', len: 24, iface: 'Tunnel0' };
const lanNet: SpeakerOptions['originate'][number] = { prefix: '192.168.11.0', len: 24, iface: 'Ethernet0/1' };

function lab() {
  const seg = new Segment('10.0.0.1');
  let now = 0;
  const hubRib = new Rib(), spokeRib = new Rib();
  const hub = new EigrpSpeaker({ asn: 100, routerId: '10.0.0.1', interfaces: [tunnel('10.0.0.1')], originate: [{ ...tunnelNet }, { prefix: '10.10.0.0', len: 24, iface: 'Tunnel0' }] }, seg.port('10.0.0.1'), hubRib, now);
  const spoke = new EigrpSpeaker({ asn: 100, routerId: '10.0.0.11', interfaces: [tunnel('10.0.0.11')], originate: [{ ...tunnelNet }] }, seg.port('10.0.0.11'), spokeRib, now);
  const run = (ms: number) => {
    for (let x = 0; x < ms; x += 100) { now += 100; hub.tick(now); spoke.tick(now); seg.pump(); }
  };
  return { hub, spoke, hubRib, spokeRib, run };
}

t.test('a network added and removed: advertised, then withdrawn, the adjacency kept', async (t) => {
  const { hub, spoke, hubRib, spokeRib, run } = lab();
  run(20_000);
  const before = hub.neighbors.get('10.0.0.11');
  t.equal(before?.state, 'up', 'hub and spoke adjacent');
  t.equal(spokeRib.routes.get('10.10.0.0/24'), '10.0.0.1%Tunnel0', 'spoke learned the hub LAN');
  t.notOk(hubRib.routes.has('192.168.11.0/24'));

  spoke.setInterfaces([tunnel('10.0.0.11'), lan], [{ ...tunnelNet }, { ...lanNet }]);
  run(3_000);
  t.equal(hubRib.routes.get('192.168.11.0/24'), '10.0.0.11%Tunnel0', 'the new network reached the hub');
  t.equal(hub.neighbors.get('10.0.0.11')?.upSince, before?.upSince, 'hub kept the adjacency (same up time)');
  t.equal(hub.neighbors.get('10.0.0.11')?.handle, before?.handle, 'and the same handle');
  t.equal(spoke.neighbors.get('10.0.0.1')?.state, 'up');
  t.equal(spokeRib.routes.get('10.10.0.0/24'), '10.0.0.1%Tunnel0', 'the spoke kept what it learned');
  t.same(spoke.o.interfaces.map((i) => i.name), ['Tunnel0', 'Ethernet0/1']);

  spoke.setInterfaces([tunnel('10.0.0.11')], [{ ...tunnelNet }]);
  run(3_000);
  t.notOk(hubRib.routes.has('192.168.11.0/24'), 'the removed network was withdrawn at the hub');
  t.equal(hub.neighbors.get('10.0.0.11')?.upSince, before?.upSince, 'the adjacency still the same');
  t.equal(spoke.lastChange, undefined, 'the spoke never lost a neighbor');
  t.equal(hub.lastChange, undefined, 'nor the hub');
  t.equal(hub.counters.droppedTotal() + spoke.counters.droppedTotal(), 0, 'nothing dropped');
});

t.test('an interface changed (hello interval): its neighbors reset, then form again with the routes', async (t) => {
  const { hub, spoke, hubRib, spokeRib, run } = lab();
  spoke.setInterfaces([tunnel('10.0.0.11'), lan], [{ ...tunnelNet }, { ...lanNet }]);
  run(20_000);
  const before = hub.neighbors.get('10.0.0.11');
  t.equal(before?.state, 'up');
  t.equal(hubRib.routes.get('192.168.11.0/24'), '10.0.0.11%Tunnel0');

  spoke.setInterfaces([tunnel('10.0.0.11', 2), lan], [{ ...tunnelNet }, { ...lanNet }]);
  t.same(spoke.lastChange, { address: '10.0.0.1', why: 'interface changed' }, 'the spoke dropped the neighbor on the changed interface');
  run(100);
  t.same(hub.lastChange, { address: '10.0.0.11', why: 'peer goodbye' }, 'the hub heard the goodbye');
  run(20_000);
  const after = hub.neighbors.get('10.0.0.11');
  t.equal(after?.state, 'up', 'adjacent again');
  t.ok(after!.upSince > before!.upSince, 'a new adjacency');
  t.equal(hubRib.routes.get('192.168.11.0/24'), '10.0.0.11%Tunnel0', 'the spoke LAN is back at the hub');
  t.equal(spokeRib.routes.get('10.10.0.0/24'), '10.0.0.1%Tunnel0', 'and the hub LAN at the spoke');
});

t.test('an unchanged set is a no-op: no goodbye, nothing re-advertised', async (t) => {
  const { hub, spoke, run } = lab();
  run(20_000);
  const sent = spoke.counters;
  const updatesBefore = JSON.stringify(sent);
  spoke.setInterfaces([tunnel('10.0.0.11')], [{ ...tunnelNet }]);
  t.equal(spoke.lastChange, undefined);
  t.equal(JSON.stringify(spoke.counters), updatesBefore, 'no packet sent by the call');
  t.equal(hub.neighbors.get('10.0.0.11')?.state, 'up');
});
