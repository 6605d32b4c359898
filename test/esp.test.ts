// IPsec ESP in the WASM data plane: two instances with mirrored manual SAs exchange GRE over ESP
// through their rings (every suite, raw and UDP), tamper/replay/window/ESN/exhaustion/lifetime,
// protected tunnels, NAT-T keepalive/IKE demux, and packets built independently with node:crypto.
import t from 'tap';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { node, pair, SUITES, A, B, keyBytes, CTL_IN, ip, type Node, type Out } from './util/esp-env.js';
import { ESP_ENC, SA_EVENT_REASON, decodeEspControl } from '../appliance/dataplane/sa.js';
import { TUNNEL_FLAG } from '../appliance/dataplane/layout.js';
import { ipv4, gre } from './util/packets.js';

const espOf = (o: Out) => (o.kind === 50 ? o.data.subarray((o.data[0] & 15) * 4) : o.data);
const seqOf = (o: Out) => new DataView(espOf(o).buffer, espOf(o).byteOffset).getUint32(4);

function roundTrip(t: any, a: Node, b: Node, len: number, kind: number) {
  const inner = a.send(len);
  const w = a.wire();
  t.equal(w.length, 1, `one wire packet (${len})`);
  t.equal(w[0].kind, kind);
  t.equal(w[0].addr, B.nbma);
  b.deliver(w[0], A.nbma);
  const got = b.take(b.r.tunTx);
  t.equal(got.length, 1, `decrypted (${len})`);
  t.same(got[0]?.data, inner, `inner intact (${len})`);
  return w[0];
}

for (const udp of [false, true]) {
  for (const s of SUITES) {
    t.test(`round trip ${s.name} ${udp ? 'udp' : 'raw'}`, async (t) => {
      const a = node(A, B), b = node(B, A);
      pair(a, b, s, udp ? { udp: {} } : {});
      t.equal(a.counters().cmdBad, 0);
      t.equal(a.sas().length, 2);
      for (const len of [0, 1, 2, 3, 13, 14, 15, 16, 17, 31, 100, 255, 256, 511, 1000, 1371]) {
        const w = roundTrip(t, a, b, len, udp ? 17 : 50);
        if (udp) t.equal(w.aux, (4500 << 16) | 4500);
        else {
          t.equal(w.data[9], 50, 'outer protocol 50');
          t.equal(new DataView(w.data.buffer).getUint16(2), w.data.length, 'outer total length');
        }
      }
      // and back
      const inner = b.send(200);
      const w = b.wire();
      a.deliver(w[0], B.nbma);
      t.same(a.take(a.r.tunTx)[0]?.data, inner);
      const sa = b.sas().find((x) => x.dir === 'in')!;
      t.equal(sa.packets, 16);
      t.equal(Number(sa.seq), 16);
      t.same(sa.drops, { replay: 0, tooOld: 0, auth: 0, badPad: 0, badNextHeader: 0, lifetime: 0, malformed: 0, policy: 0, seqLimit: 0 });
      const c = b.counters();
      t.equal(c.dropEspAuth, 0);
      t.equal(c.tunTxPackets, 16);
    });
  }
}

t.test('tamper one bit anywhere in the ESP packet: dropped and counted', async (t) => {
  for (const s of SUITES.filter((x) => x.name !== 'null-none')) {
    for (const udp of [false, true]) {
      const a = node(A, B), b = node(B, A);
      pair(a, b, s, udp ? { udp: {} } : {});
      a.send(61);
      const [w] = a.wire();
      const off = w.kind === 50 ? 20 : 0;
      let delivered = 0;
      for (let i = off; i < w.data.length; i++) {
        for (const bit of [0, 7]) {
          const d = w.data.slice(); d[i] ^= 1 << bit;
          b.deliver({ ...w, data: d }, A.nbma);
          delivered += b.take(b.r.tunTx).length;
        }
      }
      t.equal(delivered, 0, `${s.name} ${udp ? 'udp' : 'raw'}: no tampered packet decrypted`);
      const c = b.counters();
      const sa = b.sas().find((x) => x.dir === 'in')!;
      t.ok(sa.drops.auth > 0 && c.dropEspAuth === sa.drops.auth, 'auth drops counted');
      t.equal(c.dropUnknownSpi + c.dropEspAuth + c.dropEspReplay + c.dropEspMalformed, 2 * (w.data.length - off), 'each tampered packet counted once');
      b.deliver(w, A.nbma);
      t.equal(b.take(b.r.tunTx).length, 1, 'the genuine packet still passes (window not moved by forgeries)');
    }
  }
});

