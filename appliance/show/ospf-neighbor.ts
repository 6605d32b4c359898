// `show ip ospf neighbor` in IOS form from FRR's `show ip ospf neighbor json`. FRR names the fields
// differently across releases (8.x: nbrPriority/nbrState/routerDeadIntervalTimerDueMsec/ifaceAddress;
// 7.x: priority/state/deadTimeMsecs/address); both are read. FRR's "Full/DROther" is IOS's
// "FULL/DROTHER", "Backup" is "BDR", and a neighbor without a role (point-to-point) shows "FULL/  -".

export interface OspfNeighborRow {
  neighborId: string;
  priority: number;
  /** IOS form: FULL/DR, 2WAY/DROTHER, INIT/  - ... */
  state: string;
  /** seconds until the neighbor is declared dead */
  deadSeconds: number;
  address: string;
  iface: string;
}

type Raw = Record<string, unknown>;

const IOS_STATE: Record<string, string> = { '2-way': '2WAY', exstart: 'EXSTART', exchange: 'EXCHANGE', loading: 'LOADING', full: 'FULL', init: 'INIT', down: 'DOWN', attempt: 'ATTEMPT' };
const IOS_ROLE: Record<string, string> = { dr: 'DR', backup: 'BDR', bdr: 'BDR', drother: 'DROTHER', '-': '  -', '': '  -' };

/** FRR's "Full/DROther" -> IOS's "FULL/DROTHER". */
export function iosOspfState(frr: string): string {
  const [st, role = '-'] = frr.split('/');
  return `${IOS_STATE[st.toLowerCase()] ?? st.toUpperCase()}/${IOS_ROLE[role.toLowerCase()] ?? role.toUpperCase()}`;
}

/** The rows of FRR's JSON ({"neighbors": {"<router-id>": [ {...}, ... ]}}); unknown shapes give none. */
export function ospfNeighborRows(json: unknown, osToIos: (os: string) => string = (x) => x): OspfNeighborRow[] {
  const nbrs = (json as { neighbors?: Record<string, Raw[] | Raw> } | undefined)?.neighbors;
  if (!nbrs || typeof nbrs !== 'object') return [];
  const rows: OspfNeighborRow[] = [];
  for (const [id, v] of Object.entries(nbrs)) {
    for (const n of Array.isArray(v) ? v : [v]) {
      const str = (...ks: string[]) => { for (const k of ks) if (typeof n[k] === 'string') return n[k] as string; return ''; };
      const num = (...ks: string[]) => { for (const k of ks) if (typeof n[k] === 'number') return n[k] as number; return 0; };
      const iface = str('ifaceName').split(':')[0];
      rows.push({
        neighborId: id, priority: num('nbrPriority', 'priority'), state: iosOspfState(str('nbrState', 'state')),
        deadSeconds: Math.ceil(num('routerDeadIntervalTimerDueMsec', 'deadTimeMsecs') / 1000),
        address: str('ifaceAddress', 'address'), iface: osToIos(iface),
      });
    }
  }
  return rows;
}

const hms = (s: number) => [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((x) => String(x).padStart(2, '0')).join(':');

export function formatOspfNeighbors(rows: OspfNeighborRow[], json: boolean): string {
  if (json) return JSON.stringify(rows) + '\n';
  const out = ['', 'Neighbor ID     Pri   State           Dead Time   Address         Interface'];
  for (const r of rows) {
    out.push(`${r.neighborId.padEnd(15)} ${String(r.priority).padStart(3)}   ${r.state.padEnd(15)} ${hms(r.deadSeconds).padEnd(11)} ${r.address.padEnd(15)} ${r.iface}`);
  }
  return out.join('\n') + '\n';
}
