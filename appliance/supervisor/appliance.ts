// One appliance: loads the startup-config, checks all of it can be applied (preflight), then applies
// it atomically (interfaces, sysctls, routes, tunnel data plane, NHRP): a failure part-way rolls back
// what was applied (apply-journal.ts) and names the config line. A tunnel whose source address is not
// on any interface yet stays down (logged, shown) and comes up when the address appears.
import fs from 'node:fs';
import { parseStartupConfig, originLine } from '../config/load.js';
import type { ApplianceConfig, TunnelConfig, EthernetConfig, StaticRoute } from '../config/model.js';
import { resolveOsNames, ruleOsName, legacyOsName } from '../config/interfaces.js';
import { availableParallelism } from 'node:os';
import { dataplaneWorkers } from '../config/grammar-dataplane.js';
import { parseInterfaceName, isLoopback } from '../cli/ifname.js';
import type { TunnelParams } from './dataplane-host.js';
import { Log } from '../log/log.js';
import { setInterface, routeReplace, routeDelete, interfaceExists, createLoopback, deleteLink, linkState, restoreLink, SystemError, type KernelRoute } from './system.js';
import { maskToLen } from '../net/ipv4.js';
import { planIpsec, IpsecPlanError, type PlannedSa } from './ipsec-plan.js';
import { Overlay } from './overlay.js';
import { KeyStore } from './key-store.js';
import { pkiRefusal } from './exec-pki.js';
import { isOverlayRoute } from './addressing.js';
import { ApplyJournal } from './apply-journal.js';
import { SendUsage } from './send-usage.js';
import { presentSourceAddress, pollEvery, followAddressChanges, peersToReresolve, reresolveOnceRegistered, type TunnelSource } from './tunnel-source.js';
import type { ExecContext } from './exec-context.js';
import { readSas } from '../dataplane/sa.js';
import { incompleteTunnel, type Plan } from './apply-plan.js';
import { applyLive, type LiveHost, type LiveResult, type PlacedRoute } from './live-config.js';
import { addressOverlap } from './addressing.js';
import { RoutingService, TranslateError } from './routing.js';
import { EigrpService } from './eigrp.js';
import { frrDirFor } from '../routing/frr/daemons.js';
import { KernelTable } from '../routing/kernel-table.js';
import { loadNative } from '../io/native.js';
import type { PeerCertCheck } from '../ike/tasks/v2/cert-auth.js';

export class ConfigError extends Error {}

/** The tunnel source follows the kernel's address events; this poll only catches a missed one. */
const SOURCE_SAFETY_POLL_MS = 10000;
/** How often a static route whose next hop is unreachable is tried again. */
const INACTIVE_ROUTE_RETRY_MS = 2000;
/** The kernel's answers for a next hop that is not on a connected network (yet): not a config error. */
const NEXT_HOP_UNREACHABLE = /Nexthop has invalid gateway|Network is unreachable/;

/** A step of apply that failed, with the config object it was applying (for the line number). */
class ApplyError extends Error {
  constructor(readonly origin: object | undefined, message: string) { super(message); }
}

/** An underlay route kept out of the kernel while its next hop is unreachable, by this key. */
const inactiveKey = (kr: KernelRoute) => `${kr.prefix}/${kr.len} via ${kr.via}`;

export class Appliance {
  config!: ApplianceConfig;
  tunnel?: TunnelConfig;
  overlay?: Overlay;
  /** why the configured tunnel is not running (undefined when it runs or none is configured) */
  tunnelDown?: string;
  osNames = new Map<string, string>();
  readonly log: Log;
  /** The kernel's main table, addresses and links (netlink): the source of the overlay FIB, NHRP's
   *  decisions and `show ip route`; subscribe to it for changes (docs/routing.md). */
  readonly kernel: KernelTable;
  readonly startedAt = Date.now();
  private sourceText: string[] = [];
  private plan?: Plan;
  private stopSourceWatch?: () => void;
  /** Peers the tunnel talked to before its source address went or changed: resolved again once it is back. */
  private peersToResolve: string[] = [];
  /** Underlay static routes whose next hop is not reachable now: kept, retried, installed when it is (IOS keeps them out of the RIB). */
  private readonly inactiveRoutes = new Map<string, KernelRoute>();
  private inactiveTimer?: NodeJS.Timeout;
  private lastWaitMessage?: string;
  private readonly sendUsage = new SendUsage(() => Object.values(this.nhrp?.counters().out ?? {}).reduce((a, b) => a + b, 0));