t.test('replay: the same packet twice', async (t) => {
  const a = node(A, B), b = node(B, A);
  pair(a, b, SUITES[0]);
  a.send(10);
  const [w] = a.wire();
  b.deliver(w, A.nbma);
  b.deliver(w, A.nbma);
  t.equal(b.take(b.r.tunTx).length, 1);
  const sa = b.sas().find((x) => x.dir === 'in')!;
  t.equal(sa.drops.replay, 1);
  t.equal(b.counters().dropEspReplay, 1);
});

/** A's outbound packet with sequence number `seq` (reinstalls A's outbound SA at seq-1). */
function packetWithSeq(a: Node, b: Node, seq: bigint, o: any = {}): Out {
  const s = SUITES[0];
  a.sa.saAdd({ index: 0, dir: 'out', spi: 0x1001, peer: B.nbma, enc: s.enc, icvLen: s.icvLen, key: keyBytes(s.keyLen, 1), initialSeq: seq - 1n, ...o });
  a.apply();
  a.send(20);
  const [w] = a.wire();
  return w;
}

t.test('replay window edges (2048 bits default)', async (t) => {
  const a = node(A, B), b = node(B, A);
  pair(a, b, SUITES[0]);
  const ok = (seq: bigint) => { b.deliver(packetWithSeq(a, b, seq), A.nbma); return b.take(b.r.tunTx).length === 1; };
  t.ok(ok(5000n), 'T = 5000');
  t.ok(ok(5000n - 2047n), 'window-1 behind: accepted');
  t.notOk(ok(5000n - 2047n), '... once');
  t.notOk(ok(5000n - 2048n), 'window behind: too old');
  t.ok(ok(4999n), 'just behind: accepted');
  t.ok(ok(5000n + 1_000_000n), 'far ahead jump');
  t.notOk(ok(5001n), 'old top now too old');
  t.ok(ok(5000n + 1_000_000n - 1n), 'just behind new top');
  const z = packetWithSeq(a, b, 7n); const zd = z.data.slice(); zd.fill(0, 24, 28); b.deliver({ ...z, data: zd }, A.nbma);
  t.equal(b.take(b.r.tunTx).length, 0, 'seq 0 never valid');
  const sa = b.sas().find((x) => x.dir === 'in')!;
  t.equal(sa.seq, 1_005_000n);
  t.equal(sa.drops.replay, 1);
  t.equal(sa.drops.tooOld, 3);
  // configurable window
  const c = node(A, B), d = node(B, A);
  pair(c, d, SUITES[0], {}, { replayWindow: 64 });
  const ok2 = (seq: bigint) => { d.deliver(packetWithSeq(c, d, seq), A.nbma); return d.take(d.r.tunTx).length === 1; };
  t.ok(ok2(1000n)); t.ok(ok2(937n), '63 behind'); t.notOk(ok2(936n), '64 behind');
});

