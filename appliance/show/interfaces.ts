// `show ip interface brief` formatter: pure function of a plain view (one row per interface), in the
// IOS 12.4 column layout (Interface 27, IP-Address 16, OK? 4, Method 7, Status 22, Protocol).
export interface InterfaceBriefView {
  name: string; // IOS name
  address?: string;
  adminUp: boolean;
  protocolUp: boolean;
}

const row = (c: string[]) => (c[0].padEnd(26) + ' ' + c[1].padEnd(15) + ' ' + c[2].padEnd(3) + ' ' + c[3].padEnd(6) + ' ' + c[4].padEnd(21) + ' ' + c[5]).trimEnd();

export function formatInterfaceBrief(rows: InterfaceBriefView[], json = false): string {
  if (json) return JSON.stringify(rows) + '\n';
  const out = [row(['Interface', 'IP-Address', 'OK?', 'Method', 'Status', 'Protocol'])];
  for (const r of rows) {
    out.push(row([r.name, r.address ?? 'unassigned', 'YES', r.address ? 'manual' : 'unset',
      r.adminUp ? 'up' : 'administratively down', r.protocolUp ? 'up' : 'down']));
  }
  return out.join('\n') + '\n';
}
