// IOS interface names (parsed by cli/ifname.ts) -> the OS interface each one drives (resolveOsNames,
// run at apply time because it depends on which OS interfaces exist).
//
// OS interface of an IOS name, first rule that applies (README "Interface names"):
//  1. the rule name, if such an OS interface exists: the type's first two letters in lower case, then
//     the numbers joined by '-' (FastEthernet0/0 -> fa0-0, Serial4/0 -> se4-0, GigabitEthernet0/0/1
//     -> gi0-0-1). Lab/images name their ports this way so any IOS config maps without edits.
//  2. an explicit ` os-interface <OS name>` line under the interface in the config.
//  3. the last number selects ethN (FastEthernet0/1 -> eth1, Serial4/1 -> eth1) when no other
//     interface of the config lands on the same ethN (a box with a flat row of eth ports).
//  4. otherwise the config is refused, naming the collision and both ways to fix it.
// Loopback<n> is lo<n> (rule 1; the appliance creates it when missing) or its os-interface (rule 2),
// never a physical ethN.
import { parseInterfaceName, isLoopback } from '../cli/ifname.js';

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
    // Loopback0 -> lo0, created at apply when missing; never a physical ethN port (its address
    // would land on a real link). An os-interface named for it must exist.
    else if (isLoopback(n) && !explicit) names.set(n, ruleOsName(n));
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
