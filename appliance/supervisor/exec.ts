// Exec-mode commands of a running appliance, registered in the same command tree as the config
// grammar (appliance/cli/), so abbreviations, `?` and errors behave the same on every surface. They
// see the appliance only through an ExecContext (exec-context.ts) and format with appliance/show/.
import { CliSession, type CliHost } from '../console/session.js';
import type { ControlSession } from './control.js';
import { isConfigMode } from '../config/modes.js';
import type { Args } from '../cli/tree.js';
import { formatDmvpn } from '../show/dmvpn.js';
import { formatNhrp } from '../show/nhrp.js';
import { formatDataplaneWorkers } from '../show/dataplane-workers.js';
import { formatNhs } from '../show/nhrp-nhs.js';
import { formatNhrpTraffic } from '../show/nhrp-traffic.js';
import { formatDataplaneCounters } from '../show/counters.js';
import { formatCryptoIpsecSa } from '../show/crypto-ipsec.js';
import { formatIsakmpSa, formatCryptoSession } from '../show/crypto-isakmp.js';
import { formatInterfaceBrief } from '../show/interfaces.js';
import { formatIpRoute } from '../show/ip-route.js';
import { frrRibMetrics, routeRows } from './exec-routes.js';
import { formatInterfaces } from '../show/interfaces-detail.js';
import { interfaceViews } from './exec-interfaces.js';
import { dmvpnInterface, nhrpEntries } from './views.js';
import { linkStatus } from './system.js';
import type { ExecContext } from './exec-context.js';
import { testHookCommands } from './test-hooks.js';
import { systemCommands, versionText, type SystemOptions } from './exec-system.js';
import { routingCommands, eigrpRibMetrics } from './exec-routing.js';
import { firmwareCommands } from './exec-firmware.js';
import { pkiCommands } from './exec-pki.js';
import { firmwarePushCommands } from './exec-firmware-push.js';
import { enrollmentCommands } from './exec-enroll.js';
import { formatPkiCrls } from '../show/crypto-pki-crls.js';
import { formatPkiTrustpointsStatus } from '../show/crypto-pki.js';

type Handler = (a: Args) => string | Promise<string>;

const NEEDS_SESSION = 'Configuration mode needs a session: `dmvpnctl -` (lines from stdin) or the console';

/** The tunnel name shown when none is configured (IOS shows the interface it would be). */
const NO_TUNNEL = 'Tunnel0';

export class ExecCommands {
  private readonly table: Record<string, Handler>;
  /** commands typed in global config that are no config line (crypto key generate, crypto pki authenticate|import) */
  private readonly configTable: NonNullable<CliHost['configExec']>;

