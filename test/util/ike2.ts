// Helpers for the IKEv2 tests: a policy from IOS-like settings, and two IKEv2 managers wired back to
// back in-process (datagrams delivered asynchronously, all recorded, optionally altered or dropped).
import { ikeV2Policy, type IkeV2Policy, type IkeV2Settings } from '../../appliance/ike/config-v2.js';
import { IkeV2Manager, type IkeV2Events, type IkeV2Options } from '../../appliance/ike/manager/ike-v2.js';
import type { Wire } from './ike.js';

export function v2Settings(o: Partial<IkeV2Settings> = {}): IkeV2Settings {
  return {
    proposals: [{ name: 'P', encryption: ['aes-cbc-256'], integrity: ['sha256'], group: [14] }],
    keyring: [{ name: 'spokes', address: '172.16.0.0', mask: '255.255.0.0', key: 'P4ssw0rd' }],
    transformSets: [{ name: 'MyTransformSet', transforms: ['esp-aes', 'esp-sha-hmac'] }],
    ...o,
  };
}

export function v2Policy(o: Partial<IkeV2Settings> = {}): IkeV2Policy {
  const r = ikeV2Policy(v2Settings(o));
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

export interface Side { m: IkeV2Manager; events: Array<{ event: string; [k: string]: unknown }>; logs: string[] }
export interface Pair2 { a: Side; b: Side; wire: Wire[]; settle(): Promise<void>; close(): void }

/** A at `aAddr`, B at `bAddr`; `tamper` may return altered bytes or null to drop a datagram. */
export function ike2Pair(aPolicy: IkeV2Policy, bPolicy: IkeV2Policy, o: { aAddr?: string; bAddr?: string; tamper?: (w: Wire, i: number) => Uint8Array | null; opts?: IkeV2Options } = {}): Pair2 {
  const aAddr = o.aAddr ?? '172.16.1.1', bAddr = o.bAddr ?? '172.16.2.1';
  const wire: Wire[] = [];
  let pending = 0;
  const sides: Record<string, Side> = {};
  const sender = (src: string) => (data: Uint8Array, dst: string, dport: number, sport: number) => {
    const w: Wire = { src, dst, sport, dport, data };
    const out = o.tamper ? o.tamper(w, wire.length) : data;
    wire.push({ ...w, data: out ?? data });
    if (!out) return;
    pending++;
    setImmediate(() => {
      pending--;
      // the transport adds the non-ESP marker on 4500; the manager expects it there
      const d = dport === 4500 ? new Uint8Array([0, 0, 0, 0, ...out]) : out;
      sides[dst]?.m.handleDatagram(d, src, sport, dport);
    });
  };
  const side = (addr: string, p: IkeV2Policy, tag: string): Side => {
    const events: Side['events'] = [], logs: string[] = [];
    const ev: IkeV2Events = {
      established: (sa) => events.push({ event: 'established', sa }),
      failed: (sa, reason) => events.push({ event: 'failed', sa, reason }),
      child: (sa, keys) => events.push({ event: 'child', sa, keys }),
      childDeleted: (sa, spis) => events.push({ event: 'childDeleted', sa, spis }),
      deleted: (sa) => events.push({ event: 'deleted', sa }),
    };
    return { m: new IkeV2Manager(p, addr, sender(addr), (_l, line) => logs.push(`${tag} ${line}`), ev, o.opts), events, logs };
  };
  const a = side(aAddr, aPolicy, 'A'), b = side(bAddr, bPolicy, 'B');
  sides[aAddr] = a;
  sides[bAddr] = b;
  return {
    a, b, wire,
    async settle() { for (let i = 0; i < 2000 && pending; i++) await new Promise((r) => setImmediate(r)); },
    close() { a.m.close(); b.m.close(); },
  };
}
