// The Linux side of applying a config: addresses and state of LAN/WAN interfaces and kernel routes.
// Done with iproute2 (present on every image we build) rather than netlink in the addon: these run
// only when config changes, never per packet.
import { execFileSync } from 'node:child_process';

export class SystemError extends Error {}

function ip(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new SystemError(`ip ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
  }
}

export const maskToLen = (mask: string): number => {
  const n = mask.split('.').reduce((a, o) => (a << 8) | Number(o), 0) >>> 0;
  let len = 0;
  while (len < 32 && (n & (0x80000000 >>> len))) len++;
  if (((n << len) >>> 0) !== 0 && len < 32) throw new SystemError(`${mask} is not a contiguous netmask`);
  return len;
};

export function interfaceExists(linuxName: string): boolean {
  try { ip(['link', 'show', 'dev', linuxName]); return true; } catch { return false; }
}

/** Current IPv4 addresses of an interface, as "a.b.c.d/len". */
export function interfaceAddresses(linuxName: string): string[] {
  const out = JSON.parse(ip(['-j', '-4', 'addr', 'show', 'dev', linuxName]) || '[]') as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
  return out.flatMap((i) => i.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

/** Makes `linuxName` carry exactly `cidr` (or no IPv4 address) and be up or down. */
export function setInterface(linuxName: string, cidr: string | undefined, up: boolean): void {
  if (!interfaceExists(linuxName)) throw new SystemError(`interface ${linuxName} does not exist on this system`);
  for (const have of interfaceAddresses(linuxName)) if (have !== cidr) ip(['addr', 'del', have, 'dev', linuxName]);
  if (cidr && !interfaceAddresses(linuxName).includes(cidr)) ip(['addr', 'add', cidr, 'dev', linuxName]);
  ip(['link', 'set', 'dev', linuxName, up ? 'up' : 'down']);
}

export interface KernelRoute { prefix: string; len: number; via?: string; dev?: string; metric?: number }

const routeArgs = (r: KernelRoute) => {
  const a = [`${r.prefix}/${r.len}`];
  if (r.via) a.push('via', r.via);
  if (r.dev) a.push('dev', r.dev);
  if (r.metric !== undefined) a.push('metric', String(r.metric));
  return a;
};

export function routeReplace(r: KernelRoute): void { ip(['route', 'replace', ...routeArgs(r)]); }
export function routeDelete(r: KernelRoute): void { try { ip(['route', 'del', ...routeArgs(r)]); } catch { /* already gone */ } }
export function enableForwarding(): void {
  try { execFileSync('sysctl', ['-qw', 'net.ipv4.ip_forward=1']); } catch { /* read-only /proc: reported by routing failing */ }
}

/** Tunnel sysctls: no ICMP redirects (NHRP redirects replace them on mGRE, IOS `no ip redirects`),
 *  and no IPv6 on the TUN until the overlay carries IPv6 (its link-local chatter would only be dropped). */
export function prepareTunnelSysctls(linuxName: string): void {
  const set = (k: string) => { try { execFileSync('sysctl', ['-qw', k]); } catch { /* best effort: read-only /proc */ } };
  set('net.ipv4.conf.all.send_redirects=0');
  set(`net.ipv4.conf.${linuxName}.send_redirects=0`);
  set(`net.ipv6.conf.${linuxName}.disable_ipv6=1`);
}
