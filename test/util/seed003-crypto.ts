// Seed 003's "Adding Crypto" block, verbatim, and a lab config with it added before `end`.

export const SEED003_CRYPTO = `crypto isakmp policy 10
 authentication pre-share
crypto isakmp key P4ssw0rd address 172.16.0.0 255.255.0.0
!
crypto ipsec transform-set MyTransformSet esp-aes esp-sha-hmac
!
crypto ipsec profile MyProfile
 set transform-set MyTransformSet
!
interface Tunnel0
 tunnel protection ipsec profile MyProfile
`;

/** `natKeepalive`: also `crypto isakmp nat keepalive N` (the NAT tests' spokes behind a NAT). */
export const withSeedCrypto = (cfg: string, o: { natKeepalive?: number } = {}) => {
  const block = o.natKeepalive === undefined ? SEED003_CRYPTO
    : SEED003_CRYPTO.replace(/(crypto isakmp key [^\n]*\n)/, `$1crypto isakmp nat keepalive ${o.natKeepalive}\n`);
  return cfg.replace(/\nend\n?$/, `\n${block}end\n`);
};

// ---- the three-router lab the seed 003 crypto tests share ------------------------------------
import type { Test } from 'tap';
import path from 'node:path';
import { Lab, labConfig, waitFor } from './lab.js';
import { capture } from './esp-lab.js';

export interface Seed003Lab {
  lab: Lab;
  /** the underlay captures of R1, R2 and R3's WAN links, in that order */
  pcaps: string[];
  /** ends the captures (before reading the pcaps); the teardown ends any still running */
  stopCaptures(): Promise<void>;
  /** the routers' recent log lines, for a failure's comment */
  logs(lines?: number): string;
  /** the hub shows both spokes UP (registered through ESP); waits up to 60 s */
  spokesUp(): Promise<boolean>;
}

/** R1, R2, R3 from the lab configs with `crypto` added (a config transform), the three WAN links
 *  captured with `filter`; `env` per router and the lab's directory (e.g. a key log there). Torn down with the test. */
export async function startSeed003(t: Test, tag: string, crypto: (cfg: string) => string, filter: string,
  env: (router: string, dir: string) => Record<string, string> = () => ({})): Promise<Seed003Lab> {
  const lab = new Lab(`${tag}${process.pid % 10000}`, 2);
  const stops: Array<() => Promise<void>> = [];
  t.teardown(async () => { for (const s of stops) await s(); lab.down(); });
  lab.up();
  const pcaps = ['r1', 'r2', 'r3'].map((i) => path.join(lab.dir, `wire-${i}.pcap`));
  for (const [i, file] of pcaps.entries()) stops.push((await capture(lab.ns('inet'), `r${i + 1}`, file, filter)).stop);
  for (const r of ['R1', 'R2', 'R3']) lab.start(r, lab.writeConfig(r, crypto(labConfig(r, { holdtime: 60, registrationTimeout: 5 }))), env(r, lab.dir));
  return {
    lab, pcaps,
    stopCaptures: async () => { for (const s of stops.splice(0)) await s(); },
    logs: (lines = 150) => [...lab.routers.values()].map((r) => `--- ${r.name}\n${r.log.slice(-lines).join('\n')}`).join('\n'),
    spokesUp: () => waitFor(() => {
      try { return lab.ctlJson('R1', 'show dmvpn').interfaces[0].peers.filter((p: { state: string }) => p.state === 'UP').length === 2; } catch { return false; }
    }, 60000),
  };
}