t.test('ESN: wrap of the low 32 bits, in order and across the boundary out of order', async (t) => {
  const a = node(A, B), b = node(B, A);
  pair(a, b, SUITES[0], { esn: true });
  const ok = (seq: bigint) => { b.deliver(packetWithSeq(a, b, seq, { esn: true }), A.nbma); return b.take(b.r.tunTx).length === 1; };
  t.ok(ok(0xfffffffen));
  t.ok(ok(0x1_0000_0001n), 'next subspace (low 1)');
  t.ok(ok(0xffffffffn), 'previous subspace, within window');
  t.ok(ok(0x1_0000_0000n), 'low 0 of the next subspace');
  t.notOk(ok(0xffffffffn), 'replay across the wrap');
  t.equal(b.sas().find((x) => x.dir === 'in')!.seq, 0x1_0000_0001n);
  // the sender crosses 2^33 on its own: 0x1_ffffffff, 0x2_00000000, 0x2_00000001
  const e = node(A, B), f = node(B, A);
  pair(e, f, SUITES[6], { esn: true, initialSeq: 0x1_fffffffen }, { initialSeq: 0x1_fffffff0n });
  for (let i = 0; i < 3; i++) { e.send(5); f.deliver(e.wire()[0], A.nbma); }
  t.equal(f.take(f.r.tunTx).length, 3);
  t.equal(e.sas().find((x) => x.dir === 'out')!.seq, 0x2_0000_0001n);
  t.equal(f.sas().find((x) => x.dir === 'in')!.seq, 0x2_0000_0001n);
  // wrong high half -> ICV fails (high bits are authenticated)
  const c = node(A, B), d = node(B, A);
  pair(c, d, SUITES[0], { esn: true });
  d.deliver(packetWithSeq(c, d, 0x5_0000_0010n, { esn: true }), A.nbma);
  t.equal(d.take(d.r.tunTx).length, 0, 'a sender 4 subspaces ahead cannot be inferred');
  t.equal(d.sas().find((x) => x.dir === 'in')!.drops.auth, 1);
});

t.test('sequence exhaustion: SA_EVENT, no wrap', async (t) => {
  for (const s of [SUITES[0], SUITES[7]]) {
    const a = node(A, B), b = node(B, A);
    pair(a, b, s, { initialSeq: 0xfffffffdn });
    a.ctl();
    a.send(5); a.send(5);
    const w = a.wire();
    t.same(w.map(seqOf), [0xfffffffe, 0xffffffff]);
    const ev = a.ctl().map((m) => decodeEspControl(m.kind, m.addr, m.aux, m.data));
    t.same(ev, [{ type: 'SA_EVENT', index: 0, reason: SA_EVENT_REASON.SEQ_EXHAUSTED, spi: 0x1001, dir: 2 }]);
    a.send(5);
    t.equal(a.wire().length, 0, 'no packet after 2^32-1');
    const sa = a.sas().find((x) => x.dir === 'out')!;
    t.equal(sa.state, 'expired');
    t.equal(sa.seq, 0xffffffffn);
    t.equal(sa.drops.lifetime, 1);
    t.equal(a.ctl().length, 0, 'event sent once');
    for (const o of w) b.deliver(o, A.nbma);
    t.equal(b.take(b.r.tunTx).length, 2);
  }
});

t.test('soft and hard lifetimes (packets, bytes)', async (t) => {
  const a = node(A, B), b = node(B, A);
  pair(a, b, SUITES[6], { softPackets: 2, hardPackets: 3 }, { softBytes: 100, hardBytes: 1_000_000 });
  a.ctl(); b.ctl();
  for (let i = 0; i < 4; i++) { a.send(40); for (const o of a.wire()) b.deliver(o, A.nbma); }
  const evA = a.ctl().map((m) => decodeEspControl(m.kind, m.addr, m.aux, m.data) as any);
  t.same(evA.map((e) => e.reason), [SA_EVENT_REASON.SOFT_LIFETIME, SA_EVENT_REASON.HARD_LIFETIME]);
  t.equal(b.take(b.r.tunTx).length, 3, 'hard limit: 3 packets');
  t.equal(a.sas().find((x) => x.dir === 'out')!.drops.lifetime, 1);
  const evB = b.ctl().map((m) => decodeEspControl(m.kind, m.addr, m.aux, m.data) as any);
  t.same(evB.map((e) => [e.index, e.reason, e.dir]), [[1, SA_EVENT_REASON.SOFT_LIFETIME, 1], [1, SA_EVENT_REASON.HARD_LIFETIME, 1]], 'inbound: soft (bytes), hard (packets)');
});

