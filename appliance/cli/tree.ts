// IOS-style command tree: keyword and typed-parameter nodes with help strings. One tree per CLI mode;
// the same trees serve startup-config loading, interactive execution, `?` help and Tab completion, so
// the grammar is written once. Commands are declared with a small spec language (see define()).
import { parseInterfaceName } from './ifname.js';
import { ipv4Bytes } from '../net/ipv4.js';

export type ParamKind = 'ipv4' | 'mask' | 'word' | 'line' | 'range' | 'iface' | 'hex';

export interface Param { kind: ParamKind; min?: number; max?: number }

/** What a command action receives: keywords seen, parameter values by key, and whether it was `no ...`. */
export interface Args { kw: Set<string>; p: Record<string, string>; no: boolean }

/** An action may return a reason string: the line is accepted but does nothing yet ("inactive"). */
export type Action<C = any> = (ctx: C, a: Args) => string | void;

export interface Node {
  word?: string; // keyword, lower case
  param?: Param;
  key?: string; // parameter key in Args.p
  help: string;
  children: Node[];
  action?: Action;
}

/** An error an action throws to reject a line with an IOS-style "% ..." message. */
export class CliError extends Error {}

export const root = (): Node => ({ help: '', children: [] });

/** The placeholder IOS prints for a parameter in `?` output. */
export function placeholder(p: Param): string {
  switch (p.kind) {
    case 'ipv4': case 'mask': return 'A.B.C.D';
    case 'word': return 'WORD';
    case 'line': return 'LINE';
    case 'hex': return 'HEX';
    case 'iface': return 'INTERFACE';
    case 'range': return `<${p.min}-${p.max}>`;
  }
}

const DEFAULT_PARAM_HELP: Record<ParamKind, string> = {
  ipv4: 'IP address', mask: 'IP subnet mask', word: 'Name', line: 'Text', hex: 'Hexadecimal key',
  iface: 'Interface name', range: 'Number',
};

/**
 * Declare a command. `spec` is space-separated: a bare word is a keyword; `{key:kind}` or
 * `{key:range:1-65535}` is a parameter. Help strings come from `help` (by keyword or `{key}`),
 * falling back to the shared HELP dictionary. Nodes with the same word/key are shared, so declaring
 * `ip nhrp nhs {ip:ipv4}` and `ip nhrp nhs {ip:ipv4} nbma {nbma:ipv4}` builds one branch.
 */
export function define(r: Node, spec: string, action: Action, help: Record<string, string> = {}): Node {
  let n = r;
  for (const tok of spec.trim().split(/\s+/)) {
    const m = /^\{(\w+):(\w+)(?::(\d+)-(\d+))?\}$/.exec(tok);
    let child: Node | undefined;
    if (m) {
      const [, key, kind, lo, hi] = m;
      child = n.children.find(c => c.key === key && c.param?.kind === kind);
      if (!child) {
        const param: Param = { kind: kind as ParamKind };
        if (lo !== undefined) { param.min = Number(lo); param.max = Number(hi); }
        child = { key, param, help: help[`{${key}}`] ?? HELP[`{${key}}`] ?? DEFAULT_PARAM_HELP[param.kind], children: [] };
        n.children.push(child);
      }
    } else {
      const word = tok.toLowerCase();
      child = n.children.find(c => c.word === word);
      if (!child) { child = { word, help: help[word] ?? HELP[word] ?? '', children: [] }; n.children.push(child); }
    }
    n = child;
  }
  n.action = action;
  return n;
}

/** Does `text` satisfy parameter `p`? Returns the normalised value or null. */
export function validateParam(p: Param, text: string): string | null {
  switch (p.kind) {
    case 'ipv4': case 'mask': {
      const b = ipv4Bytes(text);
      return b ? b.join('.') : null;
    }
    case 'range': {
      if (!/^\d+$/.test(text)) return null;
      const v = Number(text);
      return v >= p.min! && v <= p.max! ? String(v) : null;
    }
    case 'hex': return /^(0x)?[0-9a-f]+$/i.test(text) ? text.toLowerCase().replace(/^0x/, '') : null;
    case 'iface': { const r = parseInterfaceName(text); return r ? r.name : null; }
    case 'word': case 'line': return text;
  }
}