  /** OSPF and BGP on FRR (supervisor/routing.ts); `frrDir`: its state directory, unique per appliance */
  readonly routing: RoutingService;
  /** EIGRP: our own speaker per `router eigrp` process (supervisor/eigrp.ts) */
  readonly eigrp: EigrpService;
  /** private keys of `crypto key generate`, next to the startup-config (key-store.ts) */
  readonly keys: KeyStore;
  /** the box's further say over IKEv2 peer certificates, asked at every IKE_AUTH (the hub's enrollment
   *  server, set by dmvpnd once it runs: device certificates only while their key is enrolled) */
  certAccepted?: PeerCertCheck;

  constructor(private readonly opts: { configPath: string; pcapPath?: string; frrDir?: string }) {
    this.log = new Log(() => this.config?.hostname ?? 'dmvpn');
    this.routing = new RoutingService(opts.frrDir ?? frrDirFor('/run/dmvpnd.sock'), this.log.facility('ROUTING'));
    this.kernel = new KernelTable({
      netlinkOpen: (g, cb) => loadNative().netlinkOpen(g, cb), netlinkSend: (id, b) => loadNative().netlinkSend(id, b),
      netlinkClose: (id) => loadNative().netlinkClose(id), netlinkStats: (id) => loadNative().netlinkStats(id),
    }, (level, msg) => this.log.emit('IPRT', level, 'KERNEL', msg));
    this.eigrp = new EigrpService(this.kernel, this.log.facility('EIGRP'));
    this.keys = new KeyStore(`${opts.configPath}.keys`, (m) => this.log.emit('PKI', 'warn', 'KEYSTORE', m));
  }

  /** Parses the config file; throws ConfigError listing every bad line. Applies nothing. */
  load(): ApplianceConfig {
    let text: string;
    try { text = fs.readFileSync(this.opts.configPath, 'utf8'); }
    catch (e) { throw new ConfigError(`cannot read ${this.opts.configPath}: ${(e as Error).message}`); }
    this.sourceText = text.split(/\r?\n/);
    const r = parseStartupConfig(text);
    if (!r.ok) {
      const lines = r.errors.map((e) => `${this.opts.configPath}:${e.line}: ${e.message}\n    ${e.text}`);
      throw new ConfigError(`config refused, nothing applied:\n${lines.join('\n')}`);
    }
    return r.config;
  }

  async start(): Promise<void> {
    const config = this.load();
    this.config = config;
    for (const i of config.inactive) this.log.emit('CONFIG', 'notice', 'INACTIVE', `line ${i.line}: "${i.text.trim()}" accepted, not active: ${i.reason}`);
    const plan = this.preflight(config);
    await this.kernel.start();
    this.plan = plan;
    this.osNames = plan.osNames;
    this.tunnel = plan.tunnel;
    const journal = new ApplyJournal();
    try {
      await this.apply(plan, journal);
    } catch (e) {
      if (!(e instanceof ApplyError || e instanceof SystemError)) throw e;
      this.overlay = undefined;
      const { undone, failed } = await journal.rollback();
      const line = e instanceof ApplyError && e.origin ? originLine(e.origin) : undefined;
      const where = line ? `${this.opts.configPath}:${line}: "${this.sourceText[line - 1]?.trim()}": ` : '';
      throw new ConfigError(`config apply failed, rolled back (${undone.length} changes undone${failed.length ? `; could not undo: ${failed.join('; ')}` : ''}):\n${where}${e.message}`);
    }
    this.log.emit('SYS', 'notice', 'CONFIG_I', `configured from ${this.opts.configPath}`);
    await this.applyRouting();
  }

