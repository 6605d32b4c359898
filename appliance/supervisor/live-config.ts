// Configuration mode applied at run time. A session edits a candidate copy of the running config and
// hands it over whole: it is checked as at load (preflight: interface names, one tunnel, route
// interfaces, tunnel source, IPsec plan; overlapping subnets), then only the difference from the
// running config is applied, every step through an ApplyJournal. If a step fails, the journal puts
// back what was changed, the running config stays the old one, and the session prints the reason.
//
// What a difference costs:
//  * hostname, interface description: nothing but the config.
//  * LAN/WAN interface address, shutdown, proxy-arp: that interface (kernel address, link state).
//    Loopback<n> is created on first use and deleted by `no interface Loopback<n>`.
//  * static routes: each added or removed route in the kernel, and in the data-plane FIB for
//    routes through the tunnel.
//  * NHRP attributes alone (maps, NHS, holdtime, network-id, redirect, shortcut, authentication,
//    multicast) of a running tunnel: taken in place (Overlay.reconfigureNhrp): registrations and
//    other learnt entries stay, NHS clients register again at once.
//  * our own certificates alone (a renewal: `crypto pki certificate chain` without its CA certificates),
//    with or without the trustpoint's key pair label (a renewal with a new key) while the tunnel and its IKE run: IKE takes them in place (Overlay.reconfigureCredentials); SAs
//    stay up. Certificates IKE refuses refuse the change (the running ones stay).
//  * anything else of the tunnel interface (address, source, key, mode, MTU, MSS, shutdown), or the
//    crypto section while the tunnel is protected: the tunnel's overlay is restarted with the new
//    config (as IOS resets a tunnel whose source or key changes). Dynamic NHRP entries are learnt
//    again: spokes re-register, shortcuts are resolved again.
import type { ApplianceConfig, EthernetConfig, InterfaceConfig, StaticRoute } from '../config/model.js';
import type { Plan } from './apply-plan.js';
import { ApplyJournal } from './apply-journal.js';
import type { KernelRoute } from './system.js';
import { isLoopback } from '../cli/ifname.js';

export interface LiveResult { ok: boolean; message?: string }

/** A static route as the kernel carries it. */
export interface PlacedRoute { route: StaticRoute; kernel: KernelRoute; viaTunnel: boolean }

/** What live apply may do to the running appliance (Appliance.liveHost()). */
export interface LiveHost {
  readonly config: ApplianceConfig;
  readonly plan: Plan;
  /** preflight of a whole candidate; a tunnel not complete yet is planned down, not refused */
  validate(next: ApplianceConfig): { ok: true; plan: Plan } | { ok: false; message: string };
  /** make `c` the running config (and its plan); the overlay reads it from now on */
  adopt(c: ApplianceConfig, plan: Plan): void;
  /** only our own certificates changed: the running overlay's IKE takes the running config's (its
   *  notes); throws when IKE refuses them */
  reconfigureCredentials(): string[];
  /** the running overlay has IKE (a protected tunnel whose crypto was not usable runs without) */
  ikeRunning(): boolean;
  /** stop the tunnel's overlay and its source watch (no-op without a tunnel) */
  stopTunnel(): Promise<void>;
  /** start the tunnel of `plan` as at load: up now, or down waiting for its source / shut down */
  startTunnel(plan: Plan, j: ApplyJournal): Promise<void>;
  /** only NHRP attributes of the running tunnel changed: its overlay takes them in place */
  reconfigureNhrp(plan: Plan): void;
  /** the overlay runs (its routes and FIB can be edited in place) */
  overlayUp(): boolean;
  applyEthernet(e: EthernetConfig, os: string, j: ApplyJournal): void;
  /** kernel form of each static route of `c` under `plan` */
  placeRoutes(c: ApplianceConfig, plan: Plan): PlacedRoute[];
  /** install routes as at load (an unreachable next hop keeps the route inactive, retried) */
  installRoutes(plan: Plan, routes: StaticRoute[], which: 'underlay' | 'overlay', j: ApplyJournal): void;
  /** forget a route kept inactive (its next hop unreachable) */
  forgetInactive(kr: KernelRoute): void;
  /** the kernel's routing table (system.ts) */
  routeDelete(kr: KernelRoute): void;
  routeReplace(kr: KernelRoute): void;
  /** `no interface Loopback<n>`: its OS interface goes */
  removeLoopback(os: string, j: ApplyJournal): void;
  notice(msg: string): void;
}

