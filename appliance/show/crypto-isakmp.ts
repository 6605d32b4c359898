// `show crypto isakmp sa` and `show crypto session` formatters: pure functions of the IKE SAs and the
// Child SAs the supervisor's IKE service holds, in the IOS 12.4T layout (seed 003 shows the first):
//   IPv4 Crypto ISAKMP SA
//   dst             src             state          conn-id slot status
//   172.16.15.2     172.16.35.2     QM_IDLE           1002    0 ACTIVE
// dst is the responder's address, src the initiator's, newest SA first.

export interface IsakmpSaRow {
  local: string; remote: string; initiator: boolean; state: string; connId: number;
  remotePort: number; localPort: number; establishedAt?: number;
  /** initiator and responder cookies, hex (json only: they are on the wire in clear anyway) */
  cookies?: { i: string; r: string };
  /** 2: an IKEv2 SA (show crypto session lists it; show crypto isakmp sa, as on IOS, does not) */
  version?: 1 | 2;
}
export interface CryptoSessionChild { peer: string; spiIn: number; spiOut: number; mode: string; udp: boolean }

const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);

export function formatIsakmpSa(rows: IsakmpSaRow[], json: boolean): string {
  const sorted = [...rows].sort((a, b) => b.connId - a.connId);
  const view = sorted.map((r) => ({ dst: r.initiator ? r.remote : r.local, src: r.initiator ? r.local : r.remote, state: r.state,
    connId: r.connId, slot: 0, status: 'ACTIVE', ...(r.cookies ? { cookies: r.cookies } : {}) }));
  if (json) return JSON.stringify(view) + '\n';
  const out = ['IPv4 Crypto ISAKMP SA', 'dst             src             state          conn-id slot status'];
  for (const v of view) out.push(`${pad(v.dst, 16)}${pad(v.src, 16)}${pad(v.state, 15)}${lpad(v.connId, 7)}${lpad(v.slot, 5)} ${v.status}`);
  return out.join('\n') + '\n\n';
}

/** One block per peer with an ISAKMP SA or Child SAs: UP-ACTIVE when both exist, UP-IDLE with only IPsec, UP-NO-IKE. */
export function formatCryptoSession(iface: string, local: string, sas: IsakmpSaRow[], children: CryptoSessionChild[], json: boolean): string {
  const peers = [...new Set([...sas.map((s) => s.remote), ...children.map((c) => c.peer)])];
  const view = peers.map((peer) => {
    const ike = sas.filter((s) => s.remote === peer);
    const ipsec = children.filter((c) => c.peer === peer);
    const live = ike.filter((s) => s.state === 'QM_IDLE');
    const status = live.length && ipsec.length ? 'UP-ACTIVE' : ipsec.length ? 'UP-NO-IKE' : live.length ? 'UP-IDLE' : 'DOWN-NEGOTIATING';
    return { peer, port: (ike[0]?.remotePort ?? 500), status, ike, activeSas: ipsec.length * 2 };
  });
  if (json) return JSON.stringify(view.map((v) => ({ ...v, ike: v.ike.map((s) => ({ connId: s.connId, state: s.state })) }))) + '\n';
  const out = ['Crypto session current status', ''];
  for (const v of view) {
    out.push(`Interface: ${iface}`, `Session status: ${v.status}`, `Peer: ${v.peer} port ${v.port}`);
    for (const s of v.ike) out.push(`  IKE SA: local ${local}/${s.localPort} remote ${v.peer}/${s.remotePort} ${s.state === 'QM_IDLE' ? 'Active' : 'Inactive'}`);
    out.push(`  IPSEC FLOW: permit 47 host ${local} host ${v.peer}`, `        Active SAs: ${v.activeSas}, origin: crypto map`, '');
  }
  return out.join('\n') + '\n';
}