  /** FRR follows the running config; a failure to start it is logged, the rest keeps running (as a crashed daemon would). */
  private async applyRouting(): Promise<void> {
    try { await this.routing.apply(this.config, (n) => this.routingOsName(n, this.osNames, this.tunnel)); }
    catch (e) { this.log.emit('ROUTING', 'error', 'FRR', `FRR not running: ${(e as Error).message}`); }
    try { await this.eigrp.apply(this.config, (n) => this.routingOsName(n, this.osNames, this.tunnel)); }
    catch (e) { this.log.emit('EIGRP', 'error', 'START', `EIGRP not running: ${(e as Error).message}`); }
  }

  /** The OS interface of an IOS interface name the routing config uses (the tunnel's TUN has its IOS name). */
  private routingOsName(ios: string, osNames: Map<string, string>, tunnel: TunnelConfig | undefined): string | undefined {
    return tunnel && tunnel.name.toLowerCase() === ios.toLowerCase() ? tunnel.name : osNames.get(ios) ?? this.routeDev(ios, osNames);
  }

  /** Everything that can be checked before touching the system. */
  private preflight(config: ApplianceConfig, live = false): Plan {
    const ethernets = config.interfaces.filter((i): i is EthernetConfig => i.kind === 'ethernet');
    const tunnels = config.interfaces.filter((i): i is TunnelConfig => i.kind === 'tunnel');
    const names = resolveOsNames(ethernets, interfaceExists);
    if (!names.ok) throw new ConfigError(`config refused, nothing applied:\n${names.errors.join('\n')}`);
    const osNames = names.names;
    try { RoutingService.check(config, (n) => this.routingOsName(n, osNames, tunnels[0])); } catch (e) {
      if (e instanceof TranslateError) throw new ConfigError(`config refused, nothing applied: ${e.message}`);
      throw e;
    }
    if (tunnels.length > 1) throw new ConfigError(`only one tunnel interface per appliance is supported; found ${tunnels.map((t) => t.name).join(', ')}`);
    const tunnel = tunnels[0];
    const overlap = addressOverlap(config.interfaces);
    if (overlap) throw new ConfigError(`config refused, nothing applied: ${overlap}`);
    for (const r of config.routes) {
      if (r.iface && !isOverlayRoute(r, tunnel) && !this.routeDev(r.iface, osNames)) {
        throw new ConfigError(`config refused, nothing applied: line ${originLine(r) ?? '?'}: ip route ${r.prefix} ${r.mask} ${r.iface}: no such interface`);
      }
    }
    if (!tunnel) return { ethernets, osNames };
    const down = tunnel.shutdown ? 'administratively down' : live ? incompleteTunnel(tunnel) : undefined;
    if (down) return { ethernets, osNames, tunnel, down };
    if (!tunnel.address) throw new ConfigError(`interface ${tunnel.name}: no ip address`);
    if (tunnel.mode === 'gre-ip' && !tunnel.destination) throw new ConfigError(`interface ${tunnel.name}: tunnel mode gre ip needs a tunnel destination`);
    const source = this.sourceOf(tunnel, ethernets, osNames);
    const nhs = tunnel.nhrp.nhs[0];
    const nhsNbma = nhs && (nhs.nbma ?? tunnel.nhrp.maps.find((m) => m.tunnelIp === nhs.tunnelIp)?.nbma);
    const params: TunnelParams = {
      tunName: tunnel.name, tunnelIp: tunnel.address.address, prefixLen: maskToLen(tunnel.address.mask), source: source.address ?? '', mtu: tunnel.mtu,
      tcpMss: tunnel.tcpAdjustMss, key: tunnel.key,
      p2pDestination: tunnel.mode === 'gre-ip' ? tunnel.destination : undefined,
      nhsFallback: nhsNbma ?? (tunnel.mode === 'gre-ip' ? tunnel.destination : undefined),
      redirect: tunnel.nhrp.redirect,
      workers: dataplaneWorkers(config, availableParallelism()),
    };
    let sas: PlannedSa[];
    try { sas = planIpsec(config, tunnel); } catch (e) {
      if (e instanceof IpsecPlanError) throw new ConfigError(`config refused, nothing applied: ${e.message}`);
      throw e;
    }
    params.protected = !!tunnel.protection;
    return { ethernets, osNames, tunnel, params, sas, source };
  }

