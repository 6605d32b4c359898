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

/** Creates a software interface for `interface Loopback<n>`: a dummy link, or where the kernel has no
 *  dummy driver, a bridge without ports (up, carrier on, answers for its addresses alike). */
export function createLoopback(linuxName: string): void {
  try { ip(['link', 'add', linuxName, 'type', 'dummy']); } catch { ip(['link', 'add', linuxName, 'type', 'bridge']); }
}
export function deleteLink(linuxName: string): void { ip(['link', 'del', 'dev', linuxName]); }

export interface KernelRoute { prefix: string; len: number; via?: string; dev?: string; metric?: number }

const routeArgs = (r: KernelRoute) => {
  const a = [`${r.prefix}/${r.len}`];
  if (r.via) a.push('via', r.via);
  if (r.dev) a.push('dev', r.dev);
  if (r.metric !== undefined) a.push('metric', String(r.metric));
  return a;
};

export function routeReplace(r: KernelRoute): void {
  // Test-only fault (integration-seed004 rollback test): refuse one prefix as the kernel would.
  if (process.env.DMVPN_TEST_REFUSE_ROUTE === `${r.prefix}/${r.len}`) throw new SystemError(`ip route replace ${r.prefix}/${r.len}: refused (DMVPN_TEST_REFUSE_ROUTE test fault)`);
  ip(['route', 'replace', ...routeArgs(r)]);
}
export function routeDelete(r: KernelRoute): void { try { ip(['route', 'del', ...routeArgs(r)]); } catch { /* already gone */ } }
/** A sysctl's current value, or undefined when it does not exist / cannot be read. */
export function sysctlGet(key: string): string | undefined {
  try { return execFileSync('sysctl', ['-n', key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return undefined; }
}
export function sysctlSet(key: string, value: string): void {
  try { execFileSync('sysctl', ['-qw', `${key}=${value}`], { stdio: ['ignore', 'ignore', 'pipe'] }); }
  catch (e) { throw new SystemError(`sysctl ${key}=${value}: ${((e as { stderr?: Buffer }).stderr?.toString() ?? (e as Error).message).trim()}`); }
}

export interface LinkState { addresses: string[]; up: boolean }
/** Addresses and admin state of an interface, to put back on rollback. */
export function linkState(linuxName: string): LinkState {
  const out = JSON.parse(ip(['-j', 'link', 'show', 'dev', linuxName]) || '[]') as Array<{ flags: string[] }>;
  return { addresses: interfaceAddresses(linuxName), up: !!out[0]?.flags.includes('UP') };
}
/** Admin state and carrier (IOS Status / Protocol) of an interface. */
export function linkStatus(linuxName: string): { adminUp: boolean; protocolUp: boolean } {
  try {
    const flags = (JSON.parse(ip(['-j', 'link', 'show', 'dev', linuxName]) || '[]') as Array<{ flags: string[] }>)[0]?.flags ?? [];
    return { adminUp: flags.includes('UP'), protocolUp: flags.includes('LOWER_UP') };
  } catch { return { adminUp: false, protocolUp: false }; }
}
export function restoreLink(linuxName: string, s: LinkState): void {
  for (const have of interfaceAddresses(linuxName)) if (!s.addresses.includes(have)) ip(['addr', 'del', have, 'dev', linuxName]);
  for (const want of s.addresses) if (!interfaceAddresses(linuxName).includes(want)) ip(['addr', 'add', want, 'dev', linuxName]);
  ip(['link', 'set', 'dev', linuxName, s.up ? 'up' : 'down']);
}

/** Every IPv4 address on this system (all interfaces), without the prefix length. */
export function localAddresses(): Set<string> {
  const out = JSON.parse(ip(['-j', '-4', 'addr', 'show']) || '[]') as Array<{ addr_info: Array<{ local: string }> }>;
  return new Set(out.flatMap((i) => i.addr_info.map((a) => a.local)));
}

/** Tunnel sysctls: no ICMP redirects (NHRP redirects replace them on mGRE, IOS `no ip redirects`),
 *  and no IPv6 on the TUN until the overlay carries IPv6 (its link-local chatter would only be dropped). */
export function prepareTunnelSysctls(linuxName: string): void {
  const set = (k: string) => { try { execFileSync('sysctl', ['-qw', k]); } catch { /* best effort: read-only /proc */ } };
  set('net.ipv4.conf.all.send_redirects=0');
  set(`net.ipv4.conf.${linuxName}.send_redirects=0`);
  set(`net.ipv6.conf.${linuxName}.disable_ipv6=1`);
}
