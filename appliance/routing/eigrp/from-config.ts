// From the operator's configuration (config/model-eigrp.ts) to a speaker's options: which interfaces
// run EIGRP (`network` statements with wildcard, or classful without), which are passive, their
// per-interface rules (split horizon, next-hop-self), timers and authentication keys, the networks we
// originate, stub flags and load-balancing knobs. Classic and named mode land in the same shape.
import { ipToU32, maskToLen, networkOf } from '../../net/ipv4.js';
import type { ApplianceConfig } from '../../config/model.js';
import type { EigrpInterfaceSettings, EigrpProcess, EigrpStub } from '../../config/model-eigrp.js';
import type { EigrpAuthKey } from './auth.js';
import type { SpeakerInterface, SpeakerOptions } from './speaker.js';
import { StubFlag } from './types.js';

/** IOS interface defaults for the metric: a tunnel is 100 kbit/s and 50 ms, Ethernet 1 Gbit/s and 10 us. */
const TUNNEL = { bandwidth: 100, delay: 5000 };
const ETHERNET = { bandwidth: 1_000_000, delay: 1 };
export const DEFAULT_HELLO = 5;
export const DEFAULT_HOLD = 15;

/** The classful mask length of `a` (what `network A` without a wildcard covers). */
function classful(a: string): number { const first = ipToU32(a) >>> 24; return first < 128 ? 8 : first < 192 ? 16 : 24; }

/** Does a `network` statement cover interface address `addr`? */
export function networkCovers(n: { address: string; wildcard?: string }, addr: string): boolean {
  const care = n.wildcard ? ~ipToU32(n.wildcard) >>> 0 : ((0xffffffff << (32 - classful(n.address))) >>> 0);
  return ((ipToU32(addr) & care) >>> 0) === ((ipToU32(n.address) & care) >>> 0);
}

function stubFlags(s: EigrpStub | undefined): number {
  if (!s) return 0;
  if (s.receiveOnly) return StubFlag.ReceiveOnly;
  return (s.connected ? StubFlag.Connected : 0) | (s.summary ? StubFlag.Summary : 0) | (s.static ? StubFlag.Static : 0) | (s.redistributed ? StubFlag.Redistributed : 0);
}

/** An interface's settings: classic `ip ... eigrp N` lines; in named mode `af-interface default` with
 *  what the interface's own af-interface sets on top (setting by setting, as IOS merges them). */
function settingsFor(cfg: ApplianceConfig, p: EigrpProcess, iface: string): EigrpInterfaceSettings | undefined {
  if (p.name === undefined) return cfg.eigrp?.interfaces.find((s) => s.iface === iface && s.asn === p.asn);
  const dflt = p.afInterfaces?.find((s) => s.iface === 'default'), own = p.afInterfaces?.find((s) => s.iface === iface);
  return dflt || own ? { ...dflt, ...own, iface } : undefined;
}

function keysFor(cfg: ApplianceConfig, s: EigrpInterfaceSettings | undefined): EigrpAuthKey[] | undefined {
  if (!s?.authMode) return undefined;
  if (s.authMode === 'hmac-sha-256' && s.authPassword !== undefined) return [{ mode: 'sha256', keyId: 0, secret: s.authPassword }];
  const chain = cfg.eigrp?.keyChains.find((k) => k.name === s.keyChain);
  const keys = (chain?.keys ?? []).filter((k) => k.keyString !== undefined).map((k) => ({ mode: s.authMode === 'md5' ? 'md5' as const : 'sha256' as const, keyId: k.id, secret: k.keyString! }));
  return keys; // an empty list with a mode set: authentication required, nothing accepted (as IOS without a usable key)
}

export function speakerOptions(cfg: ApplianceConfig, p: EigrpProcess): SpeakerOptions {
  const interfaces: SpeakerInterface[] = [];
  const originate: SpeakerOptions['originate'] = [];
  for (const i of cfg.interfaces) {
    if (!i.address || i.shutdown || !p.networks.some((n) => networkCovers(n, i.address!.address))) continue;
    const s = settingsFor(cfg, p, i.name);
    const len = maskToLen(i.address.mask);
    const cost = i.kind === 'tunnel' ? TUNNEL : ETHERNET;
    const passive = p.name !== undefined ? !!s?.passive : (p.passiveDefault ? !p.passive.includes(i.name) : p.passive.includes(i.name));
    const si: SpeakerInterface = {
      name: i.name, address: i.address.address, prefixLen: len, ...cost, mtu: i.kind === 'tunnel' ? i.mtu : 1500,
      rules: { splitHorizon: s?.splitHorizon !== false, nextHopSelf: s?.nextHopSelf !== false },
      helloInterval: s?.helloInterval ?? DEFAULT_HELLO, holdTime: s?.holdTime ?? DEFAULT_HOLD, passive,
    };
    if (s?.summaries?.length) si.summaries = s.summaries.map((m) => ({ prefix: networkOf(m.prefix, maskToLen(m.mask)), len: maskToLen(m.mask) }));
    const auth = keysFor(cfg, s);
    if (auth) si.auth = auth;
    interfaces.push(si);
    originate.push({ prefix: networkOf(i.address.address, len), len, iface: i.name });
  }
  const highest = interfaces.map((i) => i.address).sort((a, b) => ipToU32(b) - ipToU32(a))[0] ?? '0.0.0.0';
  return {
    asn: p.asn, routerId: p.routerId ?? highest, wide: p.name !== undefined, variance: p.variance ?? 1, maxPaths: p.maximumPaths ?? 4,
    interfaces, originate, ...(p.stub && { stub: stubFlags(p.stub) }),
  };
}
