// Issue 8, item 4: cleartext GRE injection. An underlay host that is no peer (the Internet namespace,
// sending from its own address) sends GRE carrying ICMP 10.3.0.10 -> 10.0.2.10 to spoke R2 and to
// hub R1. Neither may deliver it to its LAN: the host behind R2 must never see it (dumpcap there),
// dropUnknownPeer rises, the log names the sender. The registered peers' traffic still flows, and
// NHRP from the same stranger still reaches the supervisor (registration must stay possible).
import t from 'tap';
import path from 'node:path';
import { Lab, labConfig, waitFor, sleep, uniquePrefix } from './util/lab.js';
import { capture, pcapIpv4, sendRawIpv4 } from './util/esp-lab.js';
import { ipv4, gre } from './util/packets.js';
import { ipToU32 as ip, bytesToIpv4 as ipStr } from '../appliance/net/ipv4.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'dumpcap']);

const ATTACKER_R2 = '172.16.25.1', ATTACKER_R1 = '172.16.15.1'; // the Internet namespace's own addresses

function injected(to: string, from: string, dstHost: string, n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const icmp = Uint8Array.from([8, 0, 0, 0, 0x13, 0x37, 0, i + 1, 0x41, 0x41, 0x41, 0x41]);
    let s = 0;
    for (let j = 0; j < icmp.length; j += 2) s += (icmp[j] << 8) | icmp[j + 1];
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    icmp[2] = (~s >> 8) & 0xff; icmp[3] = ~s & 0xff;
    const inner = ipv4({ src: ip('10.3.0.10'), dst: ip(dstHost), proto: 1, payload: icmp });
    return ipv4({ src: ip(from), dst: ip(to), proto: 47, payload: gre({ proto: 0x0800, payload: inner }) });
  });
}

t.test('GRE data from an underlay host that is no peer never reaches the LAN', async (t) => {
  const lab = new Lab(uniquePrefix('gi'), 1);
  t.teardown(() => lab.down());
  lab.up();
  lab.start('R1', lab.writeConfig('R1', labConfig('R1', { holdtime: 60, registrationTimeout: 5 })));
  lab.start('R2', lab.writeConfig('R2', labConfig('R2', { holdtime: 60, registrationTimeout: 5 })));
  t.ok(await waitFor(() => lab.ping(lab.ns('h2'), '10.0.1.10', 1), 30000), 'R2 registered; h2 -> h1 flows');
  const cap = path.join(lab.dir, 'h2.pcap');
  const dump = await capture(lab.ns('h2'), 'eth0', cap, 'icmp and src host 10.3.0.10');
  t.teardown(() => dump.stop());
  const c2 = lab.ctlJson('R2', 'show dataplane counters');
  const c1 = lab.ctlJson('R1', 'show dataplane counters');

  sendRawIpv4(lab.ns('inet'), injected('172.16.25.2', ATTACKER_R2, '10.0.2.10', 5)); // to spoke R2
  sendRawIpv4(lab.ns('inet'), injected('172.16.15.2', ATTACKER_R1, '10.0.1.10', 5)); // to hub R1
  await sleep(1000);
  await dump.stop();
  const leaked = pcapIpv4(cap).filter((p) => ipStr(p, 12) === '10.3.0.10');
  t.equal(leaked.length, 0, `the host behind R2 received ${leaked.length} injected packets`);
  const d2 = lab.ctlJson('R2', 'show dataplane counters');
  const d1 = lab.ctlJson('R1', 'show dataplane counters');
  t.equal(d2.dropUnknownPeer - c2.dropUnknownPeer, 5, 'spoke: 5 dropped as unknown peer (show dataplane counters json)');
  t.equal(d1.dropUnknownPeer - c1.dropUnknownPeer, 5, 'hub: 5 dropped as unknown peer');
  t.match(lab.ctl('R2', 'show dataplane counters'), /dropUnknownPeer\s+\S*[1-9]/);
  t.ok(await waitFor(() => lab.routers.get('R2')!.log.some((l) => /no NHRP peer.*last from NBMA 172\.16\.25\.1/.test(l)), 5000),
    'R2 logs the drop naming the sender');
  t.ok(await waitFor(() => lab.routers.get('R1')!.log.some((l) => /no NHRP peer.*last from NBMA 172\.16\.15\.1/.test(l)), 5000),
    'R1 logs the drop naming the sender');

  // NHRP from the stranger still goes up (the NHRP engine judges it): nhrpIn rises
  const n0 = lab.ctlJson('R2', 'show dataplane counters').nhrpIn;
  sendRawIpv4(lab.ns('inet'), [ipv4({ src: ip(ATTACKER_R2), dst: ip('172.16.25.2'), proto: 47, payload: gre({ proto: 0x2001, payload: new Uint8Array(20) }) })]);
  t.ok(await waitFor(() => lab.ctlJson('R2', 'show dataplane counters').nhrpIn > n0, 5000), 'NHRP from a new address is still handed up');

  t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 3), 'registered peers: h2 -> h1 still flows');
  t.ok(lab.ping(lab.ns('h1'), '10.0.2.10', 3), 'and h1 -> h2');
});
