// From the operator's configuration (config/model-eigrp.ts) to a speaker's options: which interfaces
// run EIGRP (`network` statements with wildcard, or classful without), which are passive, their
// per-interface rules (split horizon, next-hop-self), timers and authentication keys, the networks we
// originate (and those `redistribute static|connected` adds as external routes, with the configured
// metric or the exit interface's), stub flags and load-balancing knobs; interface `bandwidth` and
// `delay` set the metric's inputs. Classic and named mode land in the same shape.
import { inPrefix, ipToU32, maskToLen, networkOf } from '../../net/ipv4.js';
import type { ApplianceConfig } from '../../config/model.js';
import type { EigrpInterfaceSettings, EigrpProcess, EigrpRedistribute, EigrpStub } from '../../config/model-eigrp.js';
import { connectedVector, PS_PER_TEN_US } from './metric.js';
import type { PathVector } from './metric.js';
import type { EigrpAuthKey } from './auth.js';
import type { SpeakerInterface, SpeakerOptions } from './speaker.js';
import { ExternalProtocol, StubFlag } from './types.js';

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

/** An interface's metric inputs: its kind's IOS default, or its `bandwidth` / `delay` lines. */
function costOf(cfg: ApplianceConfig, i: ApplianceConfig['interfaces'][number]): { bandwidth: number; delay: number; mtu: number } {
  const l = cfg.eigrp?.links?.find((x) => x.iface === i.name);
  const dflt = i.kind === 'tunnel' ? TUNNEL : ETHERNET;
  return { bandwidth: l?.bandwidth ?? dflt.bandwidth, delay: l?.delay ?? dflt.delay, mtu: i.kind === 'tunnel' ? i.mtu : 1500 };
}

/** `metric BW DELAY REL LOAD MTU` as a path vector (delay in tens of microseconds). */
const metricVector = (m: NonNullable<EigrpRedistribute['metric']>): PathVector =>
  ({ bandwidth: m[0], delay: m[1] * PS_PER_TEN_US, reliability: m[2], load: m[3], mtu: m[4], hopCount: 0 });

/** Routes `redistribute static|connected` brings in as external: connected networks no `network`
 *  statement covers, static routes (default route included) from the config. Without `metric` a route
 *  takes its exit interface's (IOS for connected and static routes); a static whose exit interface is
 *  unknown (next hop on no configured subnet) is left out. */
function redistributed(cfg: ApplianceConfig, p: EigrpProcess, routerId: string): SpeakerOptions['originate'] {
  const out: SpeakerOptions['originate'] = [];
  const up = cfg.interfaces.filter((i) => i.address && !i.shutdown);
  const ext = (protocol: number) => ({ originRouter: routerId, originAs: p.asn, tag: 0, externalMetric: 0, protocol, flags: 0 });
  for (const r of p.redistribute) {
    const given = r.metric && metricVector(r.metric);
    if (r.source === 'connected') {
      for (const i of up) {
        if (p.networks.some((n) => networkCovers(n, i.address!.address))) continue; // already internal
        const len = maskToLen(i.address!.mask);
        out.push({ prefix: networkOf(i.address!.address, len), len, iface: i.name, vector: given ?? connectedVector({ ...costOf(cfg, i), wide: p.name !== undefined }), external: ext(ExternalProtocol.Connected) });
      }
      continue;
    }
    for (const s of cfg.routes) {
      const exit = up.find((i) => i.name === s.iface) ?? up.find((i) => s.nextHop && inPrefix(s.nextHop, networkOf(i.address!.address, maskToLen(i.address!.mask)), maskToLen(i.address!.mask)));
      if (!exit && !given) continue;
      const len = maskToLen(s.mask);
      out.push({ prefix: networkOf(s.prefix, len), len, iface: exit?.name ?? '', vector: given ?? connectedVector({ ...costOf(cfg, exit!), wide: p.name !== undefined }), external: ext(ExternalProtocol.Static) });
    }
  }
  return out;
}

/** `running`: the router-id of this process if it already runs. Without `eigrp router-id`, IOS picks
 *  the highest address when the process starts and keeps it while it runs: a `network` statement that
 *  brings in a higher address does not change it (that would restart the process). */
export function speakerOptions(cfg: ApplianceConfig, p: EigrpProcess, running?: string): SpeakerOptions {
  const interfaces: SpeakerInterface[] = [];
  const originate: SpeakerOptions['originate'] = [];
  for (const i of cfg.interfaces) {
    if (!i.address || i.shutdown || !p.networks.some((n) => networkCovers(n, i.address!.address))) continue;
    const s = settingsFor(cfg, p, i.name);
    const len = maskToLen(i.address.mask);
    const passive = p.name !== undefined ? !!s?.passive : (p.passiveDefault ? !p.passive.includes(i.name) : p.passive.includes(i.name));
    const si: SpeakerInterface = {
      name: i.name, address: i.address.address, prefixLen: len, ...costOf(cfg, i),
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
  const routerId = p.routerId ?? (running && running !== '0.0.0.0' ? running : highest);
  originate.push(...redistributed(cfg, p, routerId));
  return {
    asn: p.asn, routerId, wide: p.name !== undefined, variance: p.variance ?? 1, maxPaths: p.maximumPaths ?? 4,
    interfaces, originate, ...(p.stub && { stub: stubFlags(p.stub) }),
  };
}
