// `show ip eigrp neighbors` and `show ip eigrp topology [all-links]` in IOS form, from a running EIGRP
// speaker. Pure formatting: the speaker's tables in, text out.
import type { EigrpSpeaker } from '../routing/eigrp/speaker.js';
import type { Dest, Path } from '../routing/eigrp/dual.js';
import { iosTime } from './time.js';

/** IOS's short interface names in EIGRP tables: Tunnel0 -> Tu0, GigabitEthernet0/1 -> Gi0/1. */
export function shortIf(name: string): string {
  const m = /^([A-Za-z]+)(\d.*)$/.exec(name);
  if (!m) return name;
  const short: Record<string, string> = { Tunnel: 'Tu', GigabitEthernet: 'Gi', FastEthernet: 'Fa', Ethernet: 'Et', Loopback: 'Lo', Serial: 'Se' };
  return (short[m[1]] ?? m[1]) + m[2];
}

/** One neighbor of `show ip eigrp neighbors` (the `json` form is a list of these, every process's). */
export interface EigrpNeighborRow {
  asn: number; handle: number; address: string; interface: string;
  /** seconds left of its hold time, and since it came up */
  hold: number; uptime: number;
  srtt: number; rto: number; queue: number; seq: number;
  /** `pending` until the init exchange completed both ways, then `up` */
  state: 'pending' | 'up';
}

export function eigrpNeighborRows(sp: EigrpSpeaker, now: number): EigrpNeighborRow[] {
  return sp.neighbors.list().sort((a, b) => a.handle - b.handle).map((n) => {
    const { srtt, rto } = sp.rtp.timing(n.address);
    return { asn: sp.o.asn, handle: n.handle, address: n.address, interface: n.iface, hold: sp.neighbors.holdLeft(n, now),
      uptime: Math.floor((now - n.upSince) / 1000), srtt, rto, queue: sp.rtp.pendingCount(n.address), seq: sp.rtp.lastSeq(n.address), state: n.state };
  });
}

export function showEigrpNeighbors(sp: EigrpSpeaker, now: number): string {
  const out = [`EIGRP-IPv4 Neighbors for AS(${sp.o.asn})`,
    'H   Address                 Interface              Hold Uptime   SRTT   RTO  Q  Seq',
    '                                                   (sec)         (ms)       Cnt Num'];
  for (const n of eigrpNeighborRows(sp, now)) {
    out.push([
      String(n.handle).padEnd(4), n.address.padEnd(24), shortIf(n.interface).padEnd(23), String(n.hold).padStart(4), ' ',
      iosTime(n.uptime).padEnd(8), String(n.srtt).padStart(4), ' ', String(n.rto).padStart(4), ' ', String(n.queue).padStart(2), ' ', String(n.seq),
    ].join(''));
  }
  return out.join('\n') + '\n';
}

const code = (d: Dest): string => (d.state === 'active' ? 'A' : 'P');

function via(p: Path): string {
  if (!p.neighbor) return `via Connected, ${p.iface}`;
  const fmt = (x: number) => (Number.isFinite(x) ? String(x) : 'Infinity');
  return `via ${p.nextHop} (${fmt(p.distance)}/${fmt(p.rd)}), ${p.iface}`;
}

/** `show ip eigrp topology`: successors and feasible successors; `allLinks` adds every other path. */
export function showEigrpTopology(sp: EigrpSpeaker, allLinks = false): string {
  const out = [`EIGRP-IPv4 Topology Table for AS(${sp.o.asn})/ID(${sp.o.routerId})`,
    'Codes: P - Passive, A - Active, U - Update, Q - Query, R - Reply,',
    '       r - reply Status, s - sia Status', ''];
  const dests = [...sp.dual.table.values()].filter((d) => Number.isFinite(d.distance) || d.state === 'active' || allLinks)
    .sort((a, b) => a.key.localeCompare(b.key, 'en', { numeric: true }));
  for (const d of dests) {
    const fd = Number.isFinite(d.fd) ? String(d.fd) : 'Inaccessible';
    out.push(`${code(d)} ${d.key}, ${d.successors.length} successors, FD is ${fd}`);
    const shown = allLinks ? [...d.paths.values()] : [...d.successors, ...sp.dual.feasibleSuccessors(d)];
    for (const p of shown) out.push(`        ${via(p)}`);
  }
  return out.join('\n') + '\n';
}

/** `show ip eigrp interfaces`: the interfaces running EIGRP (passive ones left out, as IOS) and their peers. */
export function showEigrpInterfaces(sp: EigrpSpeaker): string {
  const out = [`EIGRP-IPv4 Interfaces for AS(${sp.o.asn})`,
    '                              Xmit Queue   PeerQ        Mean   Pacing Time   Multicast    Pending',
    'Interface              Peers  Un/Reliable  Un/Reliable  SRTT   Un/Reliable   Flow Timer   Routes'];
  for (const i of sp.o.interfaces.filter((x) => !x.passive)) {
    const peers = sp.neighbors.list().filter((n) => n.iface === i.name);
    const pending = peers.reduce((a, n) => a + sp.rtp.pendingCount(n.address), 0);
    const srtt = peers.length ? Math.round(peers.reduce((a, n) => a + sp.rtp.timing(n.address).srtt, 0) / peers.length) : 0;
    out.push(`${shortIf(i.name).padEnd(23)}${String(peers.length).padStart(5)}        0/${String(pending).padEnd(10)}0/0${String(srtt).padStart(9)}       0/0            0           0`);
  }
  return out.join('\n') + '\n';
}

/** `show ip eigrp traffic`: packets sent/received per kind (IOS's lines), then every drop by reason. */
export function showEigrpTraffic(sp: EigrpSpeaker): string {
  const c = sp.counters;
  const row = (label: string, k: string) => `  ${label} sent/received: ${c.sent.get(k) ?? 0}/${c.received.get(k) ?? 0}`;
  const drops = [...c.dropped].map(([r, n]) => `${r} ${n}`).join(', ');
  return [`EIGRP-IPv4 Traffic Statistics for AS(${sp.o.asn})`,
    row('Hellos', 'Hello'), row('Updates', 'Update'), row('Queries', 'Query'), row('Replies', 'Reply'), row('Acks', 'Ack'),
    row('SIA-Queries', 'SIA-Query'), row('SIA-Replies', 'SIA-Reply'),
    `  Packets dropped: ${c.droppedTotal()}${drops ? ` (${drops})` : ''}`].join('\n') + '\n';
}