/** Shared help strings, worded like IOS where IOS has the same command. */
export const HELP: Record<string, string> = {
  no: 'Negate a command or set its defaults',
  exit: 'Exit from the current mode', end: 'Exit from configure mode',
  do: 'To run exec commands in config mode',
  hostname: 'Set system\'s network name',
  interface: 'Select an interface to configure',
  ip: 'Interface Internet Protocol config commands',
  address: 'Set the IP address of an interface',
  description: 'Interface specific description',
  shutdown: 'Shutdown the selected interface',
  mtu: 'Set IP Maximum Transmission Unit', tcp: 'TCP header compression and other parameters',
  'adjust-mss': 'Adjust the mss of transit packets',
  nhrp: 'NHRP interface subcommands',
  'network-id': 'NBMA network identifier', nhs: 'Specify a next hop server', nbma: 'NBMA address',
  priority: 'NHS priority', cluster: 'NHS cluster', map: 'Map IP address to NBMA address',
  multicast: 'Use this NBMA mapping for broadcasts/multicasts', dynamic: 'Learn mappings from registration requests',
  holdtime: 'Advertised holdtime', registration: 'Settings for registration packets',
  timeout: 'Periodic registration', 'no-unique': 'Don\'t set unique bit in registration request',
  authentication: 'Authentication string', redirect: 'Enable NHRP redirect', shortcut: 'Enable NHRP shortcut switching',
  tunnel: 'protocol-over-protocol tunneling', source: 'source of tunnel packets',
  destination: 'destination of tunnel', mode: 'tunnel encapsulation method', gre: 'generic route encapsulation protocol',
  multipoint: 'over IP (multipoint)', key: 'security or selector key', protection: 'Enable tunnel protection',
  ipsec: 'IPSEC tunnel protection', profile: 'Determine the ipsec policy profile to use.',
  shared: 'Share ipsec sa between multiple tunnel interfaces',
  route: 'Establish static routes',
  crypto: 'Encryption module', isakmp: 'Configure ISAKMP policy', policy: 'Set policy for an ISAKMP protection suite',
  'transform-set': 'Define transform and settings', 'manual-sa': 'Manually keyed security association',
  set: 'Set a parameter', peer: 'Allowed Encryption/Decryption peer', 'session-key': 'Specify a session key',
  inbound: 'Specify key for inbound SA', outbound: 'Specify key for outbound SA', esp: 'Specify an ESP key',
  cipher: 'Specify an ESP cipher key', authenticator: 'Specify an ESP authenticator key',
  'udp-encapsulation': 'Encapsulate ESP in UDP 4500 (NAT traversal)',
  'sequence-persistence': 'Persist sequence numbers across restarts (required for manual AEAD keys)',
  block: 'Sequence numbers reserved per disk write',
  transport: '(Transport Mode)', tunnel_mode: '(Tunnel Mode)',
  encryption: 'Set encryption algorithm for protection suite', hash: 'Set hash algorithm for protection suite',
  group: 'Set the Diffie-Hellman group', lifetime: 'Set lifetime for ISAKMP security association',
  'pre-share': 'Pre-Shared Key', pfs: 'Specify pfs settings',
  show: 'Show running system information', clear: 'Reset functions', configure: 'Enter configuration mode',
  terminal: 'Configure from the terminal', enable: 'Turn on privileged commands', disable: 'Turn off privileged commands',
  'running-config': 'Current operating configuration', dmvpn: 'DMVPN information', detail: 'Detailed information',
  brief: 'Brief information', json: 'Machine-readable (JSON) output', write: 'Write running configuration to memory',
  memory: 'Write to NV memory', redirects: 'Enable sending ICMP Redirect messages',
  'split-horizon': 'Perform split horizon', 'next-hop-self': 'Use own address as next hop', keepalive: 'Enable keepalive',
  bandwidth: 'Set bandwidth informational parameter',
  crls: 'Show Certificate Revocation Lists',
};
