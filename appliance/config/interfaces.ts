// IOS interface names: parsing to the canonical IOS spelling, and choosing the OS interface each one
// drives (resolveOsNames, run at apply time because it depends on which OS interfaces exist).
//
// Parsing:
//  * Abbreviations are unique type prefixes, case-insensitive, as in IOS: fa0/0, gi0/1, e0/0, se4/0,
//    tu0 (t alone is ambiguous with TenGigabitEthernet). Type and number may be separate words
//    (`interface serial 4/0`, `interface tunnel 999`); the matcher joins them (match.ts).
//  * Plain Linux names (eth0, ens3, enp0s3, eno1, wlan0, br0, bond0, lan0, wan0, fa0-0 ...) pass
//    through unchanged, so a Linux-minded user can write `interface ens3`.
//  * Tunnel<n> is the mGRE/GRE tunnel interface, n in 0..2147483647 like IOS.
//
// OS interface of an IOS name, first rule that applies (README "Interface names"):
//  1. the rule name, if such an OS interface exists: the type's first two letters in lower case, then
//     the numbers joined by '-' (FastEthernet0/0 -> fa0-0, Serial4/0 -> se4-0, GigabitEthernet0/0/1
//     -> gi0-0-1). Lab/images name their ports this way so any IOS config maps without edits.
//  2. an explicit ` os-interface <OS name>` line under the interface in the config.
//  3. the last number selects ethN (FastEthernet0/1 -> eth1, Serial4/1 -> eth1) when no other
//     interface of the config lands on the same ethN (a box with a flat row of eth ports).
//  4. otherwise the config is refused, naming the collision and both ways to fix it.

export interface IfName {
  kind: 'tunnel' | 'ethernet';
  name: string; // canonical: "Tunnel0", "FastEthernet0/0", "eth0"
  number?: number; // tunnel only
  /** a plain OS name (eth0, ens3 ...): used as is, no mapping */
  os?: boolean;
}

const TYPES = ['Ethernet', 'FastEthernet', 'GigabitEthernet', 'TenGigabitEthernet', 'Serial', 'Tunnel'];
const LINUX = /^(eth\d+|ens\d+|enp\d+s\d+(f\d+)?|eno\d+|enx[0-9a-f]{12}|wlan\d+|wlp\d+s\d+|br\d+|bond\d+|lan\d+|wan\d+|[a-z]{2}\d+(-\d+){1,2})$/;

/** Resolve a type prefix ("fa", "Tu", "serial") to the IOS type name, or null if unknown/ambiguous. */
export function ifType(prefix: string): string | null {
  const p = prefix.toLowerCase();
  if (!p) return null;
  const exact = TYPES.find(t => t.toLowerCase() === p);
  if (exact) return exact;
  const hits = TYPES.filter(t => t.toLowerCase().startsWith(p));
  return hits.length === 1 ? hits[0] : null;
}

/** All IOS interface type names, for `?` help. */
export const IF_TYPES: readonly string[] = TYPES;

export function parseInterfaceName(text: string): IfName | null {
  if (LINUX.test(text)) return { kind: 'ethernet', name: text, os: true };
  const m = /^([a-z-]+)\s*(\d+(?:\/\d+){0,2})$/i.exec(text.trim());
  if (!m) return null;
  const type = ifType(m[1]);
  if (!type) return null;
  const nums = m[2].split('/').map(Number);
  if (type === 'Tunnel') {
    if (nums.length !== 1 || nums[0] > 2147483647) return null;
    return { kind: 'tunnel', name: `Tunnel${nums[0]}`, number: nums[0] };
  }
  return { kind: 'ethernet', name: `${type}${nums.join('/')}` };
}

/** The interface-number shape, for the matcher to join "serial" "4/0" into one name. */
export const IF_NUMBER = /^\d+(?:\/\d+){0,2}$/;

const numbersOf = (ios: string) => (/(\d+(?:\/\d+)*)$/.exec(ios)?.[1] ?? '').split('/');
/** Rule 1: FastEthernet0/0 -> fa0-0. */
export const ruleOsName = (ios: string): string => ios.slice(0, 2).toLowerCase() + numbersOf(ios).join('-');
/** Rule 3: the last number -> ethN. */
export const legacyOsName = (ios: string): string => `eth${numbersOf(ios).pop()}`;

export type OsNames = { ok: true; names: Map<string, string> } | { ok: false; errors: string[] };

/**
 * The OS interface of every non-tunnel interface in `ios` (canonical names), by the rules above.
 * `exists` says whether an OS interface of that name is present. Pure, so the rules are unit-tested.
 */
export function resolveOsNames(ifs: Array<{ name: string; osInterface?: string }>, exists: (os: string) => boolean): OsNames {
  const names = new Map<string, string>();
  const errors: string[] = [];
  const pending: string[] = [];
  for (const { name: n, osInterface: explicit } of ifs) {
    if (parseInterfaceName(n)?.os) names.set(n, n);
    else if (exists(ruleOsName(n))) names.set(n, ruleOsName(n));
    else if (explicit) {
      if (exists(explicit)) names.set(n, explicit);
      else errors.push(`interface ${n}: os-interface ${explicit}: no such OS interface`);
    } else pending.push(n);
  }
  const taken = new Set(names.values());
  for (const n of pending) {
    const eth = legacyOsName(n);
    const rivals = pending.filter(o => o !== n && legacyOsName(o) === eth);
    const owner = [...names].find(([, os]) => os === eth)?.[0];
    const fix = `name the OS interface ${ruleOsName(n)} or add "os-interface <OS interface>" under interface ${n}`;
    if (rivals.length || taken.has(eth)) {
      errors.push(`${n} maps to ${eth} (last number), which ${[...rivals, ...(owner ? [owner] : [])].join(' and ')} also use${rivals.length + (owner ? 1 : 0) > 1 ? '' : 's'}: ${fix}`);
    } else if (!exists(eth)) {
      errors.push(`interface ${n}: no OS interface ${ruleOsName(n)} or ${eth}: ${fix}`);
    } else names.set(n, eth);
  }
  const seen = new Map<string, string>();
  for (const [n, os] of names) {
    const other = seen.get(os);
    if (other) errors.push(`${other} and ${n} both map to OS interface ${os}: each needs its own (os-interface)`);
    seen.set(os, n);
  }
  return errors.length ? { ok: false, errors } : { ok: true, names };
}
