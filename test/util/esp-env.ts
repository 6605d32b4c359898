// Two data-plane instances (two memories) wired back to back for ESP tests: A (198.51.100.1,
// tunnel 10.0.0.1, LAN 172.16.1.0/24) and B (203.0.113.2, tunnel 10.0.0.2, LAN 172.16.2.0/24).
import { computeLayout, writeLayout, pagesFor, CTL_IN } from '../../appliance/dataplane/layout.js';
import { ipToU32 as ip } from '../../appliance/net/ipv4.js';
import { Ring } from '../../appliance/dataplane/ring.js';
import { Commands, readCounters, type TunnelConfig } from '../../appliance/dataplane/commands.js';
import { instantiateDataplane } from '../../appliance/dataplane/wasm.js';
import { SaCommands, readSas, readEspCounters, ESP_ENC, ESP_INTEG, type SaSpec } from '../../appliance/dataplane/sa.js';
import { ipv4, udp } from './packets.js';

export const A = { nbma: ip('198.51.100.1'), tun: ip('10.0.0.1'), lan: ip('172.16.1.0'), host: ip('172.16.1.10') };
export const B = { nbma: ip('203.0.113.2'), tun: ip('10.0.0.2'), lan: ip('172.16.2.0'), host: ip('172.16.2.20') };

export interface Out { kind: number; addr: number; aux: number; data: Uint8Array }

export function node(me: typeof A, peer: typeof A, tunnel: Partial<TunnelConfig> = {}) {
  const l = computeLayout({ tunSlots: 64, nbmaSlots: 64, ctlSlots: 64, peerCapacity: 256, fibCapacity: 64, saCapacity: 64, tunSlotSize: 4096 });
  const memory = new WebAssembly.Memory({ initial: Math.max(512, pagesFor(l)), maximum: 4096, shared: true });
  const buf = memory.buffer;
  writeLayout(buf, l);
  const dp = instantiateDataplane(memory, () => {});
  const r = {
    tunRx: new Ring(buf, l.tunRx), tunTx: new Ring(buf, l.tunTx), nbmaRx: new Ring(buf, l.nbmaRx), nbmaTx: new Ring(buf, l.nbmaTx),
    ctlRx: new Ring(buf, l.ctlRx), ctlTx: new Ring(buf, l.ctlTx), udpTx: new Ring(buf, l.udpTx), espRx: new Ring(buf, l.espRx),
    udpRx: new Ring(buf, l.udpRx), ikeRx: new Ring(buf, l.ikeRx),
  };
  const cmd = new Commands(r.ctlTx, undefined, true);
  const sa = new SaCommands(r.ctlTx);
  let now = 1000;
  const env = {
    l, buf, dp, r, cmd, sa, me, peer, memory,
    get now() { return now; }, set now(v: number) { now = v; },
    poll: () => env.dp.poll(256, now),
    counters: () => ({ ...readCounters(buf, l), ...readEspCounters(buf, l) }),
    sas: () => readSas(buf, l),
    take(ring: Ring): Out[] {
      const out: Out[] = [];
      ring.drain((kind, addr, aux, data) => out.push({ kind, addr, aux, data: data.slice() }));
      return out;
    },
    /** inner UDP packet from our LAN host to the peer's LAN, into tunRx; returns the inner packet. */
    send(dataLen = 100, o: { fill?: (i: number) => number } = {}) {
      const inner = ipv4({ src: me.host, dst: peer.host, proto: 17, payload: udp(1111, 2222, dataLen, o.fill) });
      r.tunRx.pushSlot(0, 0, 0, inner);
      env.poll();
      return inner;
    },
    /** what went out to the NBMA side (nbmaTx + udpTx) */
    wire(): Out[] { return [...env.take(r.nbmaTx), ...env.take(r.udpTx)]; },
    /** delivers a wire output (from the other node) into the right rx ring */
    deliver(o: Out, src = peer.nbma) {
      if (o.kind === 17) r.udpRx.pushSlot(17, src, o.aux, o.data);
      else r.espRx.pushSlot(o.kind, src, 0, o.data);
      env.poll();
    },
    ctl(): Out[] { return env.take(r.ctlRx); },
    apply() { env.poll(); },
  };
  cmd.cfgTunnel({ source: me.nbma, tunnelIp: me.tun, tunnelPrefixLen: 24, ...tunnel });
  cmd.fibAdd(ip('10.0.0.0'), 24, 0);
  cmd.peerSet(peer.tun, peer.nbma);
  cmd.fibAdd(peer.lan, 24, peer.tun);
  env.poll();
  return env;
}
export type Node = ReturnType<typeof node>;