  /** `tunnel source`: an address, or an interface (of this config, or an OS interface) whose address it takes. */
  private sourceOf(t: TunnelConfig, ethernets: EthernetConfig[], osNames: Map<string, string>): TunnelSource {
    if (!t.source) throw new ConfigError(`interface ${t.name}: no tunnel source`);
    if (/^\d+\.\d+\.\d+\.\d+$/.test(t.source)) return { address: t.source };
    const e = ethernets.find((x) => x.name.toLowerCase() === t.source!.toLowerCase());
    if (e?.address) return { address: e.address.address };
    const linux = e ? osNames.get(e.name)! : this.routeDev(t.source, osNames);
    if (!linux) throw new ConfigError(`interface ${t.name}: tunnel source ${t.source}: no such interface`);
    return { linux };
  }

  /** The OS interface an `ip route ... <interface>` names, or undefined. */
  private routeDev(ios: string, osNames: Map<string, string>): string | undefined {
    const known = [...osNames].find(([n]) => n.toLowerCase() === ios.toLowerCase());
    if (known) return known[1];
    const p = parseInterfaceName(ios);
    if (!p || p.kind !== 'ethernet') return undefined;
    if (p.os) return interfaceExists(p.name) ? p.name : undefined;
    // the rules of config/interfaces.ts for an interface the config does not list: fa0-0, then eth0
    return [ruleOsName(p.name), legacyOsName(p.name)].find((os) => interfaceExists(os));
  }

  private async apply(plan: Plan, j: ApplyJournal): Promise<void> {
    j.sysctl('net.ipv4.ip_forward', '1');
    for (const e of plan.ethernets) {
      const os = plan.osNames.get(e.name)!;
      try { this.applyEthernet(e, os, j); } catch (err) { throw new ApplyError(e.address ?? e, `interface ${e.name} (${os}): ${(err as Error).message}`); }
    }
    // Underlay routes first so the first NHRP registration can reach the hub; then the tunnel.
    this.applyRoutes(plan, 'underlay', j);
    if (plan.tunnel) await this.startTunnel(plan, j);
  }

  private applyEthernet(e: EthernetConfig, os: string, j: ApplyJournal): void {
    if (isLoopback(e.name) && !interfaceExists(os)) {
      createLoopback(os);
      j.record(`interface ${os} created`, () => deleteLink(os));
    }
    j.link(os);
    setInterface(os, e.address ? `${e.address.address}/${maskToLen(e.address.mask)}` : undefined, !e.shutdown);
    // IOS answers proxy ARP by default: a neighbour with `ip route ... <interface>` on an Ethernet
    // link ARPs for every destination, and we answer for those we route elsewhere.
    j.sysctl(`net.ipv4.conf.${os}.proxy_arp`, e.noProxyArp ? '0' : '1');
    j.sysctl(`net.ipv4.neigh.${os}.proxy_delay`, '0'); // IOS answers at once, Linux waits up to 0.8 s
  }

  /** The tunnel of `plan`: up now, down waiting for its source (followed), or shut down. */
  private async startTunnel(plan: Plan, j: ApplyJournal): Promise<void> {
    this.tunnelDown = plan.down;
    if (plan.down) return;
    j.sysctl('net.ipv4.conf.all.send_redirects', '0');
    const src = presentSourceAddress(plan.source!);
    if (src) await this.bringUpTunnel(plan, src, j);
    else this.waitForSource(plan);
    this.watchSource(plan);
    j.record('tunnel source watch', () => { this.stopSourceWatch?.(); this.stopSourceWatch = undefined; });
  }