const keyOf = (p: PlacedRoute) => JSON.stringify(p.kernel);
/** Everything the running overlay was built from: a change to any of it restarts the overlay. */
const tunnelBasis = (c: ApplianceConfig, p: Plan) =>
  JSON.stringify({ t: p.tunnel ?? null, down: p.down ?? null, src: p.source ?? null, crypto: p.tunnel?.protection ? c.crypto : null, w: p.params?.workers ?? 1 });
/** The same without the NHRP attributes: when only those differ, the running overlay takes them in place. */
const overlayBasis = (c: ApplianceConfig, p: Plan) =>
  JSON.stringify({ t: p.tunnel ? { ...p.tunnel, nhrp: null } : null, down: p.down ?? null, src: p.source ?? null, crypto: p.tunnel?.protection ? c.crypto : null, w: p.params?.workers ?? 1 });
/** The crypto config without our own certificates: what a renewal leaves as it was (`lines` is rendered
 *  from the structured fields, grammar.ts, so it is left out rather than compared). */
// our own credentials: the certificates of the chains that are not CAs, and the key-store label of each
// trustpoint's key pair (its kind stays: a key rollover, enroll/key-rollover.ts, moves certificate and
// label together, and IKE reads the key by label when it takes the new policy)
const withoutOwnCertificates = (c: ApplianceConfig): ApplianceConfig => ({
  ...c, crypto: { ...c.crypto, lines: [], pki: c.crypto.pki && { ...c.crypto.pki,
    trustpoints: c.crypto.pki.trustpoints?.map((t) => (t.keyPair ? { ...t, keyPair: { ...t.keyPair, label: '' } } : t)),
    chains: c.crypto.pki.chains?.map((ch) => ({ ...ch, certs: ch.certs.filter((x) => x.ca) })) } },
});
const ethernetBasis = (i: InterfaceConfig | undefined) =>
  i && i.kind === 'ethernet' ? JSON.stringify({ a: i.address ?? null, s: i.shutdown, p: !!i.noProxyArp }) : '';

/** Refusals live apply adds to preflight: what has no run-time meaning here. */
function liveRefusal(prev: ApplianceConfig, next: ApplianceConfig, prevPlan: Plan, plan: Plan): string | undefined {
  for (const i of prev.interfaces) {
    if (i.kind === 'ethernet' && !isLoopback(i.name) && !next.interfaces.some((n) => n.name === i.name)) {
      return `${i.name} is a physical interface: it cannot be removed (use "no ip address" and "shutdown")`;
    }
  }
  for (const [name, os] of plan.osNames) {
    const was = prevPlan.osNames.get(name);
    if (was && was !== os) return `interface ${name} drives ${was}: moving it to ${os} takes effect after a restart`;
  }
  return undefined;
}

