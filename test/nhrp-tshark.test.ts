// Proves the NHRP wire format against the real Wireshark dissector: every message type we emit is
// wrapped in GRE(0x2001)+IPv4, written to a pcap, dissected by tshark, and the dissected fields are
// compared with what we meant to send. A deliberately corrupted packet proves the checks can fail.
import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNhrp, encodeNhrp } from '../appliance/nhrp/codec.js';
import { greIpv4, writePcap } from './util/nhrp-pcap.js';
import { all, problems, type Json } from './util/tshark-json.js';
import { samples } from './util/nhrp-samples.js';
import type { NhrpCie, NhrpMessage } from '../appliance/nhrp/types.js';
import { needs } from './util/needs.js';


/** Extension subtrees of the NHRP layer, by extension type number, in order. */
function extensions(nhrp: Json): Array<{ type: number; c: string; len: number; node: Json }> {
  const out: Array<{ type: number; c: string; len: number; node: Json }> = [];
  for (const v of Object.values(nhrp)) {
    for (const x of Array.isArray(v) ? v : [v]) {
      if (x && typeof x === 'object' && 'nhrp.ext.type' in (x as Json)) {
        const n = x as Json;
        out.push({ type: Number(n['nhrp.ext.type']), c: String(n['nhrp.ext.c']), len: Number(n['nhrp.ext.len']), node: n });
      }
    }
  }
  return out;
}

const hex = (n: number, w: number): string => `0x${n.toString(16).padStart(w, '0')}`;

function checkCies(t: Test, node: unknown, cies: NhrpCie[], what: string): void {
  t.same(all(node, 'nhrp.code').map(Number), cies.map((c) => c.code), `${what}: CIE codes`);
  t.same(all(node, 'nhrp.htime').map(Number), cies.map((c) => c.holdingTime), `${what}: holding times`);
  t.same(all(node, 'nhrp.prefix').map(Number), cies.map((c) => c.prefixLen), `${what}: prefix lengths`);
  t.same(all(node, 'nhrp.mtu').map(Number), cies.map((c) => c.mtu), `${what}: MTUs`);
  t.same(all(node, 'nhrp.client.nbma.addr'), cies.filter((c) => c.nbma).map((c) => c.nbma), `${what}: client NBMA`);
  t.same(all(node, 'nhrp.client.prot.addr'), cies.filter((c) => c.proto).map((c) => c.proto), `${what}: client proto`);
}

// --- a Registration Request written byte by byte from the RFC 2332 field tables (5.2.0.1, 5.2.0.2,
// 5.2.0.3, 5.3), not by our encoder. Checksum is computed below by an independent loop.
const HAND_BUILT = [
  0x00, 0x01, //             ar$afn: 1 = IPv4 NBMA
  0x08, 0x00, //             ar$pro.type: IPv4
  0x00, 0x00, 0x00, 0x00, 0x00, // ar$pro.snap
  0xff, //                   ar$hopcnt 255
  0x00, 0x44, //             ar$pktsz 68
  0x00, 0x00, //             ar$chksum (filled in)
  0x00, 0x3c, //             ar$extoff 60
  0x01, //                   ar$op.version 1
  0x03, //                   ar$op.type 3 = Registration Request
  0x04, //                   ar$shtl: NSAP format, length 4
  0x00, //                   ar$sstl: none
  0x04, 0x04, //             src/dst protocol address lengths
  0x80, 0x00, //             flags: U (unique)
  0x00, 0x00, 0x00, 0x2a, // request id 42
  198, 51, 100, 7, //        source NBMA address
  10, 0, 0, 7, //            source protocol address
  10, 0, 0, 1, //            destination protocol address (the NHS)
  // CIE
  0x00, //                   code 0
  0x20, //                   prefix length 32
  0x00, 0x00, //             unused
  0x05, 0x78, //             MTU 1400
  0x01, 0x2c, //             holding time 300 s
  0x04, 0x00, 0x04, //       cli addr t/l 4, cli subaddr t/l 0, cli proto len 4
  0x00, //                   preference
  198, 51, 100, 7, //        client NBMA
  10, 0, 0, 7, //            client protocol address
  // extensions (offset 60)
  0x80, 0x03, 0x00, 0x00, // Responder Address, compulsory, empty
  0x80, 0x00, 0x00, 0x00, // End of Extensions, compulsory
];