  constructor(private readonly ctx: ExecContext, private readonly system?: SystemOptions) {
    // every show command also answers `<command> json`
    const both = (spec: string, f: (json: boolean) => string | Promise<string>): Record<string, Handler> =>
      ({ [spec]: () => f(false), [`${spec} json`]: () => f(true) });
    const pki = pkiCommands({ config: () => ctx.config(), reconfigure: (n) => ctx.reconfigure(n), keys: () => ctx.keyStore?.() });
    this.configTable = pki.configExec;
    this.table = {
      ...pki.exec, // show crypto key mypubkey, show crypto pki certificates|trustpoints (exec-pki.ts)
      ...both('show dmvpn', (json) => formatDmvpn(this.dmvpnView(), json ? 'json' : 'default')),
      ...both('show dmvpn detail', (json) => formatDmvpn(this.dmvpnView(), json ? 'json' : 'detail')),
      ...both('show ip interface brief', (json) => formatInterfaceBrief(this.interfaceBrief(), json)),
      ...both('show interfaces', (json) => formatInterfaces(interfaceViews(ctx), json)),
      'show interfaces {name:iface}': (a) => this.oneInterface(a.p.name, false),
      'show interfaces {name:iface} json': (a) => this.oneInterface(a.p.name, true),
      ...both('show ip route', async (json) => formatIpRoute(await this.routesWithFrr(), { legend: true }, json)),
      ...both('show ip route static', (json) => formatIpRoute(this.routes().filter((r) => r.code === 'S'), { legend: false }, json)),
      ...both('show ip route eigrp', (json) => formatIpRoute(this.routes().filter((r) => r.code === 'D'), { legend: false }, json)),
      ...both('show ip route connected', (json) => formatIpRoute(this.routes().filter((r) => r.code === 'C' || r.code === 'L'), { legend: false }, json)),
      ...both('show ip route nhrp', async (json) => formatIpRoute((await this.routesWithFrr()).filter((r) => r.code === 'H' || r.override), { legend: false }, json)),
      ...both('show ip nhrp', (json) => formatNhrp(this.nhrpView(), json ? 'json' : 'default')),
      ...both('show ip nhrp detail', (json) => formatNhrp(this.nhrpView(), json ? 'json' : 'detail')),
      ...both('show ip nhrp brief', (json) => formatNhrp(this.nhrpView(), json ? 'json' : 'brief')),
      ...both('show ip nhrp nhs', (json) => this.nhs(json)),
      ...both('show ip nhrp traffic', (json) => formatNhrpTraffic(ctx.tunnel()?.name ?? NO_TUNNEL, ctx.nhrpSendUsage(),
        ctx.nhrp()?.counters() ?? { in: {}, out: {}, drops: {}, refused: {} }, json)),
      ...both('show dataplane counters', (json) => formatDataplaneCounters(ctx.dataplaneCounters() ?? {}, json)),
      ...both('show dataplane workers', (json) => formatDataplaneWorkers(ctx.dataplaneWorkers() ?? [], json)),
      ...both('show crypto ipsec sa', (json) => this.cryptoSa(json)),
      ...both('show crypto isakmp sa', (json) => formatIsakmpSa((ctx.ike()?.sas() ?? []).filter((s) => s.version !== 2), json)), // IKEv2: show crypto ikev2 sa
      ...both('show crypto session', (json) => formatCryptoSession(ctx.tunnel()?.name ?? NO_TUNNEL, ctx.tunnelSource() ?? '0.0.0.0',
        ctx.ike()?.sas() ?? [], ctx.ike()?.children() ?? [], json)),
      'show crypto ikev2 sa': () => ctx.ike()?.ikev2Sa?.(false) ?? '% IKEv2 is not running (no tunnel protection with set ikev2-profile)\n',
      'show crypto ikev2 sa detail': () => ctx.ike()?.ikev2Sa?.(true) ?? '% IKEv2 is not running (no tunnel protection with set ikev2-profile)\n',
      ...both('show crypto isakmp statistics', (json) => formatDataplaneCounters(ctx.ike()?.counters() ?? {}, json)),
      'clear crypto sa': () => { ctx.ike()?.clear(); return ''; },
      'clear crypto sa peer {ip:ipv4}': (a) => { ctx.ike()?.clear(a.p.ip); return ''; },
      'clear crypto isakmp': () => { ctx.ike()?.clearIsakmp(); return ''; },
      'clear crypto isakmp {id:range:1-32766}': (a) => { ctx.ike()?.clearIsakmp(Number(a.p.id)); return ''; },
      'debug crypto isakmp': () => { ctx.debugOn('isakmp'); return 'Crypto ISAKMP debugging is on\n'; },
      'show logging': () => ctx.logLines().join('\n') + '\n',
      'show version': () => this.version(),
      ...both('show ip nhrp shortcut', (json) => formatNhrp(this.nhrpView().filter((e) => e.flags.includes('rib')), json ? 'json' : 'default')),
      'clear ip nhrp': () => { ctx.nhrp()?.clearCache(); return ''; },
      'debug nhrp': () => { ctx.debugOn('nhrp'); return 'NHRP protocol debugging is on\n'; },
      'undebug all': () => { ctx.debugOffAll(); return 'All possible debugging has been turned off\n'; },
      ...testHookCommands(() => ctx.dataplaneForTest()),
      ...routingCommands(ctx), // show ip ospf neighbor, show ip bgp summary, show routing daemons (exec-routing.ts)
      ...(system ? systemCommands(ctx, system) : {}), // write memory, show startup-config, reload (exec-system.ts)
      ...(system?.firmware ? firmwareCommands(system.firmware) : {}), // firmware update, show firmware (exec-firmware.ts)
      ...(system?.firmwarePush ? firmwarePushCommands(system.firmwarePush) : {}), // firmware push, show firmware push
      ...(system?.enrollment ? enrollmentCommands(system.enrollment, () => ctx.ike()) : {}), // show dmvpn enrollment, approve, clear binding
      ...(system?.crls ? both('show crypto pki crls', (json) => formatPkiCrls(system.crls!(), json)) : {}), // the spoke's CRLs (enroll/crl-view.ts)
      // certificates, keys and (an enrolled spoke) the renewal of each trustpoint
      ...both('show crypto pki trustpoints status', (json) => formatPkiTrustpointsStatus(ctx.config()?.crypto.pki, system?.renewals?.() ?? [], json)),
    };
  }

