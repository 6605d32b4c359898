// dmvpnd --config FILE [--control SOCK] [--pcap FILE] [--provision FILE]: one DMVPN appliance in this
// network namespace. With --provision and no FILE yet, the box first enrolls with its hub (zero touch,
// docs/enrollment.md) and starts from the config the hub gave it.
import { Appliance, ConfigError } from '../supervisor/appliance.js';
import { serveControl, DEFAULT_CONTROL } from '../supervisor/control.js';
import { SystemError } from '../supervisor/system.js';
import { ExecCommands } from '../supervisor/exec.js';
import { EXIT } from './exit-codes.js';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { NtpClient, stepClockWithDate } from '../supervisor/ntp-client.js';
import { SyslogForwarder } from '../log/syslog.js';
import { ikeKeyLogPath, KEYLOG_ENV } from '../supervisor/ike-keylog.js';
import { frrDirFor } from '../routing/frr/daemons.js';
import { startHeartbeat } from './heartbeat.js';
import { boxFirmware, healthView, bootedAt } from './firmware-box.js';
import { boxPushService, boxPushClient } from './firmware-push-box.js';
import { boxEnrollmentServer, prepareFactoryBox, enrollFactoryBox, boxCertRenewal, boxCrlFetcher } from './enroll-box.js';
import { enrollingControl } from '../supervisor/exec-enrolling.js';
import { versionText } from '../supervisor/exec-system.js';
import type { Server } from 'node:net';
import { cutOff } from '../supervisor/exec-enroll.js';
import { existsSync } from 'node:fs';
import { uptime, hostname } from 'node:os';
import type { Level } from '../log/log.js';

function parseArgs(argv: string[]) {
  const o: { config?: string; control: string; pcap?: string; provision?: string } = { control: DEFAULT_CONTROL };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (a === '--config' && v) { o.config = v; i++; }
    else if (a === '--control' && v) { o.control = v; i++; }
    else if (a === '--pcap' && v) { o.pcap = v; i++; }
    else if (a === '--provision' && v) { o.provision = v; i++; }
    else if (a === '-h' || a === '--help') { usage(EXIT.STOPPED); }
    else { process.stderr.write(`dmvpnd: unknown or incomplete option '${a}'\n`); usage(EXIT.USAGE); }
  }
  if (!o.config) { process.stderr.write('dmvpnd: --config FILE is required\n'); usage(EXIT.USAGE); }
  return o as { config: string; control: string; pcap?: string; provision?: string };
}

function usage(code: number): never {
  process.stderr.write('usage: dmvpnd --config FILE [--control SOCK] [--pcap FILE] [--provision FILE]\n');
  process.exit(code);
}

const opts = parseArgs(process.argv.slice(2));
const fileText = (p: string | undefined) => { try { return p ? readFileSync(p, 'utf8').trim() : undefined; } catch { return undefined; } };
const app = new Appliance({ configPath: opts.config, pcapPath: opts.pcap, frrDir: process.env.DMVPN_FRR_DIR ?? frrDirFor(opts.control) });
const keyLog = ikeKeyLogPath(); // read once, here; IKE appends to it (lab only, like SSLKEYLOGFILE)
if (keyLog) app.log.emit('CRYPTO', 'warn', 'KEYLOG', `${KEYLOG_ENV} is set: IPsec keys of every IKE SA are written to ${keyLog} (lab only: anyone who reads it decrypts the traffic)`);
// zero touch: no startup-config yet, a provisioning file: enroll first (retries until admitted)
const enrolling = opts.provision !== undefined && !existsSync(opts.config);
// liveness for the hardware watchdog's feeder once started (a start-up that hangs is bounded by its
// grace), or from the start when enrolling: its wait for the hub, minutes when refused, is no hang, and
// without beats the watchdog would take it for one and reset the box
if (enrolling) startHeartbeat();
try {
  if (enrolling && !await enrollFirst()) {
    // `dmvpn enrollment stop`: nothing saved, nothing started; the image's init starts the factory default
    process.exit(EXIT.ENROLL_STOPPED);
  }
  await app.start();
} catch (e) {
  const known = e instanceof ConfigError || e instanceof SystemError || (e as { code?: string }).code !== undefined;
  process.stderr.write(`dmvpnd: ${known ? '' : 'internal error: '}${(e as Error).message}\n`);
  await app.stop().catch(() => undefined);
  // refused (config, or a system it names) is final; an internal error is a bug: the watchdog retries
  process.exit(known ? EXIT.REFUSED : EXIT.SOFTWARE);
}
if (!enrolling) startHeartbeat();