  private async bringUpTunnel(plan: Plan, src: string, j: ApplyJournal): Promise<void> {
    const tunnel = plan.tunnel!;
    plan.params!.source = src;
    const overlay = new Overlay(this.config, tunnel, plan.params!, plan.sas!, this.log, this.kernel);
    overlay.keys = this.keys.lookup;
    overlay.certAccepted = (cert) => this.certAccepted?.(cert);
    j.record(`tunnel ${tunnel.name}`, () => { if (this.overlay === overlay) this.overlay = undefined; return overlay.stop(); });
    try { await overlay.start(this.opts.pcapPath); }
    catch (e) { throw new ApplyError(tunnel, `interface ${tunnel.name}: ${(e as Error).message}`); }
    this.overlay = overlay;
    this.tunnelDown = undefined;
    this.sendUsage.start();
    this.applyRoutes(plan, 'overlay', j);
  }

  /** Tunnel source not on any interface yet: the tunnel stays down (line protocol down on IOS) until it is. */
  private waitForSource(plan: Plan): void {
    const t = plan.tunnel!;
    const what = plan.source!.address ?? `address of ${t.source}`;
    this.tunnelDown = `tunnel source ${what} is not on any interface`;
    this.log.emit('TUNNEL', 'warn', 'DOWN', `${t.name}: ${this.tunnelDown}; the tunnel stays down until it appears`);
  }

  /** Follows the tunnel source address on every address or link change: up when it appears, down when it goes, restarted when it changes. */
  private watchSource(plan: Plan): void {
    this.stopSourceWatch = followAddressChanges(this.kernel, SOURCE_SAFETY_POLL_MS, () => this.followSource(plan),
      (e) => this.log.emit('TUNNEL', 'error', 'WATCH', `${plan.tunnel!.name}: ${e.message}`));
  }

  private async followSource(plan: Plan): Promise<void> {
    const src = presentSourceAddress(plan.source!);
    const t = plan.tunnel!;
    if (this.overlay) {
      if (src === plan.params!.source) return;
      // IOS: the tunnel's line protocol goes down with its source; dynamic NHRP state goes with it.
      // A new address (DHCP, PPPoE): the tunnel restarts on it at once (tunnel-source.ts).
      const overlay = this.overlay;
      this.overlay = undefined;
      // kept across a moment without any address (a DHCP client deletes the old lease, then adds the new)
      this.peersToResolve = peersToReresolve(overlay.nhrp);
      if (src) {
        this.log.emit('TUNNEL', 'notice', 'NBMA', `${t.name}: tunnel source address changed from ${plan.params!.source} to ${src}: ` +
          'restarting on it and registering at once');
      }
      await overlay.stop();
      if (!src) { this.waitForSource(plan); return; }
    }
    if (!src) return;
    const j = new ApplyJournal();
    try {
      await this.bringUpTunnel(plan, src, j);
      this.log.emit('TUNNEL', 'notice', 'UP', `${t.name}: tunnel source ${src} is present: tunnel up`);
      this.lastWaitMessage = undefined;
      const peers = this.peersToResolve;
      this.peersToResolve = [];
      const overlay = this.overlay!;
      reresolveOnceRegistered(overlay.nhrp, peers, (fn) => overlay.onNhsChange(fn), (n) =>
        this.log.emit('NHRP', 'notice', 'NBMA', `registered from NBMA ${src}: resolving the ${n} peers we knew again`));
    } catch (e) {
      this.overlay = undefined;
      await j.rollback();
      const msg = `${t.name}: could not start with source ${src}: ${(e as Error).message}`;
      if (msg !== this.lastWaitMessage) this.log.emit('TUNNEL', 'error', 'DOWN', msg);
      this.lastWaitMessage = msg;
      this.tunnelDown = (e as Error).message;
    }
  }

  get nhrp() { return this.overlay?.nhrp; }
  get dataplane() { return this.overlay?.dataplane; }
  get ipsec() { return this.overlay?.ipsec; }
  get tunnelSource() { return this.overlay?.params.source ?? this.plan?.source?.address; }

  private applyRoutes(plan: Plan, which: 'underlay' | 'overlay', j: ApplyJournal, routes: StaticRoute[] = this.config.routes): void {
    for (const r of routes) {
      const { kernel: kr, viaTunnel } = this.placeRoute(r, plan);
      const len = kr.len;
      if ((which === 'overlay') !== viaTunnel) continue;
      try { routeReplace(kr); } catch (e) {
        const msg = (e as Error).message;
        if (viaTunnel || !r.nextHop || !NEXT_HOP_UNREACHABLE.test(msg)) throw new ApplyError(r, msg);
        this.keepInactive(kr, j);
        continue;
      }
      j.route(kr); // through the tunnel: the overlay FIB follows the kernel route (routing/overlay-fib.ts)
    }
  }

