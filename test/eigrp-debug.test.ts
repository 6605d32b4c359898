// `debug eigrp packets`: the exec command turns on the EIGRP facility's debug lines, and the speaker
// logs one line per packet sent and received (opcode as IOS names it, interface, neighbor, AS, flags,
// seq/ack) and one per dropped packet with its reason. Two speakers on a simulated segment, logging
// into a real Log (log/log.ts) whose debug switch is the one the command flips.
import t from 'tap';
import { Log } from '../appliance/log/log.js';
import { EigrpSpeaker } from '../appliance/routing/eigrp/speaker.js';
import type { SpeakerOptions } from '../appliance/routing/eigrp/speaker.js';
import { encodeEigrp } from '../appliance/routing/eigrp/codec.js';
import { routingCommands } from '../appliance/supervisor/exec-routing.js';
import type { ExecContext } from '../appliance/supervisor/exec-context.js';
import { Segment, Rib } from './util/eigrp-segment.js';

const options = (address: string, lan: string): SpeakerOptions => ({
  asn: 100, routerId: address, originate: [{ prefix: lan, len: 24, iface: 'Tunnel0' }],
  interfaces: [{ name: 'Tunnel0', address, prefixLen: 24, bandwidth: 100, delay: 5000, mtu: 1400, rules: { splitHorizon: true, nextHopSelf: true }, helloInterval: 5, holdTime: 15, passive: false }],
});

t.test('the exec command switches on the EIGRP facility\'s debug lines', async (t) => {
  const on: string[] = [];
  const cmds = routingCommands({ debugOn: (f: string) => { on.push(f); } } as unknown as ExecContext);
  const out = cmds['debug eigrp packets']({ p: {}, kw: new Set(), no: false } as never);
  t.match(out, /^EIGRP Packets debugging is on\n/);
  t.same(on, ['eigrp'], 'facility eigrp (the supervisor logs the speakers under EIGRP)');
});

t.test('one line per packet sent and received, one per drop; nothing while debugging is off', async (t) => {
  const lines: string[] = [];
  const log = new Log(() => 'R1', 5000, (l) => lines.push(l));
  const seg = new Segment();
  let now = 0;
  const a = new EigrpSpeaker(options('10.0.0.1', '10.1.0.0'), seg.port('10.0.0.1'), new Rib(), now, log.facility('EIGRP'));
  now += 100; a.tick(now);
  t.equal(a.counters.sent.get('Hello'), 1, 'a first hello went out');
  t.same(lines, [], 'with debugging off: without a line');
  const b = new EigrpSpeaker(options('10.0.0.2', '10.2.0.0'), seg.port('10.0.0.2'), new Rib(), now);
  const run = (ms: number) => { for (let x = 0; x < ms; x += 100) { now += 100; a.tick(now); b.tick(now); seg.pump(); } };
  log.debugEnabled.add('eigrp'); // what `debug eigrp packets` does (ExecContext.debugOn in the supervisor)
  run(20_000);
  t.equal(a.neighbors.up().length, 1, 'the adjacency came up meanwhile');
  const text = lines.join('\n');
  t.match(text, /%EIGRP-7-EVENT: EIGRP: Sending HELLO on Tunnel0: AS 100, Flags 0x0, Seq 0\/0/, 'multicast hello sent (no neighbor named)');
  t.match(text, /EIGRP: Received HELLO on Tunnel0 nbr 10\.0\.0\.2: AS 100, Flags 0x0, Seq 0\/0/, 'hello received, with the neighbor');
  t.match(text, /EIGRP: Sending UPDATE on Tunnel0 nbr 10\.0\.0\.2: AS 100, Flags 0x1, Seq \d+\/\d+/, 'the init update (flag 0x1) to the new neighbor');
  t.match(text, /EIGRP: Received UPDATE on Tunnel0 nbr 10\.0\.0\.2: AS 100, Flags 0x(1|8|9), Seq [1-9]\d*\/\d+/, 'its update received');
  t.match(text, /EIGRP: (Sending|Received) ACK on Tunnel0 nbr 10\.0\.0\.2: AS 100, Flags 0x0, Seq 0\/[1-9]\d*/, 'acknowledgments as ACK (a hello with an ack number)');
  const sent = lines.filter((l) => /EIGRP: Sending /.test(l)).length, counted = [...a.counters.sent.values()].reduce((x, y) => x + y, 0);
  t.ok(sent > 0 && sent <= counted, `every line is a packet the counters saw (${sent} lines, ${counted} sent in all)`);

  lines.length = 0;
  const foreign = encodeEigrp({ header: { version: 2, opcode: 5, checksum: 0, flags: 0, seq: 0, ack: 0, vrid: 0, as: 200 }, tlvs: [] });
  a.receive('Tunnel0', '10.0.0.9', foreign);
  t.match(lines.join('\n'), /EIGRP: Received HELLO on Tunnel0 nbr 10\.0\.0\.9: AS 200[^\n]*\n[^\n]*EIGRP: Dropped packet from 10\.0\.0\.9 on Tunnel0: wrong-as \(AS 200, we are 100\)/, 'a packet of another AS: its line, then the drop with the reason');
  a.receive('Tunnel0', '10.0.0.9', new Uint8Array([2, 5, 0]));
  t.match(lines.at(-1), /EIGRP: Dropped packet from 10\.0\.0\.9 on Tunnel0: short/, 'a truncated one: the drop only');

  log.debugEnabled.clear(); // undebug all
  lines.length = 0;
  run(10_000);
  t.same(lines, [], 'undebug all: silent again');
});