  /** Runs one command line in a fresh privileged session (a one-shot control request). Configuration
   *  needs a session that lasts (dmvpnctl -, the console): a one-shot line cannot leave config mode.
   *  Synchronous, for the commands that are (tests); the control socket uses runAsync(). */
  run(line: string): string {
    const s = this.oneShotSession();
    return this.oneShotEnd(s, s.feed(line));
  }

  /** As run(), for every command, also those that wait for another process (vtysh, key generation)
   *  without blocking the event loop the NHRP and IKE timers run on. */
  async runAsync(line: string): Promise<string> {
    const s = this.oneShotSession();
    return this.oneShotEnd(s, await s.feedAsync(line));
  }

  private oneShotSession(): CliSession {
    return this.newSession(true, () => ({ ok: false, message: NEEDS_SESSION }));
  }

  /** A one-shot line's output, with why it could not finish (a paste, config mode). */
  private oneShotEnd(s: CliSession, out: string): string {
    if (s.pasting) return `${out}% A pasted certificate needs a session: \`dmvpnctl -\` (the command, the PEM lines, quit) or the console\n`;
    return isConfigMode(s.mode.id) ? `${out}% ${NEEDS_SESSION}\n` : out;
  }

  /** A lasting CLI session (control-socket session, console): config lines are applied live. Lines of
   *  all sessions run one at a time, so each candidate config is built from the config running then. */
  session(privileged: boolean): ControlSession {
    const s = this.newSession(privileged, (next) => this.ctx.reconfigure(next));
    return {
      feed: (line) => { const r = this.lines.then(() => s.feedAsync(line)); this.lines = r.catch(() => undefined); return r; },
      complete: (line) => s.complete(line),
      get prompt() { return s.prompt; },
      get closed() { return s.closed; },
    };
  }

  private lines: Promise<unknown> = Promise.resolve();

  private newSession(privileged: boolean, applyConfig: CliHost['applyConfig']): CliSession {
    return new CliSession({ hostname: () => this.hostname(), getConfig: () => this.ctx.config(), applyConfig, exec: this.table, configExec: this.configTable }, { privileged });
  }

  private now() { return Date.now(); }
  private hostname() { return this.ctx.config()?.hostname ?? 'dmvpn'; }

  private dmvpnView() {
    const t = this.ctx.tunnel(), n = this.ctx.nhrp();
    if (!t) return { interfaces: [] };
    // a point-to-point GRE tunnel (Phase 1) is a spoke even without an NHS, as on IOS
    const spoke = t.nhrp.nhs.length > 0 || t.mode === 'gre-ip';
    const extra = { address: t.address?.address, source: this.ctx.tunnelSource(), destination: t.mode === 'gre-ip' ? t.destination : undefined,
      protect: t.protection?.profile, up: !t.shutdown, lineUp: this.ctx.overlayUp() };
    // tunnel down (source address missing): no NHRP sessions
    if (!n) return { interfaces: [{ name: t.name, type: spoke ? 'Spoke' as const : 'Hub' as const, peers: [], ...extra }] };
    return { interfaces: [dmvpnInterface(t.name, spoke, n.cacheEntries(), n.nhsStatus(), this.now(), extra)] };
  }

