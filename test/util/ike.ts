// Helpers for the IKE tests: two IKEv1 managers wired back to back in-process (every datagram also
// recorded), and a pcap of those datagrams as IPv4/UDP for tshark's isakmp dissector.
import type { CryptoConfig } from '../../appliance/config/model.js';
import { IkeV1Manager } from '../../appliance/ike/manager/ike-v1.js';
import type { ChildSaKeys } from '../../appliance/ike/sa/child-sa.js';
import type { IkeService } from '../../appliance/supervisor/ike-service.js';
import type { SaCommands } from '../../appliance/dataplane/sa.js';
import { ipv4, udp } from './packets.js';
import { writePcap } from './pcap.js';

export interface Wire { src: string; dst: string; sport: number; dport: number; data: Uint8Array }

const v4 = (s: string) => s.split('.').reduce((n, x) => n * 256 + Number(x), 0);

export function ikePcap(path: string, wire: readonly Wire[]): void {
  writePcap(path, wire.map((w) => ipv4({ src: v4(w.src), dst: v4(w.dst), proto: 17, payload: udp(w.sport, w.dport, w.data.length, (i) => w.data[i]) })));
}

/** Seed 003's crypto block (IOS defaults: DES / SHA-1 / group 1), optionally with other policy lines. */
export function seedCrypto(policy: Partial<NonNullable<CryptoConfig['isakmpPolicies']>[number]> = {}, key = 'P4ssw0rd'): CryptoConfig {
  return {
    lines: [],
    isakmpPolicies: [{ priority: 10, authentication: 'pre-share', ...policy }],
    isakmpKeys: [{ key, address: '172.16.0.0', mask: '255.255.0.0' }],
    transformSets: [{ name: 'MyTransformSet', transforms: ['esp-aes', 'esp-sha-hmac'] }],
    ipsecProfiles: [{ name: 'MyProfile', transformSets: ['MyTransformSet'] }],
  };
}

export interface Pair { a: IkeV1Manager; b: IkeV1Manager; wire: Wire[]; logs: string[]; settle(): Promise<void>; close(): void }

/** Managers at `aAddr` and `bAddr`; datagrams are delivered asynchronously and recorded; `tamper` may alter or drop them. */
export function ikePair(aCrypto: CryptoConfig, bCrypto: CryptoConfig, aAddr = '172.16.1.1', bAddr = '172.16.2.1',
  tamper?: (w: Wire, index: number) => Uint8Array | null): Pair {
  const wire: Wire[] = [];
  const logs: string[] = [];
  let pending = 0;
  const managers: Record<string, IkeV1Manager> = {};
  const sender = (src: string) => (data: Uint8Array, dst: string, dport: number) => {
    const w: Wire = { src, dst, sport: 500, dport, data };
    const out = tamper ? tamper(w, wire.length) : data;
    wire.push({ ...w, data: out ?? data });
    if (!out) return;
    pending++;
    setImmediate(() => { pending--; managers[dst]?.handleDatagram(out, src, 500); });
  };
  const a = new IkeV1Manager(aCrypto, aAddr, sender(aAddr), (_level, l) => logs.push(`A ${l}`));
  const b = new IkeV1Manager(bCrypto, bAddr, sender(bAddr), (_level, l) => logs.push(`B ${l}`));
  managers[aAddr] = a;
  managers[bAddr] = b;
  return {
    a, b, wire, logs,
    async settle() { for (let i = 0; i < 1000 && pending; i++) await new Promise((r) => setImmediate(r)); },
    close() { a.close(); b.close(); },
  };
}

/** Main mode + quick mode between managers at `aAddr` (initiating) and `bAddr`; resolves with each side's
 *  first Child SA (undefined when none came within 8 s) and both sides' log lines. */
export function negotiateChild(aCrypto: CryptoConfig, bCrypto: CryptoConfig, aAddr = '172.16.1.1', bAddr = '172.16.2.1'):
  Promise<{ a?: ChildSaKeys; b?: ChildSaKeys; notes: string[] }> {
  const got: Record<string, ChildSaKeys> = {};
  const m: Record<string, IkeV1Manager> = {};
  const notes: string[] = [];
  return new Promise((resolve) => {
    let done = false;
    const finish = () => { if (done) return; done = true; clearTimeout(timer); resolve({ a: got[aAddr], b: got[bAddr], notes }); m[aAddr].close(); m[bAddr].close(); };
    const mk = (me: string, c: CryptoConfig) => new IkeV1Manager(c, me, (d, to) => setImmediate(() => m[to]?.handleDatagram(d, me, 500)), (_l, line) => notes.push(line), {
      established: (sa) => { if (sa.initiator && !m[me].initiateQuick(sa)) finish(); },
      child: (_sa, k) => { got[me] = k; if (got[aAddr] && got[bAddr]) finish(); },
    });
    m[aAddr] = mk(aAddr, aCrypto); m[bAddr] = mk(bAddr, bCrypto);
    const timer = setTimeout(finish, 8000);
    m[aAddr].initiate(bAddr);
  });
}

/** A fake data-plane SA ring for IkeService tests on loopback: SA commands accepted, IKE out of port 4500
 *  (NAT-T: the test ports differ from 500, so NAT-D sees a NAT) handed to the other service as the data
 *  plane's IKE_IN would. */
export function loopbackSaRing(local: string, other: () => IkeService): SaCommands {
  return { saAdd: () => true, saPair: () => true, saDel: () => true, saLimit: () => true, keepalive: () => true,
    ikeOut: (_dst: number, msg: Uint8Array) => { const m = Uint8Array.from(msg); setImmediate(() => other().natTDatagram(local, 4500, m)); return true; },
  } as unknown as SaCommands;
}
