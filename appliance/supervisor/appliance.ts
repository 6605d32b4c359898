// One appliance: loads the startup-config, checks it can be applied, applies it (interfaces,
// tunnel data plane, NHRP, routes), and serves exec commands. Failure before apply leaves the
// system untouched; failure during apply is reported and the process exits, never half-running.
import fs from 'node:fs';
import { parseStartupConfig } from '../config/load.js';
import type { ApplianceConfig, TunnelConfig, EthernetConfig, StaticRoute } from '../config/model.js';
import { NhrpEngine } from '../nhrp/engine.js';
import { DataplaneHost, type TunnelParams } from './dataplane-host.js';
import { Log } from './log.js';
import { setInterface, routeReplace, maskToLen, interfaceExists, interfaceAddresses, enableForwarding, SystemError } from './system.js';
import { ipToU32, u32ToIp } from '../dataplane/layout.js';
import { ExecCommands } from './exec.js';
import { planIpsec, IpsecPlanError, type PlannedSa } from './ipsec-plan.js';
import { IpsecManager } from './ipsec.js';
import type { EspControlMessage } from '../dataplane/sa.js';

export class ConfigError extends Error {}

const inSubnet = (ip: string, net: string, len: number) =>
  len === 0 || ((ipToU32(ip) ^ ipToU32(net)) >>> (32 - len)) === 0;

export class Appliance {
  config!: ApplianceConfig;
  tunnel?: TunnelConfig;
  nhrp?: NhrpEngine;
  dataplane?: DataplaneHost;
  ipsec?: IpsecManager;
  tunnelSource?: string;
  readonly log: Log;
  readonly startedAt = Date.now();
  exec!: ExecCommands;

  constructor(private readonly opts: { configPath: string; pcapPath?: string }) {
    this.log = new Log(() => this.config?.hostname ?? 'dmvpn');
  }

  /** Parses the config file; throws ConfigError listing every bad line. Applies nothing. */
  load(): ApplianceConfig {
    let text: string;
    try { text = fs.readFileSync(this.opts.configPath, 'utf8'); }
    catch (e) { throw new ConfigError(`cannot read ${this.opts.configPath}: ${(e as Error).message}`); }
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
    this.exec = new ExecCommands(this);
    enableForwarding();
    for (const e of plan.ethernets) setInterface(e.linuxName, e.address ? `${e.address.address}/${maskToLen(e.address.mask)}` : undefined, !e.shutdown);
    // Underlay routes first so the first NHRP registration can reach the hub; then the tunnel.
    this.tunnel = plan.tunnel;
    this.applyRoutes(config.routes, 'underlay');
    if (plan.tunnel) await this.startTunnel(plan.tunnel, plan.params!, plan.sas!);
    this.applyRoutes(config.routes, 'overlay');
    this.log.emit('SYS', 'notice', 'CONFIG_I', `configured from ${this.opts.configPath}`);
  }

  /** Everything that can be checked before touching the system. */
  private preflight(config: ApplianceConfig) {
    const ethernets = config.interfaces.filter((i): i is EthernetConfig => i.kind === 'ethernet');
    const tunnels = config.interfaces.filter((i): i is TunnelConfig => i.kind === 'tunnel');
    const missing = ethernets.filter((e) => !interfaceExists(e.linuxName));
    if (missing.length) throw new ConfigError(missing.map((e) => `interface ${e.name}: no such interface on this system (Linux ${e.linuxName})`).join('\n'));
    if (tunnels.length > 1) throw new ConfigError(`only one tunnel interface per appliance is supported; found ${tunnels.map((t) => t.name).join(', ')}`);
    const tunnel = tunnels[0];
    if (!tunnel) return { ethernets };
    if (!tunnel.address) throw new ConfigError(`interface ${tunnel.name}: no ip address`);
    const source = this.resolveSource(tunnel, ethernets);
    const prefixLen = maskToLen(tunnel.address.mask);
    const nhs = tunnel.nhrp.nhs[0];
    const nhsNbma = nhs && (nhs.nbma ?? tunnel.nhrp.maps.find((m) => m.tunnelIp === nhs.tunnelIp)?.nbma);
    const params: TunnelParams = {
      tunName: tunnel.name, tunnelIp: tunnel.address.address, prefixLen, source, mtu: tunnel.mtu,
      tcpMss: tunnel.tcpAdjustMss, key: tunnel.key,
      p2pDestination: tunnel.mode === 'gre-ip' ? tunnel.destination : undefined,
      nhsFallback: nhsNbma ?? (tunnel.mode === 'gre-ip' ? tunnel.destination : undefined),
      redirect: tunnel.nhrp.redirect,
    };
    if (tunnel.mode === 'gre-ip' && !tunnel.destination) throw new ConfigError(`interface ${tunnel.name}: tunnel mode gre ip needs a tunnel destination`);
    let sas: PlannedSa[];
    try { sas = planIpsec(config, tunnel); } catch (e) {
      if (e instanceof IpsecPlanError) throw new ConfigError(`config refused, nothing applied: ${e.message}`);
      throw e;
    }
    params.protected = !!tunnel.protection;
    return { ethernets, tunnel, params, sas };
  }

