// `show ip nhrp` formatter: pure function of plain entry views. Default layout is IOS 15's
// (seed 004 text, with IOS's 3-space indentation of the continuation lines); `detail` is the
// one-line-header form from the IOS command reference; `brief` is the IOS 15 table; `json` is raw.
import { iosTime } from './time.js';

export interface NhrpEntryView {
  prefix: string;
  prefixLen: number;
  via: string;
  iface: string; // "Tunnel999"
  createdSeconds: number;
  expiresSeconds: number | null; // null -> "never expire"
  type: 'static' | 'dynamic' | 'incomplete' | 'negative';
  flags: string[]; // "used", "registered", "unique", "nhop", "router", "nat", "negative" ...
  nbma?: string; // absent for incomplete/negative entries
  nat?: boolean;
  claimedNbma?: string; // NAT: the address the peer claimed (IOS prints "(Claimed NBMA address: x)")
  cacheHits?: number;
}

const expiry = (e: NhrpEntryView) => (e.expiresSeconds === null ? 'never expire' : `expire ${iosTime(e.expiresSeconds)}`);
const typeLine = (e: NhrpEntryView) => `Type: ${e.type}, Flags:${e.flags.map(f => ' ' + f).join('')}`;
const unresolved = (e: NhrpEntryView) => e.type === 'incomplete' || e.type === 'negative' || e.nbma === undefined;

function tail(e: NhrpEntryView, ind: string): string[] {
  const out: string[] = [];
  if (!unresolved(e)) {
    out.push(`${ind}NBMA address: ${e.nbma}`);
    if (e.nat && e.claimedNbma) out.push(`${ind}    (Claimed NBMA address: ${e.claimedNbma})`);
  }
  if (e.cacheHits !== undefined) out.push(`${ind}Cache hits: ${e.cacheHits}`);
  return out;
}

export function formatNhrp(entries: NhrpEntryView[], variant: 'default' | 'detail' | 'brief' | 'json' = 'default'): string {
  if (variant === 'json') return JSON.stringify(entries) + '\n';
  if (variant === 'brief') return formatBrief(entries);
  const out: string[] = [];
  for (const e of entries) {
    const created = `${e.iface} created ${iosTime(e.createdSeconds)}, ${expiry(e)}`;
    const head = unresolved(e) ? `${e.prefix}` : `${e.prefix}/${e.prefixLen} via ${e.via}`;
    if (variant === 'detail' || unresolved(e)) {
      out.push(`${head}, ${created}`, `   ${typeLine(e)}`, ...tail(e, '   '));
    } else {
      out.push(head, `   ${created}`, `   ${typeLine(e)}`, ...tail(e, '   '));
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}

const FLAG_LETTER: Record<string, string> = { unique: 'u', registered: 'r', temporary: 'e', claimed: 'c', authoritative: 'a', route: 't' };

function formatBrief(entries: NhrpEntryView[]): string {
  const out = [
    '****************************************************************************',
    '    NOTE: Link-Local, No-socket and Incomplete entries are not displayed',
    '****************************************************************************',
    'Legend: Type --> S - Static, D - Dynamic',
    '        Flags --> u - unique, r - registered, e - temporary, c - claimed',
    '        a - authoritative, t - route',
    '============================================================================',
    '',
    'Intf     NextHop Address                                    NBMA Address',
    '         Target Network                              T/Flag',
    '-------- ------------------------------------------- ------ ----------------',
  ];
  for (const e of entries) {
    if (unresolved(e)) continue;
    const intf = e.iface.replace(/^Tunnel/, 'Tu');
    const tf = `${e.type === 'static' ? 'S' : 'D'}/${e.flags.map(f => FLAG_LETTER[f] ?? '').join('')}`;
    out.push(`${intf.padEnd(8)} ${e.via.padEnd(43)}        ${e.nbma}`);
    out.push(`         ${`${e.prefix}/${e.prefixLen}`.padEnd(43)} ${tf.padEnd(6)}`);
  }
  return out.join('\n') + '\n';
}