t.test('protected tunnel: no SA -> drop + SA_NEEDED (rate-limited); cleartext GRE dropped', async (t) => {
  const a = node(A, B, { flags: TUNNEL_FLAG.PROTECTED });
  a.send(10); a.send(10);
  t.equal(a.wire().length, 0);
  let c = a.counters();
  t.equal(c.dropNoSa, 2);
  const m = a.ctl();
  t.equal(m.length, 1, 'one SA_NEEDED per second');
  t.same(decodeEspControl(m[0].kind, m[0].addr, m[0].aux, m[0].data), { type: 'SA_NEEDED', nbma: B.nbma });
  a.now += 1001; a.send(10);
  t.equal(a.ctl().length, 1, 'again after 1 s');
  // NHRP_OUT is GRE too: protected
  a.cmd.nhrpOut(B.nbma, new Uint8Array(40)); a.poll();
  t.equal(a.wire().length, 0);
  // inbound cleartext GRE (IPv4 and NHRP) dropped
  const inner = ipv4({ src: B.host, dst: A.host, proto: 17, payload: new Uint8Array(8) });
  for (const proto of [0x0800, 0x2001]) {
    a.r.nbmaRx.pushSlot(47, B.nbma, 0, ipv4({ src: B.nbma, dst: A.nbma, proto: 47, payload: gre({ proto, payload: inner }) }));
    a.poll();
  }
  c = a.counters();
  t.equal(c.dropCleartext, 2);
  t.equal(a.take(a.r.tunTx).length + a.ctl().length, 0);
  // with SAs it flows; unprotected tunnel without SA: cleartext
  const b = node(B, A, { flags: TUNNEL_FLAG.PROTECTED });
  pair(a, b, SUITES[0]);
  roundTrip(t, a, b, 100, 50);
  const u = node(A, B), v = node(B, A);
  u.send(10);
  t.equal(u.wire()[0].kind, 47, 'unprotected, no SA: cleartext GRE');
  pair(u, v, SUITES[0]);
  roundTrip(t, u, v, 10, 50);
  u.sa.saDel(0); u.apply();
  u.send(10);
  t.equal(u.wire()[0].kind, 47, 'after SA_DEL: cleartext again');
  t.equal(u.sas().length, 1);
});

t.test('make-before-break rekey: newest outbound SA wins, old inbound still accepted', async (t) => {
  const a = node(A, B), b = node(B, A);
  pair(a, b, SUITES[0]);
  const k = keyBytes(20, 9);
  b.sa.saAdd({ index: 5, dir: 'in', spi: 0x3001, peer: A.nbma, enc: ESP_ENC.AES_GCM_128, key: k }); b.apply();
  a.sa.saAdd({ index: 5, dir: 'out', spi: 0x3001, peer: B.nbma, enc: ESP_ENC.AES_GCM_128, key: k }); a.apply();
  const w = roundTrip(t, a, b, 50, 50);
  t.equal(new DataView(espOf(w).buffer, espOf(w).byteOffset).getUint32(0), 0x3001);
  a.sa.saDel(5); a.apply();
  const w2 = roundTrip(t, a, b, 50, 50);
  t.equal(new DataView(espOf(w2).buffer, espOf(w2).byteOffset).getUint32(0), 0x1001, 'back to the older SA');
  // duplicate inbound SPI at another index is refused
  const before = b.counters().cmdBad;
  b.sa.saAdd({ index: 7, dir: 'in', spi: 0x3001, peer: A.nbma, enc: ESP_ENC.AES_GCM_128, key: k }); b.apply();
  t.equal(b.counters().cmdBad, before + 1);
});

t.test('SA_ADD: bad fields refused, key bytes zeroed in the ctlTx slot', async (t) => {
  const a = node(A, B);
  const bad = [
    { enc: ESP_ENC.AES_GCM_128, key: keyBytes(16, 1) }, // no salt
    { enc: ESP_ENC.AES_GCM_128, icvLen: 10, key: keyBytes(20, 1) },
    { enc: ESP_ENC.AES_CBC_128, key: keyBytes(16, 1) }, // CBC without integrity
    { enc: ESP_ENC.CHACHA20_POLY1305, key: keyBytes(32, 1) },
    { enc: ESP_ENC.AES_GCM_128, key: keyBytes(20, 1), replayWindow: 100 },
    { enc: ESP_ENC.AES_GCM_128, key: keyBytes(20, 1), spi: 5 },
    { enc: ESP_ENC.AES_GCM_128, key: keyBytes(20, 1), index: 64 },
  ];
  for (const b of bad) a.sa.saAdd({ index: 3, dir: 'in', spi: 0x5000, peer: B.nbma, ...b } as any);
  a.apply();
  t.equal(a.counters().cmdBad, bad.length);
  t.equal(a.sas().length, 0);
  const key = Uint8Array.from({ length: 36 }, () => 0xa5);
  a.sa.saAdd({ index: 2, dir: 'in', spi: 0x5000, peer: B.nbma, enc: ESP_ENC.CHACHA20_POLY1305, key });
  a.apply();
  t.equal(a.sas().length, 1);
  const mem = new Uint8Array(a.buf);
  const ctl = mem.subarray(a.l.ctlTx, a.l.ctlTx + 256 + 64 * 2048);
  let found = false;
  for (let i = 0; i + 8 <= ctl.length; i++) if (ctl[i] === 0xa5 && ctl.subarray(i, i + 8).every((x) => x === 0xa5)) found = true;
  t.notOk(found, 'raw key not left in the command ring');
});