  private resolveSource(t: TunnelConfig, ethernets: EthernetConfig[]): string {
    if (!t.source) throw new ConfigError(`interface ${t.name}: no tunnel source`);
    if (/^\d+\.\d+\.\d+\.\d+$/.test(t.source)) return t.source;
    const want = t.source.toLowerCase();
    const e = ethernets.find((x) => x.name.toLowerCase() === want || x.linuxName === t.source);
    if (e?.address) return e.address.address;
    const sys = e ? e.linuxName : t.source;
    const have = interfaceExists(sys) ? interfaceAddresses(sys)[0] : undefined;
    if (!have) throw new ConfigError(`interface ${t.name}: tunnel source ${t.source} has no IPv4 address`);
    return have.split('/')[0];
  }

  private async startTunnel(tunnel: TunnelConfig, params: TunnelParams, sas: PlannedSa[]): Promise<void> {
    const nhrpLog = this.log.facility('NHRP');
    const dp = new DataplaneHost({
      nhrpIn: (src, dst, pkt) => this.nhrp?.receive(src, dst, pkt),
      noEntry: (nextHop, dst) => {
        this.log.emit('NHRP', 'debug', 'NOENTRY', `no NHRP entry for next hop ${nextHop} (destination ${dst})`);
        this.nhrp?.noEntry(nextHop, dst);
      },
      trafficIndication: (srcNbma, _dst, head) => { this.nhrp?.trafficIndication(srcNbma, undefined, head); },
      esp: (msg) => this.espEvent(msg),
    }, (level, msg) => this.log.emit('DATAPLANE', level, 'EVENT', msg));
    this.dataplane = dp;
    this.tunnelSource = params.source;
    await dp.start(params, this.opts.pcapPath);
    if (params.protected) {
      this.ipsec = new IpsecManager(dp.sa, sas);
      this.ipsec.install();
      const peers = [...new Set(sas.map((s) => s.peer))];
      this.log.emit('CRYPTO', 'notice', 'IPSEC', `tunnel protection on ${tunnel.name}: ${sas.length} manual SAs installed` +
        (peers.length ? ` (peers ${peers.join(', ')})` : '') + '; GRE to a peer without an SA is dropped');
    }
    // the tunnel subnet is on-link: next hop = destination
    const net = u32ToIp((ipToU32(params.tunnelIp) & (params.prefixLen ? (~0 << (32 - params.prefixLen)) : 0)) >>> 0);
    dp.commands.fibAdd(ipToU32(net), params.prefixLen, 0);
    this.nhrp = new NhrpEngine({
      config: tunnel, tunnelIp: params.tunnelIp, tunnelPrefixLen: params.prefixLen, nbmaSource: params.source,
      send: (dst, bytes) => { if (!dp.sendNhrp(dst, bytes)) this.log.emit('NHRP', 'warn', 'SEND', `control ring full: NHRP to ${dst} dropped`); },
      peerChanged: (ev) => {
        if (ev.op === 'set' && ev.nbma) dp.commands.peerSet(ipToU32(ev.tunnelIp), ipToU32(ev.nbma), (ev.flags.static ? 1 : 0) | (ev.flags.nat ? 2 : 0));
        else dp.commands.peerDel(ipToU32(ev.tunnelIp));
        this.updateMulticast(ev.op, ev.tunnelIp, ev.nbma);
      },
      localPrefixes: () => this.localPrefixes(),
      routeLookup: (dst) => this.overlayRoute(dst),
      routes: {
        installShortcut: (prefix, len, nh) => { dp.commands.fibAdd(ipToU32(prefix), len, ipToU32(nh)); },
        removeShortcut: (prefix, len) => {
          // a configured route for the same prefix takes over again when the shortcut goes
          const same = this.config.routes.find((r) => r.prefix === prefix && maskToLen(r.mask) === len && r.nextHop);
          if (same?.nextHop) dp.commands.fibAdd(ipToU32(prefix), len, ipToU32(same.nextHop));
          else dp.commands.fibDel(ipToU32(prefix), len);
        },
      },
      log: (level, msg) => nhrpLog(level === 'warn' ? 'warn' : level === 'error' ? 'error' : level === 'debug' ? 'debug' : 'info', msg),
    });
    for (const m of tunnel.nhrp.multicast) if (m !== 'dynamic') dp.commands.mcastAdd(ipToU32(m));
    this.nhrp.start();
    this.usageTimer = setInterval(() => this.reportUsage(), 5000);
    this.usageTimer.unref();
  }

  private espEvent(m: EspControlMessage): void {
    if (m.type === 'SA_EVENT') {
      const what = m.reason === 1 ? 'soft lifetime reached (rekey needed)' : m.reason === 2 ? 'hard lifetime reached: SA stopped' : 'sequence numbers exhausted: SA stopped';
      this.log.emit('CRYPTO', m.reason === 1 ? 'notice' : 'warn', 'SA_EVENT', `SA ${this.ipsec?.nameOf(m.index) ?? m.index} spi 0x${m.spi.toString(16)}: ${what}`);
    } else if (m.type === 'SA_NEEDED') {
      this.log.emit('CRYPTO', 'warn', 'NO_SA', `no outbound SA for peer ${u32ToIp(m.nbma)}: GRE to it is dropped (IKEv2 is not available yet; configure crypto ipsec manual-sa)`);
    } else {
      this.log.emit('CRYPTO', 'debug', 'IKE', `IKE message from ${u32ToIp(m.src)}:${m.srcPort} ignored (IKEv2 not available yet)`);
    }
  }

