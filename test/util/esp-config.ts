// Turns a lab config into one whose tunnel is protected by manual ESP SAs (the `crypto ipsec
// manual-sa` form the appliance accepts; keys in hex, AEAD keys followed by their salt), one block
// per peer.
export interface ManualSa { peer: string; inSpi: number; outSpi: number; inKey: string; outKey: string; transform: string; udp?: boolean }

export function protectConfig(cfg: string, sas: ManualSa | ManualSa[]): string {
  const list = Array.isArray(sas) ? sas : [sas];
  const blocks = list.map((s, i) => `crypto ipsec manual-sa PEER${i + 1}
 set peer ${s.peer}
 set transform-set TS
 set session-key inbound esp ${s.inSpi} cipher ${s.inKey}
 set session-key outbound esp ${s.outSpi} cipher ${s.outKey}
${s.udp ? ' set udp-encapsulation\n' : ''}!
`).join('');
  const crypto = `crypto ipsec transform-set TS ${list[0].transform}
 mode transport
crypto ipsec profile DMVPN
 set transform-set TS
${blocks}`;
  return crypto + cfg.replace(' tunnel mode gre multipoint', ' tunnel mode gre multipoint\n tunnel protection ipsec profile DMVPN');
}