t.test('UDP 4500 demux: NAT-keepalive, IKE (non-ESP marker), KEEPALIVE and IKE_OUT commands', async (t) => {
  const a = node(A, B);
  a.r.udpRx.pushSlot(17, B.nbma, (4500 << 16) | 4500, Uint8Array.of(0xff)); a.poll();
  const ike = Uint8Array.from({ length: 60 }, (_, i) => i);
  const withMarker = new Uint8Array(64); withMarker.set(ike, 4);
  a.r.udpRx.pushSlot(17, B.nbma, (4501 << 16) | 4500, withMarker); a.poll();
  const m = a.ctl();
  t.equal(m.length, 1);
  t.equal(m[0].kind, CTL_IN.IKE_IN);
  t.same(decodeEspControl(m[0].kind, m[0].addr, m[0].aux, m[0].data), { type: 'IKE_IN', src: B.nbma, srcPort: 4501, dstPort: 4500, message: ike });
  a.sa.keepalive(B.nbma); a.sa.ikeOut(B.nbma, ike); a.apply();
  const out = a.take(a.r.udpTx);
  t.same(out.map((o) => [o.kind, o.addr, o.aux]), [[17, B.nbma, (4500 << 16) | 4500], [17, B.nbma, (4500 << 16) | 4500]]);
  t.same(out[0].data, Uint8Array.of(0xff));
  t.same(out[1].data, withMarker);
  const c = a.counters();
  t.equal(c.nattKeepaliveRx, 1); t.equal(c.nattKeepaliveTx, 1); t.equal(c.ikeIn, 1); t.equal(c.ikeOut, 1);
});

t.test('control lane: IKE on ikeRx reaches ctlRx while a full tunTx holds ESP on udpRx, and waits for a full ctlRx; IKE on udpRx beyond it is counted', async (t) => {
  const a = node(A, B), b = node(B, A);
  pair(a, b, SUITES[7], { udp: {} });
  const esp: Out[] = [];
  for (let i = 0; i < 70; i++) { b.send(100); esp.push(...b.wire()); }
  t.equal(esp.length, 70, 'the peer sent 70 ESP-in-UDP packets');
  const deliver = (list: typeof esp) => { for (const o of list) a.r.udpRx.fill(17, B.nbma, o.aux, o.data); a.r.udpRx.publish(); a.poll(); };
  deliver(esp.slice(0, 64));
  t.equal(a.r.tunTx.pending, 64, 'tunTx full (its pump paused)');
  deliver(esp.slice(64));
  t.equal(a.r.udpRx.pending, 6, 'the rest of the ESP waits in udpRx');
  const withMarker = new Uint8Array(64); withMarker.set(Uint8Array.from({ length: 60 }, (_, i) => i), 4);
  a.r.ikeRx.pushSlot(17, B.nbma, (4500 << 16) | 4500, withMarker);
  t.equal(a.dp.prepareSleep() >>> 0, 0xffffffff, 'IKE on the control lane is work, tunTx full or not');
  t.equal(a.poll(), 1, 'only the IKE slot is taken');
  t.same(a.ctl().map((m) => m.kind), [CTL_IN.IKE_IN], 'handed up');
  t.equal(a.r.udpRx.pending, 6, 'the ESP still waits');
  for (let k = 0; k < 2; k++) {
    for (let i = 0; i < 40; i++) a.r.ikeRx.fill(17, B.nbma, (4500 << 16) | 4500, withMarker);
    a.r.ikeRx.publish(); a.poll();
  }
  let c = a.counters();
  t.equal(c.ikeIn, 1 + 64, 'ctlRx (64 slots) took 64 of the next 80');
  t.equal(a.r.ikeRx.pending, 16, 'the other 16 wait in ikeRx');
  t.equal(c.ikeInDropped, 0);
  a.r.udpRx.pushSlot(17, B.nbma, (4500 << 16) | 4500, withMarker); a.poll(); // no IKE lane: IKE on udpRx
  c = a.counters();
  t.equal(c.ikeInDropped, 0, 'IKE on udpRx waits behind the held ESP');
  a.take(a.r.tunTx); a.poll();
  c = a.counters();
  t.equal(c.ikeInDropped, 1, 'then, with ctlRx still full, it is dropped and counted');
  t.equal(a.ctl().length, 64);
  a.poll();
  t.equal(a.ctl().length, 16, 'room again: the waiting IKE is handed up');
  t.equal(a.counters().ikeIn, 1 + 64 + 16);
});