  /** How the kernel carries a static route under `plan`. */
  private placeRoute(r: StaticRoute, plan: Plan): PlacedRoute {
    const t = plan.tunnel, len = maskToLen(r.mask);
    const viaTunnel = isOverlayRoute(r, t);
    // IOS static routes have distance 1: a connected route (metric 0) to the same prefix wins.
    // through the tunnel the next hop goes into the kernel too: the overlay FIB takes it from there
    const kernel: KernelRoute = viaTunnel ? { prefix: r.prefix, len, via: r.nextHop, dev: t!.name, metric: r.distance }
      : { prefix: r.prefix, len, via: r.nextHop, dev: r.iface ? this.routeDev(r.iface, plan.osNames) : undefined, metric: r.distance ?? 1 };
    return { route: r, kernel, viaTunnel };
  }

  /**
   * A static route whose next hop is not on a connected network yet (a WAN still coming up) is not a
   * config error on IOS: the route stays in the config, out of the routing table, until the next hop
   * resolves. Same here: logged once, retried every INACTIVE_ROUTE_RETRY_MS, logged when installed.
   */
  private keepInactive(kr: KernelRoute, j: ApplyJournal): void {
    const key = inactiveKey(kr);
    this.inactiveRoutes.set(key, kr);
    this.log.emit('IPRT', 'warn', 'INACTIVE', `ip route ${key}: next hop not reachable now; the route is kept and installed when it is`);
    j.record(`inactive route ${key}`, () => { this.inactiveRoutes.delete(key); });
    this.inactiveTimer ??= pollEvery(INACTIVE_ROUTE_RETRY_MS, async () => this.retryInactiveRoutes(),
      (e) => this.log.emit('IPRT', 'error', 'INACTIVE', e.message));
  }

  private retryInactiveRoutes(): void {
    for (const [key, kr] of this.inactiveRoutes) {
      try { routeReplace(kr); } catch { continue; }
      this.inactiveRoutes.delete(key);
      this.log.emit('IPRT', 'notice', 'ACTIVE', `ip route ${key}: next hop reachable, route installed`);
    }
    if (!this.inactiveRoutes.size) { clearInterval(this.inactiveTimer); this.inactiveTimer = undefined; }
  }

  /** Percent of the NHRP max-send budget (100 packets / 10 s) used in the last 10 seconds. */
  nhrpSendUsage(): number { return this.sendUsage.percent(); }

  /** The OS interface a configured interface drives (for show commands). */
  osNameOf(name: string): string | undefined { return this.osNames.get(name); }

  /** What exec commands (show, clear, debug) may see and do: read-only views, not this object. */
  execContext(): ExecContext {
    return {
      startedAt: this.startedAt,
      config: () => this.config,
      tunnel: () => this.tunnel,
      tunnelSource: () => this.tunnelSource,
      overlayUp: () => !!this.overlay && this.overlay.lineProtocol.up,
      osNameOf: (name) => this.osNameOf(name),
      kernel: () => this.kernel,
      nhrp: () => this.nhrp,
      nhrpSendUsage: () => this.nhrpSendUsage(),
      dataplaneCounters: () => this.dataplane?.counters(),
      dataplaneWorkers: () => this.dataplane?.workerStats(),
      ipsecSas: () => {
        const dp = this.dataplane, ipsec = this.ipsec;
        const o = this.overlay;
        return dp && ipsec && o ? { rows: readSas(dp.buffer, dp.layoutInfo), nameOf: (i) => o.saNameOf(i), originOf: (i) => o.saOriginOf(i) } : undefined;
      },
      ike: () => this.overlay?.ikeView(),
      logLines: () => this.log.recent(),
      debugOn: (facility) => { this.log.debugEnabled.add(facility); },
      debugOffAll: () => { this.log.debugEnabled.clear(); },
      reconfigure: (next) => this.reconfigure(next),
      dataplaneForTest: () => this.dataplane,
      routingJson: (command) => this.routing.vtyshJson(command),
      routingDaemons: () => this.routing.status(),
      eigrpSpeakers: () => this.eigrp.speakers(),
      keyStore: () => this.keys,
      clearEigrpNeighbors: () => this.eigrp.clearNeighbors(this.config, (n) => this.routingOsName(n, this.osNames, this.tunnel)),
    };
  }

