// Worker restart at the WASM level: the module traps (TEST_TRAP, as a bug would) and a new instance
// is made over the same shared memory, as the supervisor's WorkerKeeper does. Tables, tunnel config,
// SAs and their sequence numbers must survive; the slot the dead instance was on is skipped, not
// replayed; the slots before and after it are not lost; torn (odd-gen) entries are repaired.
import t from 'tap';
import { node, pair, SUITES, A, B, ip, type Node } from './util/esp-env.js';
import { instantiateDataplane } from '../appliance/dataplane/wasm.js';
import { L, PEER_ENTRY } from '../appliance/dataplane/layout.js';
import { readPeers, readTunnelState } from '../appliance/dataplane/commands.js';
import { ipv4, udp } from './util/packets.js';

const enableHooks = (n: Node, on = true) => { new Uint32Array(n.buf)[(n.l.base + L.testHooks) >>> 2] = on ? 1 : 0; };

/** Polls until the module traps; returns the error. */
function pollTraps(n: Node): Error | undefined {
  try { n.poll(); } catch (e) { return e as Error; }
  return undefined;
}
const restart = (n: Node) => { n.dp = instantiateDataplane(n.memory, () => {}); };
const espSeq = (o: { kind: number; data: Uint8Array }) => {
  const esp = o.kind === 50 ? o.data.subarray((o.data[0] & 15) * 4) : o.data;
  return new DataView(esp.buffer, esp.byteOffset).getUint32(4);
};

t.test('TEST_TRAP is refused (cmdBad) unless the supervisor enabled test hooks', async (t) => {
  const a = node(A, B);
  const bad = a.counters().cmdBad;
  a.cmd.testTrap();
  t.equal(pollTraps(a), undefined, 'no trap');
  t.equal(a.counters().cmdBad, bad + 1, 'counted as a bad command');
});

t.test('a trap mid-batch: restart keeps config and tables, skips only the trapping slot', async (t) => {
  const a = node(A, B);
  enableHooks(a);
  const before = readTunnelState(a.buf, a.l);
  a.cmd.peerSet(ip('10.0.0.7'), ip('192.0.2.7'));
  a.cmd.testTrap();
  a.cmd.peerSet(ip('10.0.0.8'), ip('192.0.2.8'));
  const err = pollTraps(a);
  t.ok(err, 'the module trapped');
  t.match(err?.message, /unreachable/);
  t.notOk(readPeers(a.buf, a.l).some((p) => p.tunnelIp === ip('10.0.0.8')), 'the command after the trap was not applied yet');
  restart(a);
  a.poll();
  const c = a.counters();
  t.equal(c.restartSetups, 1, 'the new instance saw it was a restart');
  t.equal(c.restartSlotSkipped, 1, 'the trapping slot was skipped');
  const peers = readPeers(a.buf, a.l).map((p) => p.tunnelIp);
  t.ok(peers.includes(ip('10.0.0.7')), 'command before the trap kept');
  t.ok(peers.includes(ip('10.0.0.8')), 'command after the trap applied by the new instance');
  t.ok(peers.includes(B.tun), 'older peer kept');
  const after = readTunnelState(a.buf, a.l);
  t.same({ ...after, peerCount: 0 }, { ...before, peerCount: 0 }, 'tunnel config kept');
  t.equal(after.peerCount, 3);
  // and it forwards: LAN packet to B's LAN goes out as GRE to B's NBMA address
  a.send(64);
  const w = a.wire();
  t.equal(w.length, 1, 'traffic flows after the restart');
  t.equal(w[0].addr, B.nbma);
  // a second trap is again skipped exactly once
  a.cmd.testTrap();
  t.ok(pollTraps(a));
  restart(a);
  a.poll();
  t.equal(a.counters().restartSlotSkipped, 2);
  t.equal(a.counters().restartSetups, 2);
});

t.test('packets queued behind the trapping command are forwarded after the restart', async (t) => {
  const a = node(A, B);
  enableHooks(a);
  a.cmd.testTrap(); // ctlTx is drained before tunRx: the trap comes first
  for (let i = 0; i < 5; i++) a.r.tunRx.pushSlot(0, 0, 0, ipv4({ src: A.host, dst: B.host, proto: 17, payload: udp(1, 2, 20 + i) }));
  t.ok(pollTraps(a));
  restart(a);
  a.poll();
  t.equal(a.wire().length, 5, 'all five packets forwarded by the new instance');
});

t.test('ESP: outbound sequence numbers continue after a restart, never rewind', async (t) => {
  for (const udp of [false, true]) {
    const a = node(A, B), b = node(B, A);
    pair(a, b, SUITES[0], udp ? { udp: {} } : {});
    enableHooks(a);
    const seen: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) {
        a.send(50);
        for (const w of a.wire()) { seen.push(espSeq(w)); b.deliver(w, A.nbma); }
      }
      a.cmd.testTrap();
      t.ok(pollTraps(a), 'trapped');
      restart(a);
      a.poll();
    }
    a.send(50);
    for (const w of a.wire()) { seen.push(espSeq(w)); b.deliver(w, A.nbma); }
    t.same(seen, Array.from({ length: 13 }, (_, i) => i + 1), `${udp ? 'udp' : 'raw'}: sequence 1..13, no repeats`);
    t.equal(b.take(b.r.tunTx).length, 13, 'the peer decrypted every packet (no replay drops)');
    t.equal(b.counters().dropEspReplay, 0);
    t.equal(a.sas().find((s) => s.dir === 'out')!.seq, 13n, 'SA sequence in shared memory');
  }
});

t.test('torn entries (odd gen) left by a dead instance are repaired', async (t) => {
  const a = node(A, B), b = node(B, A);
  pair(a, b, SUITES[0]);
  enableHooks(a);
  const u32 = new Uint32Array(a.buf);
  // the peer entry of B: make its seqlock odd as if the worker died inside peerSet
  let entry = -1;
  for (let i = 0; i < a.l.peerCapacity; i++) if (u32[(a.l.peerTable + i * PEER_ENTRY.size) >>> 2] === B.tun) entry = i;
  t.ok(entry >= 0);
  const genIdx = (a.l.peerTable + entry * PEER_ENTRY.size + PEER_ENTRY.gen) >>> 2;
  u32[genIdx] |= 1;
  // a free SA slot mid SA_ADD: odd gen, half-written key material
  const sa = a.l.saTable + 9 * 4096;
  u32[(sa + 4) >>> 2] = 1; u32[(sa + 1040) >>> 2] = 0xdeadbeef;
  a.cmd.testTrap();
  t.ok(pollTraps(a));
  restart(a);
  t.equal(u32[genIdx] & 1, 0, 'peer gen even again');
  t.equal(u32[(sa + 4) >>> 2] & 1, 0, 'SA gen even again');
  t.equal(u32[(sa + 1040) >>> 2], 0, 'half-written SA secrets wiped');
  const c = a.counters();
  t.equal(c.restartTornPeers, 1);
  t.equal(c.restartTornSas, 1);
  t.ok(readPeers(a.buf, a.l).some((p) => p.tunnelIp === B.tun), 'the peer is readable again');
  a.send(40);
  const w = a.wire();
  t.equal(w.length, 1, 'traffic to the repaired peer flows');
  b.deliver(w[0], A.nbma);
  t.equal(b.take(b.r.tunTx).length, 1);
});