  /** `ip nhrp map multicast dynamic`: spokes that registered with us receive tunnel multicast. */
  private updateMulticast(op: 'set' | 'del', tunnelIp: string, nbma?: string): void {
    const dp = this.dataplane, t = this.tunnel;
    if (!dp || !t?.nhrp.multicast.includes('dynamic')) return;
    const had = this.mcastMembers.get(tunnelIp);
    const registered = op === 'set' && nbma && this.nhrp?.cache.get(tunnelIp)?.flags.registered;
    if (had && had !== (registered ? nbma : undefined)) {
      this.mcastMembers.delete(tunnelIp);
      const static_ = t.nhrp.multicast.includes(had);
      if (!static_ && ![...this.mcastMembers.values()].includes(had)) dp.commands.mcastDel(ipToU32(had));
    }
    if (registered && nbma) { this.mcastMembers.set(tunnelIp, nbma); dp.commands.mcastAdd(ipToU32(nbma)); }
  }
  private readonly mcastMembers = new Map<string, string>();

  /** Connected LAN networks: what this router answers NHRP resolutions for (Phase 3). */
  private localPrefixes(): Array<{ prefix: string; len: number }> {
    return this.config.interfaces.filter((i): i is EthernetConfig => i.kind === 'ethernet' && !!i.address && !i.shutdown)
      .map((i) => {
        const len = maskToLen(i.address!.mask);
        return { prefix: u32ToIp((ipToU32(i.address!.address) & (len ? (~0 << (32 - len)) : 0)) >>> 0), len };
      });
  }

  /** Longest configured route through the tunnel for `dst`: where NHRP forwards a resolution. */
  private overlayRoute(dst: string): { nextHop: string } | undefined {
    const t = this.tunnel;
    if (!t?.address) return undefined;
    let best: { len: number; nextHop: string } | undefined;
    for (const r of this.config.routes) {
      const len = maskToLen(r.mask);
      if (!r.nextHop || !inSubnet(dst, r.prefix, len) || !inSubnet(r.nextHop, t.address.address, maskToLen(t.address.mask))) continue;
      if (!best || len > best.len) best = { len, nextHop: r.nextHop };
    }
    return best && { nextHop: best.nextHop };
  }

  /** NHRP keeps used entries and shortcuts alive: tell it which peers carried traffic lately. */
  private reportUsage(): void {
    const dp = this.dataplane, n = this.nhrp;
    if (!dp || !n) return;
    for (const p of dp.peers()) {
      const tx = Number(p.txPackets);
      const key = p.tunnelIp;
      if ((this.lastTx.get(key) ?? 0) !== tx) { this.lastTx.set(key, tx); n.markUsed(u32ToIp(p.tunnelIp)); }
    }
  }
  private readonly lastTx = new Map<number, number>();
  private usageTimer?: NodeJS.Timeout;

  private applyRoutes(routes: StaticRoute[], which: 'underlay' | 'overlay'): void {
    const t = this.tunnel;
    const tunLen = t?.address ? maskToLen(t.address.mask) : 0;
    for (const r of routes) {
      const len = maskToLen(r.mask);
      const viaTunnel = t && ((r.nextHop && t.address && inSubnet(r.nextHop, t.address.address, tunLen)) ||
        (r.iface && r.iface.toLowerCase() === t.name.toLowerCase()));
      if ((which === 'overlay') !== Boolean(viaTunnel)) continue;
      try {
        if (viaTunnel) {
          routeReplace({ prefix: r.prefix, len, dev: t!.name, metric: r.distance });
          this.dataplane!.commands.fibAdd(ipToU32(r.prefix), len, r.nextHop ? ipToU32(r.nextHop) : 0);
        } else {
          routeReplace({ prefix: r.prefix, len, via: r.nextHop, dev: r.iface ? this.linuxName(r.iface) : undefined, metric: r.distance });
        }
      } catch (e) {
        if (!(e instanceof SystemError)) throw e;
        this.log.emit('IPRT', 'warn', 'ROUTE', `ip route ${r.prefix} ${r.mask} ${r.nextHop ?? r.iface}: ${e.message}`);
      }
    }
  }

  private linuxName(iosName: string): string {
    const e = this.config.interfaces.find((i): i is EthernetConfig => i.kind === 'ethernet' && i.name.toLowerCase() === iosName.toLowerCase());
    return e?.linuxName ?? iosName;
  }

  async stop(): Promise<void> {
    clearInterval(this.usageTimer);
    this.ipsec?.stop();
    this.nhrp?.stop();
    await new Promise((r) => setTimeout(r, 50)); // let a purge/last NHRP packet leave the ring
    await this.dataplane?.stop();
  }
}