t.test('malformed and truncated ESP never crash and are counted', async (t) => {
  const a = node(A, B), b = node(B, A);
  pair(a, b, SUITES[7], { udp: {} });
  a.send(100);
  const [w] = a.wire();
  for (let n = 0; n < w.data.length; n++) b.deliver({ ...w, data: w.data.slice(0, n) }, A.nbma);
  // raw: outer total length larger than the data, wrong protocol, not for us
  const raw = ipv4({ src: A.nbma, dst: B.nbma, proto: 50, payload: w.data });
  const short = raw.slice(0, 40);
  b.r.espRx.pushSlot(50, A.nbma, 0, short);
  b.r.espRx.pushSlot(50, A.nbma, 0, ipv4({ src: A.nbma, dst: ip('1.2.3.4'), proto: 50, payload: w.data }));
  b.poll();
  t.equal(b.take(b.r.tunTx).length, 0);
  const c = b.counters();
  t.ok(c.dropEspMalformed > 0 && c.dropEspAuth > 0, 'truncations: malformed or auth');
  t.equal(c.dropBadIp, 1, `dropBadIp ${JSON.stringify(c)}`); t.equal(c.dropNotForUs, 1);
  b.deliver(w, A.nbma);
  t.equal(b.take(b.r.tunTx).length, 1, 'still works');
});

t.test('tunnel mode SA: GRE inside an inner IPv4 header (next header 4)', async (t) => {
  const a = node(A, B), b = node(B, A);
  pair(a, b, SUITES[0], { tunnel: true });
  const w = roundTrip(t, a, b, 300, 50);
  t.equal(w.data.length, 20 + 8 + 8 + Math.ceil((20 + 4 + 328 + 2) / 4) * 4 + 16);
});

// ---------- independent implementations (node:crypto) ----------

function nodeEspBuild(alg: 'gcm' | 'chacha', key: Uint8Array, spi: number, seq: number, payload: Uint8Array, nh: number) {
  const k = key.subarray(0, key.length - 4), salt = key.subarray(key.length - 4);
  const iv = Buffer.alloc(8); iv.writeBigUInt64BE(BigInt(seq) + 0x1122334400000000n); // any unique IV
  const padLen = (4 - ((payload.length + 2) % 4)) % 4;
  const pt = Buffer.concat([payload, Buffer.from(Array.from({ length: padLen }, (_, i) => i + 1)), Buffer.from([padLen, nh])]);
  const hdr = Buffer.alloc(8); hdr.writeUInt32BE(spi); hdr.writeUInt32BE(seq, 4);
  const nonce = Buffer.concat([salt, iv]);
  const c = alg === 'gcm'
    ? createCipheriv(`aes-${k.length * 8}-gcm` as any, k, nonce)
    : createCipheriv('chacha20-poly1305', k, nonce, { authTagLength: 16 } as any);
  (c as any).setAAD(hdr);
  const ct = Buffer.concat([c.update(pt), c.final()]);
  return Buffer.concat([hdr, iv, ct, (c as any).getAuthTag()]);
}