  /** Configuration mode: apply a whole candidate config at run time, or refuse it and change nothing
   *  (live-config.ts). One at a time: the control socket serialises sessions' lines. */
  async reconfigure(next: ApplianceConfig): Promise<LiveResult> {
    const pki = pkiRefusal(this.config, next, this.keys);
    if (pki) return { ok: false, message: pki };
    const r = await applyLive(this.liveHost(), next);
    if (r.ok) await this.applyRouting(); // regenerates FRR's files; restarts only the daemons whose file changed
    return r;
  }

  /** What live apply may do here (the parts of start() it reuses, one change at a time). */
  private liveHost(): LiveHost {
    const self = this;
    return {
      get config() { return self.config; },
      get plan() { return self.plan ?? { ethernets: [], osNames: new Map() }; },
      validate: (next) => {
        try { return { ok: true, plan: this.preflight(next, true) }; } catch (e) {
          if (e instanceof ConfigError || e instanceof IpsecPlanError) return { ok: false, message: e.message.replace(/^config refused, nothing applied:\s*/, '') };
          throw e;
        }
      },
      adopt: (c, plan) => {
        this.config = c; this.plan = plan; this.osNames = plan.osNames; this.tunnel = plan.tunnel;
        this.overlay?.useConfig(c);
      },
      stopTunnel: async () => {
        this.stopSourceWatch?.(); this.stopSourceWatch = undefined;
        const o = this.overlay;
        this.overlay = undefined; this.tunnelDown = undefined;
        await o?.stop();
      },
      startTunnel: (plan, j) => this.startTunnel(plan, j),
      reconfigureNhrp: (plan) => {
        const o = this.overlay!;
        o.reconfigureNhrp(plan.tunnel!, plan.params!.nhsFallback);
        // the source watch restarts the tunnel from its plan: from the new one from now on
        plan.params!.source = o.params.source;
        this.stopSourceWatch?.();
        this.watchSource(plan);
      },
      overlayUp: () => !!this.overlay,
      reconfigureCredentials: () => this.overlay?.reconfigureCredentials(this.config) ?? [],
      ikeRunning: () => this.overlay?.ikeRunning ?? false,
      applyEthernet: (e, os, j) => this.applyEthernet(e, os, j),
      placeRoutes: (c, plan) => c.routes.map((r) => this.placeRoute(r, plan)),
      installRoutes: (plan, routes, which, j) => this.applyRoutes(plan, which, j, routes),
      forgetInactive: (kr) => { this.inactiveRoutes.delete(inactiveKey(kr)); },
      notice: (msg) => this.log.emit('CONFIG', 'notice', 'LIVE', msg),
      routeDelete, routeReplace,
      removeLoopback: (os, j) => {
        if (!interfaceExists(os)) return;
        const before = linkState(os);
        // lo<n> is ours (created by rule); an `os-interface` the operator named is only emptied
        if (/^lo\d+$/.test(os)) {
          deleteLink(os);
          j.record(`interface ${os} back`, () => { createLoopback(os); restoreLink(os, before); });
        } else {
          setInterface(os, undefined, false);
          j.record(`interface ${os} back`, () => restoreLink(os, before));
        }
      },
    };
  }

  async stop(): Promise<void> {
    this.stopSourceWatch?.();
    clearInterval(this.inactiveTimer);
    this.sendUsage.stop();
    this.stopSourceWatch = undefined;
    await this.routing.stop();
    await this.eigrp.stop();
    await this.overlay?.stop();
    this.kernel.stop();
  }
}
