// ESP packets emitted by the WASM data plane, decrypted by tshark with the keys in an esp_sa UAT
// (Wireshark 4.0: AES-GCM 8/12/16, AES-CBC + HMAC-SHA1-96 / HMAC-SHA-256-128, NULL + HMAC; its ESP
// dissector has no ChaCha20-Poly1305, which test/esp.test.ts checks against node:crypto instead).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { node, pair, SUITES, A, B, type Out } from './util/esp-env.js';
import { ESP_ENC, ESP_INTEG } from '../appliance/dataplane/sa.js';
import { u32ToIp } from '../appliance/net/ipv4.js';
import { writePcap } from './util/pcap.js';
import { ipv4 } from './util/packets.js';
import { requireTools } from './util/needs.js';

requireTools(t, ['tshark']);

const dir = mkdtempSync(join(tmpdir(), 'esp-tshark-'));
t.teardown(() => { if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true }); });
const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');

function encName(s: (typeof SUITES)[number]): string {
  if (s.enc === ESP_ENC.NULL) return 'NULL';
  if (s.enc === ESP_ENC.AES_CBC_128 || s.enc === ESP_ENC.AES_CBC_256) return 'AES-CBC [RFC3602]';
  return `AES-GCM with ${s.icvLen ?? 16} octet ICV [RFC4106]`;
}
function authName(s: (typeof SUITES)[number]): string {
  if (s.integ === ESP_INTEG.HMAC_SHA1_96) return 'HMAC-SHA-1-96 [RFC2404]';
  if (s.integ === ESP_INTEG.HMAC_SHA256_128) return 'HMAC-SHA-256-128 [RFC4868]';
  return 'NULL';
}

let n = 0;
function tshark(pkts: Uint8Array[], uat: string[]) {
  const home = join(dir, `cfg${n}`);
  mkdirSync(join(home, 'wireshark'), { recursive: true });
  writeFileSync(join(home, 'wireshark', 'esp_sa'), uat.join('\n') + '\n');
  const f = join(dir, `esp${n++}.pcap`);
  writePcap(f, pkts);
  const json = execFileSync('tshark', ['-r', f, '-T', 'json', '--no-duplicate-keys', '-d', 'udp.port==4500,udpencap',
    '-o', 'esp.enable_encryption_decode:TRUE', '-o', 'esp.enable_authentication_check:TRUE'],
  { encoding: 'utf8', env: { ...process.env, XDG_CONFIG_HOME: home, HOME: home }, stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(json).map((p: any) => p._source.layers);
}
const arr = (x: any) => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

function udpWrap(o: Out): Uint8Array {
  const u = new Uint8Array(8 + o.data.length);
  const v = new DataView(u.buffer);
  v.setUint16(0, o.aux >>> 16); v.setUint16(2, o.aux & 0xffff); v.setUint16(4, u.length); v.setUint16(6, 0);
  u.set(o.data, 8);
  return ipv4({ src: A.nbma, dst: o.addr, proto: 17, payload: u });
}

for (const udp of [false, true]) {
  for (const s of SUITES.filter((x) => x.enc !== ESP_ENC.CHACHA20_POLY1305 && x.name !== 'null-none')) {
    t.test(`tshark decrypts ${s.name} ${udp ? 'ESP-in-UDP' : 'ESP'}`, async (t) => {
      const a = node(A, B), b = node(B, A);
      const { k1, a1 } = pair(a, b, s, udp ? { udp: {} } : {});
      const inners = [a.send(30), a.send(300)];
      const w = a.wire();
      t.equal(w.length, 2);
      const pkts = w.map((o) => (o.kind === 17 ? udpWrap(o) : o.data));
      const uat = `"IPv4","${u32ToIp(A.nbma)}","${u32ToIp(B.nbma)}","0x00001001","${encName(s)}","${s.keyLen ? hex(k1) : ''}","${authName(s)}","${s.authLen ? hex(a1) : ''}"`;
      const L = tshark(pkts, [uat]);
      t.equal(L.length, 2);
      L.forEach((l: any, i: number) => {
        const esp = l.esp;
        t.ok(esp, 'ESP dissected');
        t.equal(esp['esp.spi'], '0x00001001');
        t.equal(Number(esp['esp.sequence']), i + 1);
        // 4.0 shows no ICV verdict and no trailer fields: check the decrypted trailer (next header 47)
        const dec = String(esp['esp.decrypted_data'] ?? '');
        t.ok(dec.endsWith(':2f'), 'decrypted trailer: next header 47');
        t.ok(l.gre, `${s.name}: inner GRE visible`);
        const ips = arr(l.ip);
        t.equal(ips.length, 2, 'outer + inner IPv4');
        t.equal(ips[1]?.['ip.src'], u32ToIp(A.host));
        t.equal(ips[1]?.['ip.dst'], u32ToIp(B.host));
        t.equal(Number(ips[1]?.['ip.len']), inners[i].length);
        const contained = String(esp['esp.decrypted_data_tree']?.['esp.contained_data'] ?? '');
        t.equal(contained.split(':').length, 4 + inners[i].length, 'contained data = GRE header + inner packet');
      });
    });
  }
}