t.test('ESP built by node:crypto (RFC 4106 AES-GCM, RFC 7634 ChaCha20-Poly1305) decrypts in ours', async (t) => {
  for (const [alg, enc, klen] of [['gcm', ESP_ENC.AES_GCM_128, 20], ['gcm', ESP_ENC.AES_GCM_256, 36], ['chacha', ESP_ENC.CHACHA20_POLY1305, 36]] as const) {
    const b = node(B, A);
    const key = keyBytes(klen, 42);
    b.sa.saAdd({ index: 0, dir: 'in', spi: 0xabcdef01, peer: A.nbma, enc, key }); b.apply();
    for (const [i, len] of [10, 200, 1000].entries()) {
      const inner = ipv4({ src: A.host, dst: B.host, proto: 17, payload: new Uint8Array(len).fill(i + 1) });
      const esp = nodeEspBuild(alg, key, 0xabcdef01, i + 1, gre({ proto: 0x0800, payload: inner }), 47);
      b.r.espRx.pushSlot(50, A.nbma, 0, ipv4({ src: A.nbma, dst: B.nbma, proto: 50, payload: esp }));
      b.r.udpRx.pushSlot(17, A.nbma, (4500 << 16) | 4500, nodeEspBuild(alg, key, 0xabcdef01, 100 + i, gre({ proto: 0x0800, payload: inner }), 47));
      b.poll();
      const got = b.take(b.r.tunTx);
      t.equal(got.length, 2, `${alg}/${klen} ${len}`);
      t.same(got[0]?.data, inner); t.same(got[1]?.data, inner);
    }
  }
});

t.test('ESP we emit decrypts with node:crypto (AES-GCM, ChaCha20-Poly1305, AES-CBC+HMAC)', async (t) => {
  const { createHmac } = await import('node:crypto');
  for (const s of [SUITES[0], SUITES[3], SUITES[6], SUITES[8], SUITES[10]]) {
    const a = node(A, B), b = node(B, A);
    const { k1, a1 } = pair(a, b, s);
    const inner = a.send(123);
    const esp = Buffer.from(espOf(a.wire()[0]));
    const hdr = esp.subarray(0, 8);
    let pt: Buffer;
    if (s.enc === ESP_ENC.AES_CBC_128 || s.enc === ESP_ENC.AES_CBC_256) {
      const icvLen = s.integ === 1 ? 12 : 16;
      const mac = createHmac(s.integ === 1 ? 'sha1' : 'sha256', a1).update(esp.subarray(0, esp.length - icvLen)).digest().subarray(0, icvLen);
      t.same(mac, esp.subarray(esp.length - icvLen), `${s.name} ICV`);
      const d = createDecipheriv(`aes-${k1.length * 8}-cbc` as any, k1, esp.subarray(8, 24)); d.setAutoPadding(false);
      pt = Buffer.concat([d.update(esp.subarray(24, esp.length - icvLen)), d.final()]);
    } else {
      const k = k1.subarray(0, k1.length - 4), salt = k1.subarray(k1.length - 4);
      const iv = esp.subarray(8, 16);
      t.same(iv, Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), 'IV = 64-bit seq');
      const icvLen = s.icvLen ?? 16;
      const d = s.enc === ESP_ENC.CHACHA20_POLY1305
        ? createDecipheriv('chacha20-poly1305', k, Buffer.concat([salt, iv]), { authTagLength: 16 } as any)
        : createDecipheriv(`aes-${k.length * 8}-gcm` as any, k, Buffer.concat([salt, iv]), { authTagLength: icvLen } as any);
      (d as any).setAAD(hdr); (d as any).setAuthTag(esp.subarray(esp.length - icvLen));
      pt = Buffer.concat([d.update(esp.subarray(16, esp.length - icvLen)), d.final()]);
    }
    const nh = pt[pt.length - 1], padLen = pt[pt.length - 2];
    t.equal(nh, 47, `${s.name} next header GRE`);
    t.same(pt.subarray(pt.length - 2 - padLen, pt.length - 2), Buffer.from(Array.from({ length: padLen }, (_, i) => i + 1)));
    t.same(pt.subarray(4, pt.length - 2 - padLen), Buffer.from(inner), `${s.name} GRE payload = inner`);
  }
});