/** The factory box's enrollment, the console and dmvpnctl answering meanwhile (exec-enrolling.ts); true
 *  once the startup-config is saved, false when the operator stopped it. */
async function enrollFirst(): Promise<boolean> {
  const log = (l: Level, m: string, t: string) => app.log.emit('ENROLL', l, m, t);
  const box = prepareFactoryBox(app.keys, opts.provision!, log);
  const release = fileText(process.env.DMVPN_RELEASE_FILE), slot = fileText(process.env.DMVPN_SLOT_FILE);
  const version = () => `${versionText(hostname() || 'Router', app.startedAt, { release, slot })}Zero-touch enrollment in progress: show dmvpn enrollment\n`;
  const ctl = serveControl(opts.control, enrollingControl({ progress: box.progress, logLines: () => app.log.recent(), version }, () => hostname() || 'Router'));
  try { return await enrollFactoryBox(box, opts.config, process.env, log); } finally { await closed(ctl); }
}

/** Closes a server, waiting (at most 2 s) for the connections it still has, so that a last reply gets out. */
function closed(s: Server): Promise<void> {
  return new Promise((res) => { const t = setTimeout(res, 2000); s.close(() => { clearTimeout(t); res(); }); });
}
const restarts = Number(process.env.DMVPN_RESTARTS ?? 0);
if (restarts > 0) app.log.emit('SYS', 'warn', 'RESTART', `supervisor restarted by its watchdog (restart ${restarts}, last ${process.env.DMVPN_LAST_CRASH || 'crash'})`);
// exec commands sit above the appliance (they read it): built here, not by it, so layers import downward
// `reload`: on the image (init sets DMVPN_RELOAD_COMMAND: sync and reboot) the box reboots; elsewhere
// the supervisor stops and its watchdog starts it again from the startup-config (EXIT.RELOAD).
const reload = async (reason: string) => {
  app.log.emit('SYS', 'notice', 'RELOAD', `Reload requested. Reload Reason: ${reason}.`);
  server.close();
  firmwarePush?.stop();
  pushClient?.stop();
  enrollment?.stop();
  renewal.stop();
  crl.stop();
  await app.stop().catch(() => undefined);
  const cmd = process.env.DMVPN_RELOAD_COMMAND;
  if (cmd) try { execFileSync('/bin/sh', ['-c', cmd], { stdio: 'inherit' }); } catch { /* the reboot ends us anyway */ }
  process.exit(EXIT.RELOAD);
};
// time and logging services read the running config on every use (live changes apply at once)
const running = () => app.execContext().config();
const ntp = new NtpClient(() => running().ntp, app.log.facility('NTP'),
  process.env.DMVPN_SET_CLOCK === '1' ? stepClockWithDate : undefined, Number(process.env.DMVPN_NTP_FIRST_POLL_MS ?? 1000));
