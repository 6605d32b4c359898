// Where the hub is, for a factory box whose provisioning file has no `hub` line (docs/enrollment.md):
// in order, the provisioning file, DHCP option 43 in the Cisco PnP string form, then the A record of
// dmvpn-enroll.<the lease's domain> asked of the lease's DNS servers. DHCP and DNS are unauthenticated:
// they only say where to connect. Who the hub is stays the pin from the provisioning file, checked
// before the token leaves the box (client.ts), so a hub named by a hostile DHCP or DNS server is refused.
// The DHCP facts come from the lease file the udhcpc hook writes (rootfs/files/udhcpc.script); it is
// parsed strictly, since anything on the WAN segment chose its contents.
import fs from 'node:fs';
import { Resolver } from 'node:dns/promises';
// addresses are checked with node:net's isIPv4: a dotted quad in canonical form only, no leading zeros,
// which a resolver could read as octal (010 = 8)
import { isIPv4 } from 'node:net';
import { ENROLL_PORT } from '../config/model-enroll.js';
import type { Provisioning } from './provisioning.js';
import { isDnsName, MAX_DNS_NAME } from '../net/dns-name.js';

export type HubSource = 'provisioning file' | 'DHCP option 43' | 'DNS';
export interface FoundHub { hub: string; port: number; source: HubSource }

/** the DHCP facts discovery uses: ip=, router=, dns=, domain=, opt43= (hex), one per line */
export interface Lease { ip?: string; router: string[]; dns: string[]; domain?: string; opt43?: Buffer }

/** a lease file is five short lines; anything bigger was not written by our hook */
export const MAX_LEASE_BYTES = 2048;
/** a DHCP option carries at most 255 bytes */
const MAX_OPTION = 255;
const MAX_SERVERS = 8;
/** the name asked in the lease's domain, as Cisco PnP asks pnpserver.<domain> */
export const ENROLL_DNS_LABEL = 'dmvpn-enroll';

/** an address a hub can have: not this network (0/8), multicast or reserved (224/3: broadcast too),
 *  which a hostile DHCP or DNS server could name to send the box nowhere (refused before a connection,
 *  with the reason). Loopback stays allowed: the pin refuses whatever answers there, and a hub on the
 *  same host is how the tests run one. */
export function isHubAddress(s: string): boolean {
  const first = Number(s.split('.')[0]);
  return isIPv4(s) && first > 0 && first < 224;
}
/** a domain the hub's name (ENROLL_DNS_LABEL.<domain>) can be under: a DNS name with room for the label */
const isDomain = (s: string) => isDnsName(s, MAX_DNS_NAME - ENROLL_DNS_LABEL.length - 1);

/** The lease, or why the file is refused (never quoting more than a short, cleaned piece of it). */
export function parseLease(text: string): Lease | string {
  if (Buffer.byteLength(text) > MAX_LEASE_BYTES) return `larger than ${MAX_LEASE_BYTES} bytes`;
  const lease: Lease = { router: [], dns: [] };
  const seen = new Set<string>();
  for (const [n, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const m = /^([a-z0-9]{1,10})=([ -~]*)$/.exec(line);
    if (!m) return `line ${n + 1} is not key=printable text`;
    const [, key, value] = m;
    if (seen.has(key)) return `line ${n + 1}: ${key} given twice`;
    seen.add(key);
    if (value === '') continue;
    const bad = (what: string) => `line ${n + 1}: ${key} is not ${what}`;
    if (key === 'ip') { if (!isIPv4(value)) return bad('an IPv4 address'); lease.ip = value; }
    else if (key === 'router' || key === 'dns') {
      const list = value.split(' ');
      if (list.length > MAX_SERVERS || !list.every(isIPv4)) return bad(`a list of at most ${MAX_SERVERS} IPv4 addresses`);
      lease[key] = list;
    } else if (key === 'domain') { if (!isDomain(value)) return bad('a DNS domain name'); lease.domain = value.toLowerCase(); }
    else if (key === 'opt43') {
      if (!/^([0-9a-fA-F]{2})+$/.test(value) || value.length > 2 * MAX_OPTION) return bad(`hex of 1-${MAX_OPTION} bytes`);
      lease.opt43 = Buffer.from(value, 'hex');
    } else return `line ${n + 1}: unknown key "${key}"`;
  }
  return lease;
}

/** What option 43 names: the hub's address, or a host name to resolve (B1). */
export type PnpServer = { hub: string; port: number } | { name: string; port: number };

/** The hub from option 43 in Cisco PnP's string form, e.g. `5A1D;B2;K4;I172.19.45.222;J80`: "5A1" then D or
 *  N (debug on/off), then `;`-separated fields of a letter and a value: B the address type (1 = host
 *  name, 2 = IPv4; 3, IPv6, is refused: the underlay here is IPv4), I the address or name, J the port
 *  (ENROLL_PORT when absent). Without B, I is a host name when it ends in a letters-only label.
 *  Others (K transport, T trust pool, Z NTP server...) are not used here and skipped. Refused with the
 *  reason when malformed. */
export function parsePnpOption43(raw: Buffer): PnpServer | string {
  let end = raw.length;
  while (end > 0 && raw[end - 1] === 0) end--; // RFC 2132: a receiver drops trailing NULs of text
  const b = raw.subarray(0, end);
  if (b.length === 0 || b.length > MAX_OPTION) return `length ${b.length} (1-${MAX_OPTION})`;
  if (!b.every((c) => c >= 0x20 && c <= 0x7e)) return 'not printable text (not the Cisco PnP string form)';
  const fields = b.toString('latin1').split(';');
  if (!/^5A1[DN]$/.test(fields[0])) return 'does not start with 5A1D or 5A1N (not a Cisco PnP string)';
  if (fields[fields.length - 1] === '') fields.pop(); // a trailing ';'
  const got = new Map<string, string>();
  for (const f of fields.slice(1)) {
    if (!/^[A-Z]/.test(f)) return `field "${f.slice(0, 16)}" does not start with a capital letter`;
    if (got.has(f[0])) return `field ${f[0]} given twice`;
    got.set(f[0], f.slice(1));
  }
  const type = got.get('B');
  if (type !== undefined && type !== '1' && type !== '2') return `address type B${type.slice(0, 4)} (B1, a host name, and B2, IPv4, are taken)`;
  const hub = got.get('I');
  if (hub === undefined) return 'no I field (the server address)';
  const port = got.get('J');
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && +port >= 1 && +port <= 65535)) return `J${port.slice(0, 8)} is not a port (1-65535)`;
  const p = port === undefined ? ENROLL_PORT : Number(port);
  // without B: a name when its top-level label is letters only, as every top-level domain is
  // (RFC 3696 2), so a mistyped address (010.1.2.3x) is refused as one, not looked up
  const byName = type === '1' || (type === undefined && /\.[A-Za-z]+$/.test(hub));
  if (byName) {
    if (/^[\d.]+$/.test(hub) || !isDnsName(hub)) return `I${hub.slice(0, 40)} is not a host name`;
    return { name: hub.toLowerCase(), port: p };
  }
  if (!isIPv4(hub)) return `I${hub.slice(0, 40)} is not an IPv4 address`;
  if (!isHubAddress(hub)) return `I${hub} is not a unicast host address (this network, multicast or reserved)`;
  return { hub, port: p };
}

