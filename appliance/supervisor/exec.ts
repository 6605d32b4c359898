// Exec-mode commands of a running appliance, registered in the same command tree as the config
// grammar (appliance/cli/), so abbreviations, `?` and errors behave the same on every surface.
import { CliSession } from '../cli/session.js';
import type { Args } from '../cli/tree.js';
import { formatDmvpn } from '../show/dmvpn.js';
import { formatNhrp } from '../show/nhrp.js';
import { iosTime } from '../show/time.js';
import { dmvpnInterface, nhrpEntries } from './views.js';
import { formatInterfaceBrief } from '../show/interfaces.js';
import { linkStatus } from './system.js';
import type { Appliance } from './appliance.js';
import { testHookCommands } from './test-hooks.js';

type Handler = (a: Args) => string;

export class ExecCommands {
  private readonly table: Record<string, Handler>;

  constructor(private readonly app: Appliance) {
    // every show command also answers `<command> json`
    const both = (spec: string, f: (json: boolean) => string): Record<string, Handler> =>
      ({ [spec]: () => f(false), [`${spec} json`]: () => f(true) });
    this.table = {
      ...both('show dmvpn', (json) => formatDmvpn(this.dmvpnView(), json ? 'json' : 'default')),
      ...both('show dmvpn detail', (json) => formatDmvpn(this.dmvpnView(), json ? 'json' : 'detail')),
      ...both('show ip interface brief', (json) => formatInterfaceBrief(this.interfaceBrief(), json)),
      ...both('show ip nhrp', (json) => formatNhrp(this.nhrpView(), json ? 'json' : 'default')),
      ...both('show ip nhrp detail', (json) => formatNhrp(this.nhrpView(), json ? 'json' : 'detail')),
      ...both('show ip nhrp brief', (json) => formatNhrp(this.nhrpView(), json ? 'json' : 'brief')),
      ...both('show ip nhrp nhs', (json) => this.nhs(json)),
      ...both('show ip nhrp traffic', (json) => this.nhrpTraffic(json)),
      ...both('show dataplane counters', (json) => this.dataplaneCounters(json)),
      ...both('show crypto ipsec sa', (json) => this.cryptoSa(json)),
      'show logging': () => this.app.log.recent().join('\n') + '\n',
      'show version': () => this.version(),
      ...both('show ip nhrp shortcut', (json) => formatNhrp(this.nhrpView().filter((e) => e.flags.includes('rib')), json ? 'json' : 'default')),
      'clear ip nhrp': () => { this.app.nhrp?.clearCache(); return ''; },
      'debug nhrp': () => { this.app.log.debugEnabled.add('nhrp'); return 'NHRP protocol debugging is on\n'; },
      'undebug all': () => { this.app.log.debugEnabled.clear(); return 'All possible debugging has been turned off\n'; },
      ...testHookCommands(() => this.app.dataplane),
    };
  }

  /** Runs one command line in a fresh privileged session (the control socket's model). */
  run(line: string): string {
    const s = new CliSession({
      hostname: () => this.app.config?.hostname ?? 'dmvpn',
      getConfig: () => this.app.config,
      applyConfig: () => ({ ok: false, message: 'run-time configuration changes are not supported yet: edit the startup-config and restart dmvpnd' }),
      exec: this.table,
    }, { privileged: true });
    return s.feed(line);
  }

  private now() { return Date.now(); }

  private dmvpnView() {
    const t = this.app.tunnel, n = this.app.nhrp;
    if (!t) return { interfaces: [] };
    // a point-to-point GRE tunnel (Phase 1) is a spoke even without an NHS, as on IOS
    const spoke = t.nhrp.nhs.length > 0 || t.mode === 'gre-ip';
    const extra = { address: t.address?.address, source: this.app.tunnelSource, destination: t.mode === 'gre-ip' ? t.destination : undefined,
      protect: t.protection?.profile, up: !t.shutdown, lineUp: !!n };
    // tunnel down (source address missing): no NHRP sessions
    if (!n) return { interfaces: [{ name: t.name, type: spoke ? 'Spoke' as const : 'Hub' as const, peers: [], ...extra }] };
    return { interfaces: [dmvpnInterface(t.name, spoke, n.cacheEntries(), n.nhsStatus(), this.now(), extra)] };
  }