  private oneInterface(name: string, json: boolean): string {
    const v = interfaceViews(this.ctx).filter((i) => i.name.toLowerCase() === name.toLowerCase());
    return v.length ? formatInterfaces(v, json) : `% Interface ${name} is not configured\n`;
  }

  private interfaceBrief() {
    const rows = this.ctx.config()?.interfaces.map((i) => {
      const st = i.kind === 'tunnel' ? { adminUp: !i.shutdown, protocolUp: !i.shutdown && this.ctx.overlayUp() }
        : linkStatus(this.ctx.osNameOf(i.name) ?? i.name);
      return { name: i.name, address: i.address?.address, ...st };
    }) ?? [];
    return rows.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  }

  /** `show ip route` rows with FRR's O/B distances and metrics (a vtysh run) when OSPF or BGP runs. */
  private async routesWithFrr() {
    const c = this.ctx.config();
    return this.routes(c.ospf || c.bgp ? frrRibMetrics(await this.ctx.routingJson?.('show ip route json')) : undefined);
  }

  /** `show ip route` rows: the kernel table in IOS terms, with the NHRP shortcuts (exec-routes.ts);
   *  `frrRib`: FRR's distances and metrics (routesWithFrr; not for shows without O/B rows). */
  private routes(frrRib?: Map<string, { distance: number; metric: number }>) {
    const ctx = this.ctx, k = ctx.kernel(), t = ctx.tunnel(), c = ctx.config();
    const daemonRib = frrRib ?? new Map<string, { distance: number; metric: number }>();
    for (const sp of ctx.eigrpSpeakers?.() ?? []) {
      for (const [prefix, m] of eigrpRibMetrics(sp, c.eigrp?.processes.find((p) => p.asn === sp.o.asn)?.distance)) daemonRib.set(prefix, m);
    }
    return routeRows({ daemonRib, linkUp: (dev) => k.link(dev)?.lowerUp !== false,
      routes: k.routes(), addresses: k.addresses(), since: (r) => k.since(r), now: this.now(), tunnelName: t?.name,
      iosName: (dev) => c.interfaces.find((i) => i.kind !== 'tunnel' && ctx.osNameOf(i.name) === dev)?.name ?? dev,
      shortcuts: (ctx.nhrp()?.cacheEntries() ?? []).filter((e) => e.flags.rib && e.via)
        .map((e) => ({ prefix: e.tunnelIp, len: e.prefixLen, via: e.via!, created: e.created })),
    });
  }

  private nhrpView() {
    const t = this.ctx.tunnel(), n = this.ctx.nhrp();
    return t && n ? nhrpEntries(t.name, n.cacheEntries(), this.now()) : [];
  }

  private nhs(json: boolean): string {
    const t = this.ctx.tunnel();
    return formatNhs({ iface: t?.name ?? NO_TUNNEL, nhs: this.ctx.nhrp()?.nhsStatus() ?? [], now: this.now(),
      configOf: (ip) => t?.nhrp.nhs.find((n) => n.tunnelIp === ip) }, json);
  }

  private cryptoSa(json: boolean): string {
    const t = this.ctx.tunnel(), sas = this.ctx.ipsecSas();
    if (!sas || !t) return json ? '[]\n' : '';
    return formatCryptoIpsecSa({ ...sas, iface: t.name, local: this.ctx.tunnelSource() ?? '0.0.0.0' }, json);
  }

  private version(): string {
    return versionText(this.hostname(), this.ctx.startedAt, this.system, this.now());
  }
}
