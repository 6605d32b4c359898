// `show ip bgp summary` in IOS form from FRR's `show ip bgp summary json` (its ipv4Unicast part):
// the router-id/AS header, table version, network entries, then one line per neighbor in IOS's
// columns; neighbors created from a `bgp listen range` are marked `*` with IOS's footnote.
import { ipToU32 } from '../net/ipv4.js';

export interface BgpPeerRow {
  neighbor: string;
  version: number;
  remoteAs: number;
  msgRcvd: number;
  msgSent: number;
  tableVersion: number;
  inq: number;
  outq: number;
  upDown: string;
  /** Established: the number of prefixes received; otherwise the state (Idle, Active, Connect ...) */
  statePfx: string;
  dynamic: boolean;
}
export interface BgpSummary { routerId: string; as: number; tableVersion: number; ribCount: number; ribMemory: number; peers: BgpPeerRow[]; listenRanges: number }

type Raw = Record<string, unknown>;
const num = (o: Raw, k: string) => (typeof o[k] === 'number' ? o[k] as number : 0);
const str = (o: Raw, k: string) => (typeof o[k] === 'string' ? o[k] as string : '');

/** From FRR's JSON; undefined when BGP does not run (FRR answers `{}`). */
export function bgpSummaryOf(json: unknown, listenRanges: number): BgpSummary | undefined {
  const u = (json as { ipv4Unicast?: Raw } | undefined)?.ipv4Unicast;
  if (!u || typeof u !== 'object') return undefined;
  const peers = Object.entries((u.peers ?? {}) as Record<string, Raw>).map(([addr, p]): BgpPeerRow => {
    const established = str(p, 'state') === 'Established';
    return {
      neighbor: addr, version: num(p, 'version') || 4, remoteAs: num(p, 'remoteAs'), msgRcvd: num(p, 'msgRcvd'), msgSent: num(p, 'msgSent'),
      tableVersion: num(p, 'tableVersion'), inq: num(p, 'inq'), outq: num(p, 'outq'), upDown: str(p, 'peerUptime') || 'never',
      statePfx: established ? String(num(p, 'pfxRcd')) : (str(p, 'state') || 'Idle'), dynamic: p.dynamicPeer === true,
    };
  });
  // IOS lists neighbors by address
  peers.sort((a, b) => ipToU32(a.neighbor) - ipToU32(b.neighbor));
  return { routerId: str(u, 'routerId'), as: num(u, 'as'), tableVersion: num(u, 'tableVersion'), ribCount: num(u, 'ribCount'), ribMemory: num(u, 'ribMemory'), peers, listenRanges };
}

export function formatBgpSummary(s: BgpSummary | undefined, json: boolean): string {
  if (json) return JSON.stringify(s ?? {}) + '\n';
  if (!s) return '% BGP not active\n';
  const out = [
    `BGP router identifier ${s.routerId}, local AS number ${s.as}`,
    `BGP table version is ${s.tableVersion}, main routing table version ${s.tableVersion}`,
    `${s.ribCount} network entries using ${s.ribMemory} bytes of memory`,
    '',
    'Neighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd',
  ];
  for (const p of s.peers) {
    const name = (p.dynamic ? '*' : '') + p.neighbor;
    out.push(`${name.padEnd(15)} ${p.version}${String(p.remoteAs).padStart(13)}${String(p.msgRcvd).padStart(8)}${String(p.msgSent).padStart(8)}` +
      `${String(p.tableVersion).padStart(9)}${String(p.inq).padStart(5)}${String(p.outq).padStart(5)} ${p.upDown.padEnd(8)} ${/^\d+$/.test(p.statePfx) ? p.statePfx.padStart(8) : p.statePfx}`);
  }
  const dynamic = s.peers.filter((p) => p.dynamic).length;
  if (s.listenRanges > 0) {
    out.push('* Dynamically created based on a listen range command', `Dynamically created neighbors: ${dynamic}, Subnet ranges: ${s.listenRanges}`);
  }
  return out.join('\n') + '\n';
}
