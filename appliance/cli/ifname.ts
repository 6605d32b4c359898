// IOS interface names as typed (CLI lexing): parsing to the canonical IOS spelling. Which OS interface
// each one drives is config/interfaces.ts (resolveOsNames).
//
//  * Abbreviations are unique type prefixes, case-insensitive, as in IOS: fa0/0, gi0/1, e0/0, se4/0,
//    tu0 (t alone is ambiguous with TenGigabitEthernet). Type and number may be separate words
//    (`interface serial 4/0`, `interface tunnel 999`); the matcher joins them (match.ts).
//  * Plain Linux names (eth0, ens3, enp0s3, eno1, wlan0, br0, bond0, lan0, wan0, fa0-0 ...) pass
//    through unchanged, so a Linux-minded user can write `interface ens3`.
//  * Tunnel<n> is the mGRE/GRE tunnel interface, n in 0..2147483647 like IOS.
//  * Loopback<n> drives the OS interface lo<n> (a dummy interface: the image's init creates lo0).

export interface IfName {
  kind: 'tunnel' | 'ethernet';
  name: string; // canonical: "Tunnel0", "FastEthernet0/0", "eth0"
  number?: number; // tunnel only
  /** a plain OS name (eth0, ens3 ...): used as is, no mapping */
  os?: boolean;
}

const TYPES = ['Ethernet', 'FastEthernet', 'GigabitEthernet', 'TenGigabitEthernet', 'Serial', 'Tunnel', 'Loopback'];
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