export interface DiscoveryDeps {
  /** the lease file's text; undefined when there is none (no lease yet) */
  readLease: () => string | undefined;
  /** A records of `name` asked of `servers` */
  resolve4: (servers: string[], name: string) => Promise<string[]>;
  /** a source that was there but refused (logged so the operator sees why it was passed over) */
  log: (text: string) => void;
}

/** The hub from the first source that names one, or why none did (the caller retries with backoff). */
export async function discoverHub(p: Provisioning, d: DiscoveryDeps): Promise<FoundHub | string> {
  if (p.hub) return { hub: p.hub, port: p.port, source: 'provisioning file' };
  let text: string | undefined;
  try { text = d.readLease(); } catch (e) { return `no hub line in the provisioning file, and the DHCP lease is unreadable (${(e as Error).message})`; }
  if (text === undefined) return 'no hub line in the provisioning file, and no DHCP lease yet';
  const lease = parseLease(text);
  if (typeof lease === 'string') return `no hub line in the provisioning file, and the DHCP lease is refused: ${lease}`;
  const why: string[] = [];
  if (lease.opt43) {
    const o = parsePnpOption43(lease.opt43);
    if (typeof o === 'string') {
      d.log(`DHCP option 43 refused: ${o}`);
      why.push(`option 43 refused (${o})`);
    } else if ('hub' in o) return { ...o, source: 'DHCP option 43' };
    else {
      const a = await resolveHub(lease, o.name, d);
      if (typeof a !== 'string') return { hub: a.address, port: o.port, source: 'DHCP option 43' };
      d.log(`DHCP option 43 names ${o.name}: ${a}`);
      why.push(`option 43 names ${a}`);
    }
  } else why.push('no option 43');
  if (!lease.domain) why.push('no domain for DNS');
  else {
    const a = await resolveHub(lease, `${ENROLL_DNS_LABEL}.${lease.domain}`, d);
    if (typeof a !== 'string') return { hub: a.address, port: ENROLL_PORT, source: 'DNS' };
    why.push(a);
  }
  return `no hub line in the provisioning file; DHCP lease: ${why.join(', ')}`;
}

/** The first unicast IPv4 address of `name`'s A records, asked of the lease's DNS servers, or why not
 *  (the name leads the reason). */
async function resolveHub(lease: Lease, name: string, d: DiscoveryDeps): Promise<{ address: string } | string> {
  if (lease.dns.length === 0) return `${name}: no DNS server`;
  try {
    const answers = await d.resolve4(lease.dns, name);
    const found = answers.find(isHubAddress);
    if (found) return { address: found };
    return answers.length ? `${name} names no unicast host address (${answers.filter(isIPv4).slice(0, 4).join(' ')})` : `no A record for ${name}`;
  } catch (e) { return `${name}: ${(e as { code?: string }).code ?? (e as Error).message}`; }
}

/** The lease file's text, undefined when it does not exist; refused when larger than a lease can be. */
export function readLeaseFile(file: string | undefined): string | undefined {
  if (!file) return undefined;
  let fd: number;
  try { fd = fs.openSync(file, 'r'); } catch (e) { if ((e as { code?: string }).code === 'ENOENT') return undefined; throw e; }
  try {
    const buf = Buffer.alloc(MAX_LEASE_BYTES + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    if (n > MAX_LEASE_BYTES) throw new Error(`larger than ${MAX_LEASE_BYTES} bytes`);
    return buf.subarray(0, n).toString('utf8');
  } finally { fs.closeSync(fd); }
}

/** A records asked of the lease's DNS servers (not the host's resolv.conf: the lease's are the ones
 *  that know the local domain), a few seconds at most. */
export function resolve4With(servers: string[], name: string): Promise<string[]> {
  const r = new Resolver({ timeout: 2000, tries: 2 });
  r.setServers(servers);
  return r.resolve4(name);
}
