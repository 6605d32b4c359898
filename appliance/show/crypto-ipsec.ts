// `show crypto ipsec sa` formatter: pure function of the SA table rows (dataplane/sa.ts readSas), in
// the IOS layout: one block per peer with its inbound and outbound SAs. `json` is the raw rows with
// 64-bit counters as strings and the peer as a dotted quad.
import { SA_FLAG, type SaRow } from '../dataplane/sa.js';
import { u32ToIp } from '../net/ipv4.js';

const ENC_NAME: Record<number, string> = { 1: 'esp-gcm', 2: 'esp-256-gcm', 3: 'esp-chacha20-poly1305', 4: 'esp-aes', 5: 'esp-256-aes', 6: 'esp-null' };
const INTEG_NAME: Record<number, string> = { 1: 'esp-sha-hmac', 2: 'esp-sha256-hmac' };
const NO_SEQ_LIMIT = 0xffffffffffffffffn;

export interface CryptoSaView {
  rows: SaRow[];
  /** the configured name of SA `index` (manual-sa name) */
  nameOf(index: number): string;
  /** how SA `index` was keyed: 'manual' (default) or 'isakmp' */
  originOf?(index: number): string;
  iface: string;
  /** our tunnel source address */
  local: string;
}

export function formatCryptoIpsecSa(v: CryptoSaView, json: boolean): string {
  const { rows, nameOf, iface, local } = v;
  const originOf = v.originOf ?? (() => 'manual');
  if (json) return JSON.stringify(rows.map((r) => ({ ...r, seq: r.seq.toString(), seqLimit: r.seqLimit.toString(), peer: u32ToIp(r.peer), name: nameOf(r.index) }))) + '\n';
  const byPeer = new Map<number, SaRow[]>();
  for (const r of rows) byPeer.set(r.peer, [...(byPeer.get(r.peer) ?? []), r]);
  const out: string[] = [`interface: ${iface}`, `    Crypto map tag: ${iface}-head-0, local addr ${local}`, ''];
  for (const [peer, list] of byPeer) {
    const o = list.find((r) => r.dir === 'out'), i = list.find((r) => r.dir === 'in');
    const encaps = o?.packets ?? 0, decaps = i?.packets ?? 0;
    const drops = i ? Object.values(i.drops).reduce((a, b) => a + b, 0) : 0;
    out.push(`   protected vrf: (none)`, `   local  ident (addr/mask/prot/port): (${local}/255.255.255.255/47/0)`,
      `   remote ident (addr/mask/prot/port): (${u32ToIp(peer)}/255.255.255.255/47/0)`,
      `   current_peer ${u32ToIp(peer)} port ${(o ?? i)!.flags & SA_FLAG.UDP ? 4500 : 500}`,
      `     #pkts encaps: ${encaps}, #pkts encrypt: ${encaps}, #pkts digest: ${encaps}`,
      `     #pkts decaps: ${decaps}, #pkts decrypt: ${decaps}, #pkts verify: ${decaps}`,
      `     #pkts replay failed: ${i ? i.drops.replay + i.drops.tooOld : 0}, #recv errors ${drops}`, '');
    for (const [title, r] of [['inbound esp sas', i], ['outbound esp sas', o]] as const) {
      out.push(`     ${title}:`);
      if (!r) continue;
      const transform = [ENC_NAME[r.enc], INTEG_NAME[r.integ]].filter(Boolean).join(' ');
      out.push(`      spi: 0x${r.spi.toString(16).toUpperCase()}(${r.spi})`,
        `        transform: ${transform} ,`,
        `        in use settings ={${r.flags & SA_FLAG.TUNNEL ? 'Tunnel' : 'Transport'}${r.flags & SA_FLAG.UDP ? ' UDP-Encaps' : ''}, }`,
        `        conn id: ${r.index}, sa name: ${nameOf(r.index)} (${originOf(r.index)})`,
        `        replay detection support: ${r.dir === 'in' ? `Y  replay window size: ${r.replayWindow}` : 'Y'}`,
        ...(r.dir === 'out' && r.seqLimit < NO_SEQ_LIMIT ? [`        sequence number: ${r.seq}, persisted reservation up to ${r.seqLimit}, dropped at limit: ${r.drops.seqLimit}`] : []),
        ...(r.dir === 'in' ? [`        replay dropped: ${r.drops.replay + r.drops.tooOld}, policy dropped: ${r.drops.policy}`] : []),
        `        Status: ${r.state === 'active' ? 'ACTIVE(ACTIVE)' : 'EXPIRED'}`, '');
    }
  }
  return out.join('\n') + '\n';
}
