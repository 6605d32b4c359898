// Lab configs with manual-SA tunnel protection (integration-esp*.test.ts), and the wire helpers
// those tests share: a dumpcap capture in a namespace, ESP packets read back from it, raw IPv4
// packets sent from a namespace (hostile host, spoofed or not).
import fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { nsExec, sleep } from './lab.js';

export const K_IN = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' + 'a1b2c3d4';
export const K_OUT = '1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100' + 'd4c3b2a1';

export interface Protect {
  peer: string; inSpi: number; outSpi: number; inKey: string; outKey: string; transform: string; udp?: boolean;
  /** `set sequence-persistence` argument (directory [block N]); omitted = none */
  persist?: string;
}

/** Adds one manual-sa per peer to a lab config and protects its tunnel with them (one transform set). */
export function protect(cfg: string, sas: Protect | Protect[]): string {
  const list = Array.isArray(sas) ? sas : [sas];
  const blocks = list.map((p, i) => `crypto ipsec manual-sa PEER${list.length > 1 ? i + 1 : ''}
 set peer ${p.peer}
 set transform-set TS
 set session-key inbound esp ${p.inSpi} cipher ${p.inKey}
 set session-key outbound esp ${p.outSpi} cipher ${p.outKey}
${p.udp ? ' set udp-encapsulation\n' : ''}${p.persist ? ` set sequence-persistence ${p.persist}\n` : ''}!
`).join('');
  const crypto = `crypto ipsec transform-set TS ${list[0].transform}
 mode transport
crypto ipsec profile DMVPN
 set transform-set TS
${blocks}`;
  return crypto + cfg.replace(' tunnel mode gre multipoint', ' tunnel mode gre multipoint\n tunnel protection ipsec profile DMVPN');
}

/** dumpcap on `iface` in `ns` writing classic pcap (not pcapng) to `file`; stop() ends it. */
export async function capture(ns: string, iface: string, file: string, filter: string): Promise<{ stop: () => Promise<void> }> {
  const p: ChildProcess = spawn('ip', ['netns', 'exec', ns, 'dumpcap', '-q', '-P', '-i', iface, '-f', filter, '-w', file], { stdio: 'ignore' });
  for (let i = 0; i < 40 && !fs.existsSync(file); i++) await sleep(100);
  await sleep(300);
  return {
    stop: async () => {
      if (p.exitCode !== null) return;
      const done = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGINT');
      await Promise.race([done, sleep(3000)]);
    },
  };
}

/** IPv4 packets of a classic pcap over Ethernet (linktype 1) or raw IP (101). */
export function pcapIpv4(file: string): Uint8Array[] {
  const b = fs.readFileSync(file);
  if (b.length < 24) return [];
  const le = b.readUInt32LE(0) === 0xa1b2c3d4;
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const link = u32(20);
  const out: Uint8Array[] = [];
  for (let o = 24; o + 16 <= b.length;) {
    const cap = u32(o + 8);
    const d = b.subarray(o + 16, o + 16 + cap);
    o += 16 + cap;
    const ip = link === 1 ? (d.readUInt16BE(12) === 0x0800 ? d.subarray(14) : undefined) : d;
    if (ip && ip.length >= 20 && ip[0] >> 4 === 4) out.push(Uint8Array.from(ip));
  }
  return out;
}


/** Sends complete IPv4 packets (source address as written, i.e. possibly spoofed) from `ns`, `gapMs`
 *  apart: a burst can overflow the receiving router's socket or ring on a loaded machine before the
 *  packets reach what the test counts (60 replays injected at once lost 18 in a CI dry run, with no
 *  SA counter moving). */
export function sendRawIpv4(ns: string, packets: Uint8Array[], gapMs = 0): void {
  const hex = packets.map((p) => Buffer.from(p).toString('hex'));
  nsExec(ns, ['python3', '-c', `
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for h in sys.stdin.read().split():
    p = bytes.fromhex(h)
    s.sendto(p, ('%d.%d.%d.%d' % tuple(p[16:20]), 0))
    if ${gapMs / 1000} > 0: time.sleep(${gapMs / 1000})
`], { input: hex.join('\n') });
}