export interface Suite { name: string; enc: number; integ?: number; icvLen?: number; keyLen: number; authLen?: number }
export const SUITES: Suite[] = [
  { name: 'aes128gcm16', enc: ESP_ENC.AES_GCM_128, icvLen: 16, keyLen: 20 },
  { name: 'aes128gcm12', enc: ESP_ENC.AES_GCM_128, icvLen: 12, keyLen: 20 },
  { name: 'aes128gcm8', enc: ESP_ENC.AES_GCM_128, icvLen: 8, keyLen: 20 },
  { name: 'aes256gcm16', enc: ESP_ENC.AES_GCM_256, icvLen: 16, keyLen: 36 },
  { name: 'aes256gcm12', enc: ESP_ENC.AES_GCM_256, icvLen: 12, keyLen: 36 },
  { name: 'aes256gcm8', enc: ESP_ENC.AES_GCM_256, icvLen: 8, keyLen: 36 },
  { name: 'chacha20poly1305', enc: ESP_ENC.CHACHA20_POLY1305, keyLen: 36 },
  { name: 'aes128-sha1', enc: ESP_ENC.AES_CBC_128, integ: ESP_INTEG.HMAC_SHA1_96, keyLen: 16, authLen: 20 },
  { name: 'aes256-sha1', enc: ESP_ENC.AES_CBC_256, integ: ESP_INTEG.HMAC_SHA1_96, keyLen: 32, authLen: 20 },
  { name: 'aes128-sha256', enc: ESP_ENC.AES_CBC_128, integ: ESP_INTEG.HMAC_SHA256_128, keyLen: 16, authLen: 32 },
  { name: 'aes256-sha256', enc: ESP_ENC.AES_CBC_256, integ: ESP_INTEG.HMAC_SHA256_128, keyLen: 32, authLen: 32 },
  { name: 'null-sha1', enc: ESP_ENC.NULL, integ: ESP_INTEG.HMAC_SHA1_96, keyLen: 0, authLen: 20 },
  { name: 'null-sha256', enc: ESP_ENC.NULL, integ: ESP_INTEG.HMAC_SHA256_128, keyLen: 0, authLen: 32 },
  { name: 'null-none', enc: ESP_ENC.NULL, integ: ESP_INTEG.NONE, keyLen: 0 },
];

export const keyBytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + 1) & 255);

/** Installs A->B (spi 0x1001) and B->A (spi 0x2001) with the same keys on both sides. */
export function pair(a: Node, b: Node, s: Suite, o: Partial<SaSpec> = {}, oIn: Partial<SaSpec> = {}) {
  const k1 = keyBytes(s.keyLen, 1), k2 = keyBytes(s.keyLen, 2);
  const a1 = keyBytes(s.authLen ?? 0, 3), a2 = keyBytes(s.authLen ?? 0, 4);
  const base = { enc: s.enc, integ: s.integ, icvLen: s.icvLen, ...o };
  a.sa.saAdd({ index: 0, dir: 'out', spi: 0x1001, peer: b.me.nbma, key: k1, authKey: a1, ...base });
  b.sa.saAdd({ index: 1, dir: 'in', spi: 0x1001, peer: a.me.nbma, key: k1, authKey: a1, ...base, ...oIn });
  b.sa.saAdd({ index: 0, dir: 'out', spi: 0x2001, peer: a.me.nbma, key: k2, authKey: a2, ...base });
  a.sa.saAdd({ index: 1, dir: 'in', spi: 0x2001, peer: b.me.nbma, key: k2, authKey: a2, ...base, ...oIn });
  a.apply(); b.apply();
  return { k1, k2, a1, a2 };
}

export { CTL_IN, ip };