export async function applyLive(h: LiveHost, next: ApplianceConfig): Promise<LiveResult> {
  const prev = h.config, prevPlan = h.plan;
  const v = h.validate(next);
  if (!v.ok) return { ok: false, message: v.message };
  const plan = v.plan;
  const refused = liveRefusal(prev, next, prevPlan, plan);
  if (refused) return { ok: false, message: refused };

  const j = new ApplyJournal();
  h.adopt(next, plan);
  j.record('running config', () => h.adopt(prev, prevPlan));
  const tunnelChanged = tunnelBasis(prev, prevPlan) !== tunnelBasis(next, plan);
  // IKE takes new certificates in place only where it runs; where it could not start, the restart starts it
  const certificatesOnly = tunnelChanged && h.overlayUp() && h.ikeRunning() && tunnelBasis(withoutOwnCertificates(prev), prevPlan) === tunnelBasis(withoutOwnCertificates(next), plan);
  const nhrpOnly = !certificatesOnly && tunnelChanged && h.overlayUp() && overlayBasis(prev, prevPlan) === overlayBasis(next, plan);
  const restartTunnel = tunnelChanged && !nhrpOnly && !certificatesOnly;
  let credentialNotes: string[] = [];
  try {
    if (restartTunnel) {
      await h.stopTunnel();
      j.record('the tunnel as it was', async () => {
        h.adopt(prev, prevPlan);
        await h.stopTunnel();
        if (prevPlan.tunnel) await h.startTunnel(prevPlan, new ApplyJournal());
      });
    }
    for (const gone of prevPlan.ethernets.filter((e) => isLoopback(e.name) && !plan.osNames.has(e.name))) {
      h.removeLoopback(prevPlan.osNames.get(gone.name)!, j);
    }
    for (const e of plan.ethernets) {
      const os = plan.osNames.get(e.name)!;
      if (ethernetBasis(prev.interfaces.find((i) => i.name === e.name)) === ethernetBasis(e)) continue;
      try { h.applyEthernet(e, os, j); } catch (err) { throw new Error(`interface ${e.name} (${os}): ${(err as Error).message}`); }
    }
    await applyRouteChanges(h, prev, prevPlan, next, plan, restartTunnel, j);
    if (certificatesOnly) {
      credentialNotes = h.reconfigureCredentials();
      j.record('our certificates as they were', () => { h.adopt(prev, prevPlan); h.reconfigureCredentials(); });
    }
    if (nhrpOnly) {
      h.reconfigureNhrp(plan);
      j.record('NHRP settings as they were', () => h.reconfigureNhrp(prevPlan));
    }
    if (restartTunnel && plan.tunnel) await h.startTunnel(plan, j);
  } catch (e) {
    const { failed } = await j.rollback();
    return { ok: false, message: `${(e as Error).message}; nothing changed${failed.length ? ` (could not undo: ${failed.join('; ')})` : ''}` };
  }
  if (nhrpOnly) h.notice(`${plan.tunnel!.name}: NHRP settings changed; learnt entries kept`);
  if (certificatesOnly) h.notice(`${plan.tunnel!.name}: certificates changed; IKE uses them for new SAs, established SAs kept${credentialNotes.length ? ` (${credentialNotes.join('; ')})` : ''}`);
  if (restartTunnel && plan.tunnel) h.notice(`${plan.tunnel.name}: reconfigured, tunnel ${plan.down ? `down (${plan.down})` : 'restarted'}`);
  return { ok: true };
}

/** Routes that left the config leave the kernel (and FIB); new ones are installed. Routes through a
 *  tunnel being restarted are installed by its start (they need the new TUN). */
async function applyRouteChanges(h: LiveHost, prev: ApplianceConfig, prevPlan: Plan, next: ApplianceConfig, plan: Plan,
  restartTunnel: boolean, j: ApplyJournal): Promise<void> {
  const before = h.placeRoutes(prev, prevPlan), after = h.placeRoutes(next, plan);
  const beforeKeys = new Set(before.map(keyOf)), afterKeys = new Set(after.map(keyOf));
  const editOverlay = !restartTunnel && h.overlayUp();
  for (const p of before) {
    if (afterKeys.has(keyOf(p))) continue;
    h.forgetInactive(p.kernel);
    // through the tunnel: gone with the old TUN (restart), or never installed (tunnel down)
    if (p.viaTunnel && !editOverlay) continue;
    h.routeDelete(p.kernel); // through the tunnel, the overlay FIB follows the kernel
    j.record(`route ${p.kernel.prefix}/${p.kernel.len} back`, () => h.routeReplace(p.kernel));
  }
  const added = after.filter((p) => !beforeKeys.has(keyOf(p)));
  h.installRoutes(plan, added.filter((p) => !p.viaTunnel).map((p) => p.route), 'underlay', j);
  if (editOverlay) {
    const overlay = added.filter((p) => p.viaTunnel);
    h.installRoutes(plan, overlay.map((p) => p.route), 'overlay', j);
  }
}