  private interfaceBrief() {
    const rows = this.app.config?.interfaces.map((i) => {
      const st = i.kind === 'tunnel' ? { adminUp: !i.shutdown, protocolUp: !i.shutdown && !!this.app.overlay }
        : linkStatus(this.app.osNameOf(i.name) ?? i.name);
      return { name: i.name, address: i.address?.address, ...st };
    }) ?? [];
    return rows.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  }

  private nhrpView() {
    const t = this.app.tunnel, n = this.app.nhrp;
    return t && n ? nhrpEntries(t.name, n.cacheEntries(), this.now()) : [];
  }

  private nhs(json: boolean): string {
    const t = this.app.tunnel, n = this.app.nhrp;
    const list = n ? n.nhsStatus() : [];
    if (json) return JSON.stringify(list) + '\n';
    const out = ['Legend: E=Expecting replies, R=Responding, W=Waiting', `${t?.name ?? 'Tunnel0'}:`];
    const cfgOf = (ip?: string) => t?.nhrp.nhs.find((n) => n.tunnelIp === ip);
    list.forEach((s) => out.push(`${s.tunnelIp ?? 'dynamic'}  ${s.flags || ' '}  priority = ${cfgOf(s.tunnelIp)?.priority ?? 0}  cluster = ${cfgOf(s.tunnelIp)?.cluster ?? 0}  req-sent ${s.requestsSent}  req-failed ${s.requestsFailed}  repl-recv ${s.repliesReceived}` +
      (s.lastReplyAt !== undefined ? ` (${iosTime(Math.floor((this.now() - s.lastReplyAt) / 1000))} ago)` : '')));
    return out.join('\n') + '\n';
  }

  private nhrpTraffic(json: boolean): string {
    const c = this.app.nhrp?.counters() ?? { in: {}, out: {}, drops: {}, refused: {} };
    if (json) return JSON.stringify(c) + '\n';
    const line = (title: string, m: Record<string, number>) =>
      `${title}: ` + (Object.keys(m).length ? Object.entries(m).map(([k, v]) => `${v} ${k}`).join(', ') : 'none');
    return [`${this.app.tunnel?.name ?? 'Tunnel0'}: Max-send limit:100Pkts/10Sec, Usage:${this.app.nhrpSendUsage()}%`,
      '   ' + line('Sent', c.out), '   ' + line('Rcvd', c.in), '   ' + line('Dropped', c.drops),
      '   ' + line('Refused', c.refused)].join('\n') + '\n';
  }

  private dataplaneCounters(json: boolean): string {
    const c = this.app.dataplane?.counters() ?? {};
    if (json) return JSON.stringify(c) + '\n';
    const rows = Object.entries(c).filter(([, v]) => v !== 0);
    const w = Math.max(8, ...rows.map(([k]) => k.length));
    return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
  }

  private cryptoSa(json: boolean): string {
    const dp = this.app.dataplane, t = this.app.tunnel;
    if (!dp || !this.app.ipsec || !t) return json ? '[]\n' : '';
    return this.app.ipsec.show(dp.buffer, dp.layoutInfo, t.name, this.app.tunnelSource ?? '0.0.0.0', json);
  }

  private version(): string {
    const up = iosTime(Math.floor((this.now() - this.app.startedAt) / 1000));
    const restarts = Number(process.env.DMVPN_RESTARTS ?? 0); // set by the watchdog (appliance/entry/watchdog.ts)
    const watchdog = restarts ? `Supervisor restarted ${restarts} times by its watchdog (last: ${process.env.DMVPN_LAST_CRASH})\n` : '';
    return `DMVPN appliance firmware, node ${process.version}\n${this.app.config?.hostname ?? 'dmvpn'} uptime is ${up}\n${watchdog}`;
  }
}
