// `show dmvpn` formatter: pure function of a plain view the supervisor builds from NHRP state.
// The default layout is IOS 12.4T's (the seeds' release): Legend block, "Tunnel0, Type:Hub, NHRP
// Peers:3, " line, and each value right-aligned under its dash column (" %5d %15s %15s %5s %8s %s",
// as a real terminal shows it; the seeds' web copies collapsed the spaces). `detail` follows the
// IOS 15 per-interface layout; `json` is the view itself for tools and tests.
import { iosTime } from './time.js';

export interface DmvpnPeerView {
  nbma: string;
  tunnel: string;
  state: 'UP' | 'DOWN' | 'NHRP' | 'IKE' | 'IPSEC';
  upDownSeconds: number | null; // null -> "never"
  attrs: string; // 'S', 'D', 'DN', 'I', 'DX' ...
  entries: number; // NHRP entries with this NBMA peer
  target?: string; // target network for `detail`, e.g. "192.168.0.2/32"
  /** the other NHRP entries with this NBMA peer: IOS prints each on its own row, # Ent and NBMA blank */
  more?: DmvpnEntryRow[];
}

export type DmvpnEntryRow = Pick<DmvpnPeerView, 'tunnel' | 'state' | 'upDownSeconds' | 'attrs' | 'target'>;

export interface DmvpnInterfaceView {
  name: string; // "Tunnel0"
  type: 'Hub' | 'Spoke';
  peers: DmvpnPeerView[];
  // for `detail` only:
  up?: boolean; // administratively up (no `shutdown`)
  lineUp?: boolean; // line protocol: false while the tunnel waits for its source address
  address?: string;
  source?: string; // NBMA source address
  destination?: string; // p2p tunnel destination; absent -> MGRE
  protect?: string; // ipsec profile name
}

export interface DmvpnView { interfaces: DmvpnInterfaceView[] }

const LEGEND = [
  'Legend: Attrb --> S - Static, D - Dynamic, I - Incomplete',
  '        N - NATed, L - Local, X - No Socket',
  '        # Ent --> Number of NHRP entries with same NBMA peer',
];
const HEAD = ' # Ent  Peer NBMA Addr Peer Tunnel Add State  UpDn Tm Attrb';
const DASH = ' ----- --------------- --------------- ----- -------- -----';

export function formatDmvpn(v: DmvpnView, variant: 'default' | 'detail' | 'json' = 'default'): string {
  if (variant === 'json') return JSON.stringify(v) + '\n';
  if (variant === 'detail') return formatDetail(v);
  const out = [...LEGEND];
  for (const i of v.interfaces) {
    out.push('', `${i.name}, Type:${i.type}, NHRP Peers:${i.peers.length}, `, HEAD, DASH);
    for (const p of i.peers) {
      const rest = (r: DmvpnEntryRow) => `${r.tunnel.padStart(15)} ${r.state.padStart(5)} ${iosTime(r.upDownSeconds).padStart(8)} ${r.attrs}`;
      out.push(` ${String(p.entries).padStart(5)} ${p.nbma.padStart(15)} ${rest(p)}`);
      for (const r of p.more ?? []) out.push(`${' '.repeat(23)}${rest(r)}`);
    }
  }
  return out.join('\n') + '\n';
}

const LEGEND15 = [
  'Legend: Attrb --> S - Static, D - Dynamic, I - Incomplete',
  '        N - NATed, L - Local, X - No Socket',
  '        # Ent --> Number of NHRP entries with same NBMA peer',
  '        NHS Status: E --> Expecting Replies, R --> Responding, W --> Waiting',
  '        UpDn Time --> Up or Down Time for a Tunnel',
  '==========================================================================',
];

function formatDetail(v: DmvpnView): string {
  const out = [...LEGEND15];
  for (const i of v.interfaces) {
    const st = i.up === false ? 'administratively down/down' : i.lineUp === false ? 'up/down' : 'up/up';
    out.push('', `Interface ${i.name} is ${st}, Addr. is ${i.address ?? 'unassigned'}, VRF ""`);
    out.push(`   Tunnel Src./Dest. addr: ${i.source ?? 'unknown'}/${i.destination ?? 'MGRE'}, Tunnel VRF ""`);
    out.push(`   Protocol/Transport: "${i.destination ? 'GRE/IP' : 'multi-GRE/IP'}", Protect "${i.protect ?? ''}"`);
    out.push(`Type:${i.type}, Total NBMA Peers (v4/v6): ${i.peers.length}`, '');
    out.push('# Ent  Peer NBMA Addr Peer Tunnel Add State  UpDn Tm Attrb    Target Network');
    out.push('----- --------------- --------------- ----- -------- ----- -----------------');
    for (const p of i.peers) {
      const rest = (r: DmvpnEntryRow) =>
        `${r.tunnel.padStart(15)} ${r.state.padStart(5)} ${iosTime(r.upDownSeconds).padStart(8)} ${r.attrs.padStart(4)}  ${(r.target ?? `${r.tunnel}/32`).padStart(17)}`;
      out.push(`${String(p.entries).padStart(5)} ${p.nbma.padEnd(15)} ${rest(p)}`);
      for (const r of p.more ?? []) out.push(`${' '.repeat(22)}${rest(r)}`);
    }
  }
  return out.join('\n') + '\n';
}
