// One appliance: loads the startup-config, checks it can be applied, applies it (interfaces,
// tunnel data plane, NHRP, routes), and serves exec commands. Failure before apply leaves the
// system untouched; failure during apply is reported and the process exits, never half-running.
import fs from 'node:fs';
import { parseStartupConfig } from '../config/load.js';
import type { ApplianceConfig, TunnelConfig, EthernetConfig, StaticRoute } from '../config/model.js';
import type { TunnelParams } from './dataplane-host.js';
import { Log } from './log.js';
import { setInterface, routeReplace, maskToLen, interfaceExists, interfaceAddresses, enableForwarding, SystemError } from './system.js';
import { ipToU32 } from '../dataplane/layout.js';
import { ExecCommands } from './exec.js';
import { planIpsec, IpsecPlanError, type PlannedSa } from './ipsec-plan.js';
import { Overlay } from './overlay.js';
import { isOverlayRoute } from './addressing.js';

export class ConfigError extends Error {}

export class Appliance {
  config!: ApplianceConfig;
  tunnel?: TunnelConfig;
  overlay?: Overlay;
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

  get nhrp() { return this.overlay?.nhrp; }
  get dataplane() { return this.overlay?.dataplane; }
  get ipsec() { return this.overlay?.ipsec; }
  get tunnelSource() { return this.overlay?.params.source; }

  private async startTunnel(tunnel: TunnelConfig, params: TunnelParams, sas: PlannedSa[]): Promise<void> {
    this.overlay = new Overlay(this.config, tunnel, params, sas, this.log);
    await this.overlay.start(this.opts.pcapPath);
  }

  private applyRoutes(routes: StaticRoute[], which: 'underlay' | 'overlay'): void {
    const t = this.tunnel;
    for (const r of routes) {
      const len = maskToLen(r.mask);
      const viaTunnel = isOverlayRoute(r, t);
      if ((which === 'overlay') !== viaTunnel) continue;
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
    await this.overlay?.stop();
  }
}
