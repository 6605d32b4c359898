// `show interfaces [NAME]`: each configured interface as IOS shows it, with the counters of the OS
// interface it drives (/sys/class/net/<dev>/statistics; the tunnel's TUN carries its IOS name).
import fs from 'node:fs';
import type { ExecContext } from './exec-context.js';
import type { InterfaceDetailView } from '../show/interfaces-detail.js';
import { linkStatus } from './system.js';
import { maskToLen } from '../net/ipv4.js';

const STATS = ['rx_packets', 'rx_bytes', 'rx_errors', 'rx_dropped', 'tx_packets', 'tx_bytes', 'tx_errors', 'tx_dropped'] as const;
const readNumber = (p: string) => { try { return Number(fs.readFileSync(p, 'utf8').trim()) || 0; } catch { return 0; } };
const readText = (p: string) => { try { return fs.readFileSync(p, 'utf8').trim(); } catch { return undefined; } };

export function interfaceViews(ctx: ExecContext, sysfs = '/sys/class/net'): InterfaceDetailView[] {
  const cfg = ctx.config();
  return cfg.interfaces.map((i) => {
    const dev = i.kind === 'tunnel' ? i.name : ctx.osNameOf(i.name) ?? i.name;
    const st = Object.fromEntries(STATS.map((k) => [k, readNumber(`${sysfs}/${dev}/statistics/${k}`)])) as Record<typeof STATS[number], number>;
    const link = i.kind === 'tunnel' ? { adminUp: !i.shutdown, protocolUp: !i.shutdown && ctx.overlayUp() } : linkStatus(dev);
    const mtu = i.kind === 'tunnel' ? i.mtu : readNumber(`${sysfs}/${dev}/mtu`) || 1500;
    return {
      name: i.name, description: i.description, ...link, mtu,
      mac: i.kind === 'tunnel' ? undefined : readText(`${sysfs}/${dev}/address`),
      address: i.address && { address: i.address.address, len: maskToLen(i.address.mask) },
      tunnel: i.kind === 'tunnel' ? { source: ctx.tunnelSource() ?? i.source, destination: i.destination, multipoint: i.mode === 'gre-multipoint',
        key: i.key, protection: i.protection?.profile } : undefined,
      stats: { rxPackets: st.rx_packets, rxBytes: st.rx_bytes, rxErrors: st.rx_errors, rxDropped: st.rx_dropped,
        txPackets: st.tx_packets, txBytes: st.tx_bytes, txErrors: st.tx_errors, txDropped: st.tx_dropped },
    };
  }).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}