function handBuilt(): Uint8Array {
  const b = new Uint8Array(HAND_BUILT);
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += b[i] * 256 + (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  const cs = 0xffff - s;
  b[12] = cs >> 8; b[13] = cs & 0xff;
  return b;
}

t.test('decodeNhrp reads a hand-built RFC 2332 Registration Request', async (t) => {
  const r = decodeNhrp(handBuilt());
  t.ok(r.ok, r.ok ? 'decoded' : `${r.code}: ${r.error}`);
  if (!r.ok) return;
  const m = r.msg;
  t.equal(m.type, 3);
  t.equal(m.hopCount, 255);
  t.equal(m.flags, 0x8000);
  t.equal(m.requestId, 42);
  t.equal(m.srcNbma, '198.51.100.7');
  t.equal(m.srcProto, '10.0.0.7');
  t.equal(m.dstProto, '10.0.0.1');
  t.same(m.cies, [{ code: 0, prefixLen: 32, mtu: 1400, holdingTime: 300, preference: 0, nbma: '198.51.100.7', proto: '10.0.0.7' }]);
  t.same(m.extensions, [{ type: 3, compulsory: true, cies: [] }]);
  // and our encoder produces exactly these bytes back
  t.same([...encodeNhrp(m)], [...handBuilt()], 're-encodes byte-identically');
});

t.test('Wireshark dissects every message type as we meant it', needs(t, 'tshark'), async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nhrp-tshark-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cases = samples();
  const packets = cases.map((c) => greIpv4(c.outerSrc, c.outerDst, encodeNhrp(c.msg), c.greKey));
  packets.push(greIpv4('198.51.100.7', '203.0.113.1', handBuilt()));
  // negative control: flip one byte of a valid packet so its checksum no longer verifies
  const bad = encodeNhrp(cases[0].msg);
  bad[30] ^= 0x01;
  packets.push(greIpv4('198.51.100.2', '203.0.113.1', bad));
  const pcap = join(dir, 'nhrp.pcap');
  writePcap(pcap, packets);

  // This tshark (4.0) always verifies the NHRP checksum (there is no nhrp.check_checksum pref);
  // Cisco's authentication extension carries no source address, hence auth_ext_has_addr:FALSE.
  const r = spawnSync('tshark', ['-r', pcap, '-V', '-T', 'json', '--no-duplicate-keys',
    '-o', 'nhrp.auth_ext_has_addr:FALSE'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  t.equal(r.status, 0, `tshark exit status (stderr: ${r.stderr?.slice(0, 300)})`);
  const frames = JSON.parse(r.stdout) as Array<{ _source: { layers: Json } }>;
  t.equal(frames.length, packets.length, 'one dissected frame per packet');

  cases.forEach((c, i) => {
    const layers = frames[i]._source.layers;
    const nhrp = layers.nhrp as Json;
    const m: NhrpMessage = c.msg;
    t.test(c.name, async (t) => {
      t.ok(nhrp, 'NHRP layer present');
      t.same(problems(layers), [], 'no expert info / malformed markers');
      t.same(all(nhrp['NHRP Fixed Header'], 'nhrp.hdr.chksum.status'), ['1'], 'checksum good');
      t.same(all(nhrp['NHRP Fixed Header'], 'nhrp.hdr.op.type').map(Number), [m.type], 'type');
      t.same(all(nhrp['NHRP Fixed Header'], 'nhrp.hdr.afn'), ['0x0001'], 'afn');
      t.same(all(nhrp['NHRP Fixed Header'], 'nhrp.hdr.pro.type'), ['0x0800'], 'protocol type');
      t.same(all(nhrp['NHRP Fixed Header'], 'nhrp.hdr.version'), ['1'], 'version');
      t.same(all(nhrp['NHRP Fixed Header'], 'nhrp.hdr.hopcnt').map(Number), [m.hopCount], 'hop count');
      t.same(all(nhrp['NHRP Fixed Header'], 'nhrp.hdr.pktsz').map(Number), [encodeNhrp(m).length], 'packet size');
      t.same(all(layers.gre, 'gre.proto'), ['0x2001'], 'GRE protocol 0x2001');
      if (c.greKey !== undefined) t.same(all(layers.gre, 'gre.key'), [hex(c.greKey, 8)], 'GRE key');
      const mand = nhrp['NHRP Mandatory Part'] as Json;
      t.same(all(mand, 'nhrp.src.nbma.addr'), [m.srcNbma], 'src NBMA');
      t.same(all(mand, 'nhrp.src.prot.addr'), [m.srcProto], 'src proto');
      t.same(all(mand, 'nhrp.dst.prot.addr'), [m.dstProto], 'dst proto');
      if (m.type <= 6) {
        t.same(all(mand, 'nhrp.flags'), [hex(m.flags, 4)], 'flags');
        t.same(all(mand, 'nhrp.reqid'), [hex(m.requestId, 8)], 'request id');
        checkCies(t, mand, m.cies, 'mandatory part');
        if (m.type === 3 || m.type === 4) t.same(all(mand, 'nhrp.flag.u'), [m.flags & 0x8000 ? '1' : '0'], 'U flag');
        if (m.type === 1 || m.type === 2) {
          t.same(all(mand, 'nhrp.flag.q'), [m.flags & 0x8000 ? '1' : '0'], 'Q flag');
          t.same(all(mand, 'nhrp.flag.s'), [m.flags & 0x0800 ? '1' : '0'], 'S flag');
        }
        if (m.type === 5) t.same(all(mand, 'nhrp.flag.n'), ['1'], 'N flag');
      }
      if (m.type === 7) {
        t.same(all(mand, 'nhrp.err.code').map(Number), [m.errorCode], 'error code');
        const inner = nhrp['Packet Causing Indication'];
        t.same(all(inner, 'nhrp.reqid'), ['0x01020304'], 'offending packet dissected as NHRP');
      }
      if (m.type === 8) {
        const inner = nhrp['Packet Causing Indication'];
        t.same(all(inner, 'ip.dst'), ['192.168.2.5'], 'packet causing indication dissected as IPv4');
      }
      // extensions, in order, then End
      const ex = extensions(nhrp);
      const want = m.extensions.length ? [...m.extensions.map((e) => e.type), 0] : [];
      t.same(ex.map((e) => e.type), want, 'extension types in order, End last');
      ex.forEach((e, k) => {
        const w = m.extensions[k];
        t.equal(e.c, w ? (w.compulsory ? '1' : '0') : '1', `extension ${e.type} compulsory bit`);
        if (w?.cies) checkCies(t, e.node, w.cies, `extension ${e.type}`);
        if (w?.auth) {
          t.same(all(e.node, 'nhrp.auth_ext.spi').map(Number), [1], 'auth SPI/type 1 (plaintext)');
          t.same(all(e.node, 'nhrp.auth_ext.data'), [[...w.auth.secret].map((b) => b.toString(16).padStart(2, '0')).join(':')], 'auth secret');
        }
        if (w?.vendor) t.same(all(e.node, 'nhrp.vendor_ext.id').map(Number), [w.vendor.id], 'vendor id');
      });
    });
  });

  t.test('hand-built packet is also accepted by Wireshark', async (t) => {
    const layers = frames[cases.length]._source.layers;
    t.same(problems(layers), []);
    t.same(all(layers.nhrp, 'nhrp.hdr.chksum.status'), ['1']);
    t.same(all(layers.nhrp, 'nhrp.htime'), ['300']);
  });

  t.test('negative control: a corrupted packet is flagged by Wireshark and by us', async (t) => {
    const layers = frames[cases.length + 1]._source.layers;
    t.same(all(layers.nhrp, 'nhrp.hdr.chksum.status'), ['0'], 'Wireshark: bad checksum');
    t.not(problems(layers).length, 0, 'problem detector sees the expert item');
    const d = decodeNhrp(bad);
    t.equal(d.ok ? 'ok' : d.code, 'bad-checksum');
  });
});
