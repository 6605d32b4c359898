// Time and logging services of a branch router: `ntp server A [prefer]` (the SNTP client,
// supervisor/ntp-client.ts) and `logging host A [transport udp port N]`, `logging trap LEVEL`,
// `logging facility localN` (syslog over UDP, log/syslog.ts). Other `ntp` and `logging` lines stay
// accepted without effect (grammar.ts). Empty sections are removed from the model.
import { Node, define, CliError, Args } from '../cli/tree.js';
import type { ConfigCtx } from './modes.js';
import type { NtpConfig, LoggingConfig } from './model.js';

type Act = (ctx: ConfigCtx, a: Args) => string | void;

export const SYSLOG_LEVELS = ['emergencies', 'alerts', 'critical', 'errors', 'warnings', 'notifications', 'informational', 'debugging'];
export const DEFAULT_TRAP = 6; // IOS: informational
export const DEFAULT_FACILITY = 'local7';
export const SYSLOG_PORT = 514;
const MAX_SERVERS = 8;

const HELP: Record<string, string> = {
  ntp: 'Configure NTP', server: 'Configure NTP server', '{ip}': 'IP address of peer', prefer: 'Prefer this peer when possible',
  logging: 'Modify message logging facilities', host: 'Set syslog server IP address and parameters', '{addr}': 'IP address of the syslog server',
  transport: 'Specify the transport protocol (default=UDP)', udp: 'UDP based logging', port: 'Specify the UDP port (default=514)',
  '{port}': 'Port number', trap: 'Set syslog server logging level', facility: 'Facility parameter for syslog messages',
  ...Object.fromEntries(SYSLOG_LEVELS.map((l, i) => [l, `System ${l === 'debugging' ? 'debugging messages' : l} (severity=${i})`])),
};

function ntp(ctx: ConfigCtx): NtpConfig { return (ctx.cfg.ntp ??= { servers: [] }); }
function logging(ctx: ConfigCtx): LoggingConfig { return (ctx.cfg.logging ??= { hosts: [] }); }
function tidy(ctx: ConfigCtx): void {
  if (ctx.cfg.ntp && !ctx.cfg.ntp.servers.length) delete ctx.cfg.ntp;
  const l = ctx.cfg.logging;
  if (l && !l.hosts.length && l.trap === undefined && l.facility === undefined) delete ctx.cfg.logging;
}
const tidied = (f: Act): Act => (ctx, a) => { try { return f(ctx, a); } finally { tidy(ctx); } };

export function servicesGlobal(g: Node): void {
  const server: Act = tidied((ctx, a) => {
    const n = ntp(ctx);
    if (a.no) { n.servers = a.p.ip === undefined ? [] : n.servers.filter(s => s.address !== a.p.ip); return; }
    const entry = { address: a.p.ip, ...(a.kw.has('prefer') ? { prefer: true } : {}) };
    const i = n.servers.findIndex(x => x.address === a.p.ip);
    if (i < 0 && n.servers.length >= MAX_SERVERS) throw new CliError(`At most ${MAX_SERVERS} NTP servers`);
    if (i >= 0) n.servers[i] = entry; else n.servers.push(entry);
  });
  define(g, 'ntp server {ip:ipv4}', server, HELP);
  define(g, 'ntp server {ip:ipv4} prefer', server, HELP);

  const host: Act = tidied((ctx, a) => {
    const l = logging(ctx);
    if (a.no) { l.hosts = a.p.addr === undefined ? [] : l.hosts.filter(h => h.address !== a.p.addr); return; }
    const port = a.p.port === undefined ? undefined : Number(a.p.port);
    const entry = { address: a.p.addr, ...(port !== undefined && port !== SYSLOG_PORT ? { port } : {}) };
    const i = l.hosts.findIndex(h => h.address === a.p.addr);
    if (i >= 0) l.hosts[i] = entry; else l.hosts.push(entry);
  });
  define(g, 'logging host {addr:ipv4}', host, HELP);
  define(g, 'logging host {addr:ipv4} transport udp port {port:range:1-65535}', host, HELP);
  define(g, 'logging {addr:ipv4}', host, HELP); // the older IOS form

  const trap: Act = tidied((ctx, a) => {
    const l = logging(ctx);
    const lvl = a.p.n !== undefined ? Number(a.p.n) : SYSLOG_LEVELS.findIndex(x => a.kw.has(x));
    if (a.no || lvl === DEFAULT_TRAP) delete l.trap; else l.trap = lvl;
  });
  define(g, 'logging trap {n:range:0-7}', trap, HELP);
  for (const lvl of SYSLOG_LEVELS) define(g, `logging trap ${lvl}`, trap, HELP);

  const facility: Act = tidied((ctx, a) => {
    const l = logging(ctx);
    const f = [0, 1, 2, 3, 4, 5, 6, 7].map(i => `local${i}`).find(x => a.kw.has(x));
    if (a.no || f === DEFAULT_FACILITY) delete l.facility; else l.facility = f;
  });
  for (let i = 0; i < 8; i++) define(g, `logging facility local${i}`, facility, { ...HELP, [`local${i}`]: `Local use ${i}` });
}