ntp.start();
const syslog = new SyslogForwarder(() => {
  const l = running().logging;
  return l && { hosts: l.hosts, trap: l.trap ?? 6, facility: l.facility ?? 'local7' };
}, () => running().hostname);
app.log.onEmit((e) => syslog.send(e));
const fwLog = (level: Level, mnemonic: string, text: string) => app.log.emit('FIRMWARE', level, mnemonic, text);
// the firmware updater on the image (firmware-box.ts); on a trial boot it commits the slot once healthy
const firmware = boxFirmware({ env: process.env, booted: fileText(process.env.DMVPN_SLOT_FILE), log: fwLog, reboot: (reason) => void reload(reason) });
firmware?.start(() => healthView(app.execContext()), Number(process.env.DMVPN_FIRMWARE_TRIAL_S ?? 300) * 1000, bootedAt(process.env.DMVPN_SLOT_FILE, uptime()));
// firmware push (docs/firmware.md): a hub with a serve directory serves bundles to its registered
// spokes over the tunnel; a box with an updater reports to its NHS and takes a push from it
const firmwarePush = boxPushService(app.execContext(), process.env, fwLog);
const pushClient = firmware && boxPushClient(app.execContext(), firmware, process.env, fwLog);
// the hub's enrollment server (listens once `dmvpn enrollment` is complete)
const enrollment = boxEnrollmentServer(app.execContext(), opts.config, (l, m, t) => app.log.emit('ENROLL', l, m, t));
// its IKE then takes a device certificate only while the key is enrolled (enroll/revocation.ts); an SA
// that came up before this line (IKE started with the appliance) is asked too
if (enrollment) cutOff(enrollment, app.execContext().ike());
// a box whose trustpoint names an enrollment server fetches its CRL, and its IKE refuses the certificates
// it lists (spoke to spoke: enroll/crl-fetch.ts)
const crl = boxCrlFetcher(app.execContext(), opts.config, (l, m, t) => app.log.emit('PKI', l, m, t));
app.certAccepted = (cert) => enrollment?.ikeCertCheck(cert) ?? crl.check(cert);
// an enrolled spoke renews its certificate before it runs out (auto-enroll, enrollment url)
const renewal = boxCertRenewal(app.execContext(), process.env.DMVPN_STARTUP_CONFIG ?? opts.config, (l, m, t) => app.log.emit('PKI', l, m, t));
const exec = new ExecCommands(app.execContext(), {
  firmware,
  firmwarePush,
  enrollment,
  crls: () => crl.view(enrollment?.service.issuedCrl()),
  renewals: () => renewal.status(),
  ntp,
  startupConfig: process.env.DMVPN_STARTUP_CONFIG ?? opts.config,
  reload: (reason) => void reload(reason),
  reloadStateFile: process.env.DMVPN_RELOAD_STATE,
  release: fileText(process.env.DMVPN_RELEASE_FILE),
  slot: fileText(process.env.DMVPN_SLOT_FILE),
});
const server = serveControl(opts.control, { run: (cmd) => exec.runAsync(cmd), openSession: (privileged) => exec.session(privileged) });
let stopping = false;
const shutdown = async (sig: string) => {
  if (stopping) return;
  stopping = true;
  app.log.emit('SYS', 'notice', 'SHUTDOWN', `${sig}: stopping`);
  server.close();
  firmwarePush?.stop();
  pushClient?.stop();
  enrollment?.stop();
  renewal.stop();
  crl.stop();
  await app.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
// A bug that escapes every handler leaves state nobody can vouch for (half-applied NHRP changes,
// a table out of step with the data plane): log it and exit non-zero; the watchdog (bin/dmvpnd)
// starts a clean supervisor and the spokes re-register. Exiting also frees the TUN and sockets.
const fatal = (what: string) => (e: unknown) => {
  const err = e instanceof Error ? e : new Error(String(e));
  try { app.log.emit('SYS', 'error', 'BUG', `${what}: ${err.stack ?? err.message}; exiting (code ${EXIT.SOFTWARE}) for the watchdog to restart`); } finally { process.exit(EXIT.SOFTWARE); }
};
process.on('uncaughtException', fatal('uncaught exception'));
process.on('unhandledRejection', fatal('unhandled promise rejection'));
// Under the watchdog: if it is gone (killed with SIGKILL), stop too rather than run unsupervised.
const watchdog = Number(process.env.DMVPN_WATCHDOG_PID ?? 0);
if (watchdog) setInterval(() => { if (process.ppid !== watchdog) void shutdown('watchdog gone'); }, 1000).unref();
