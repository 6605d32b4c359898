// `show interfaces [NAME]` formatter: a pure function of plain views, in the IOS layout (status line,
// hardware, address, MTU/BW/DLY, encapsulation, tunnel lines for a tunnel, packet counters). The
// counters are the OS interface's (for the tunnel: its TUN, i.e. the overlay side of the data plane).
export interface InterfaceDetailView {
  name: string;
  description?: string;
  adminUp: boolean;
  protocolUp: boolean;
  /** MAC address (aa:bb:cc:dd:ee:ff) for an Ethernet-like port */
  mac?: string;
  address?: { address: string; len: number };
  mtu: number;
  tunnel?: { source?: string; destination?: string; multipoint: boolean; key?: number; protection?: string };
  stats: { rxPackets: number; rxBytes: number; rxErrors: number; rxDropped: number; txPackets: number; txBytes: number; txErrors: number; txDropped: number };
}

/** IOS writes a MAC as three dot-separated groups of four hex digits. */
const iosMac = (mac: string) => mac.replace(/:/g, '').replace(/(.{4})(?=.)/g, '$1.');
const status = (v: InterfaceDetailView) =>
  `${v.name} is ${v.adminUp ? 'up' : 'administratively down'}, line protocol is ${v.protocolUp ? 'up' : 'down'} `;

function one(v: InterfaceDetailView): string[] {
  const out = [status(v)];
  const tunnel = v.tunnel;
  out.push(tunnel ? '  Hardware is Tunnel' : `  Hardware is Ethernet${v.mac ? `, address is ${iosMac(v.mac)} (bia ${iosMac(v.mac)})` : ''}`);
  if (v.description) out.push(`  Description: ${v.description}`);
  out.push(v.address ? `  Internet address is ${v.address.address}/${v.address.len}` : '  Internet address is unassigned');
  out.push(tunnel ? `  MTU ${v.mtu} bytes, BW 100 Kbit/sec, DLY 50000 usec, ` : `  MTU ${v.mtu} bytes, BW 100000 Kbit/sec, DLY 100 usec, `);
  out.push('     reliability 255/255, txload 1/255, rxload 1/255');
  out.push(`  Encapsulation ${tunnel ? 'TUNNEL' : 'ARPA'}, loopback not set`);
  if (tunnel) {
    out.push('  Keepalive not set');
    out.push(`  Tunnel source ${tunnel.source ?? 'UNKNOWN'}, destination ${tunnel.multipoint ? 'UNKNOWN' : tunnel.destination ?? 'UNKNOWN'}`);
    out.push(`  Tunnel protocol/transport ${tunnel.multipoint ? 'multi-GRE/IP' : 'GRE/IP'}`);
    out.push(`    Key ${tunnel.key !== undefined ? `0x${tunnel.key.toString(16).toUpperCase()}` : 'disabled'}, sequencing disabled`);
    out.push('    Checksumming of packets disabled');
    if (tunnel.protection) out.push(`  Tunnel protection via IPSec (profile "${tunnel.protection}")`);
  }
  const s = v.stats;
  out.push(`     ${s.rxPackets} packets input, ${s.rxBytes} bytes, 0 no buffer`);
  out.push(`     ${s.rxErrors} input errors, 0 CRC, 0 frame, 0 overrun, ${s.rxDropped} ignored`);
  out.push(`     ${s.txPackets} packets output, ${s.txBytes} bytes, 0 underruns`);
  out.push(`     ${s.txErrors} output errors, 0 collisions, 0 interface resets`);
  out.push(`     ${s.txDropped} output buffer failures, 0 output buffers swapped out`);
  return out;
}

export function formatInterfaces(views: InterfaceDetailView[], json = false): string {
  if (json) return JSON.stringify(views) + '\n';
  return views.flatMap(one).join('\n') + '\n';
}
