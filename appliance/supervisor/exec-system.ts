// Exec commands about the box itself rather than the tunnel: saving and showing the startup-config,
// `show version` facts (release, boot slot), and reload (reload.ts). Where the startup-config lives
// and what a reload does come from dmvpnd (SystemOptions), so the same commands serve the image and
// a daemon in a namespace.
import fs from 'node:fs';
import path from 'node:path';
import type { Args } from '../cli/tree.js';
import { renderConfig } from '../config/render.js';
import type { ExecContext } from './exec-context.js';
import { saveStartupConfig, readStartupConfig } from './startup-config.js';
import { ReloadTimer } from './reload.js';
import { formatVersion } from '../show/version.js';
import type { FirmwareService } from '../firmware/update.js';
import type { PushService } from '../firmware/push-service.js';
import type { EnrollmentServer } from '../enroll/server.js';
import type { CrlView } from '../enroll/crl-view.js';
import type { RenewalStatus } from '../enroll/cert-renewal.js';

export interface SystemOptions {
  /** the file `write memory` writes and the next start loads */
  startupConfig: string;
  /** what a reload does (reboot on the image, a supervisor restart otherwise) */
  reload(reason: string): void;
  /** keeps a pending `reload in` across supervisor restarts (the image: /run/dmvpn/reload-at) */
  reloadStateFile?: string;
  /** `show ntp status|associations` (supervisor/ntp-client.ts) */
  ntp?: { status(): string; associations(): string };
  /** `show version` lines: the firmware release and the slot booted (absent off the image) */
  release?: string;
  slot?: string;
  /** the firmware updater (the image only): `firmware update`, `show firmware` (exec-firmware.ts) */
  firmware?: FirmwareService;
  /** the hub's firmware push (a box with a serve directory): `firmware push`, `show firmware push` */
  firmwarePush?: PushService;
  /** the hub's enrollment server: `show dmvpn enrollment`, `dmvpn enrollment approve` (exec-enroll.ts) */
  enrollment?: EnrollmentServer;
  /** the CRLs the box holds (enroll/crl-fetch.ts): `show crypto pki crls` */
  crls?: () => CrlView;
  /** the renewals of the trustpoints that renew themselves (enroll/cert-renewal.ts): `show crypto pki trustpoints status` */
  renewals?: () => RenewalStatus[];
}

type Handler = (a: Args) => string;

export function systemCommands(ctx: ExecContext, o: SystemOptions): Record<string, Handler> {
  const timer = new ReloadTimer(o.reload, o.reloadStateFile);
  const save = () => {
    try { saveStartupConfig(o.startupConfig, renderConfig(ctx.config())); } catch (e) {
      return `Building configuration...\n% Not saved: ${(e as Error).message}\n`;
    }
    return 'Building configuration...\n[OK]\n';
  };
  return {
    'copy running-config startup-config': save,
    'write memory': save,
    'write': save,
    'show startup-config': () => {
      const text = readStartupConfig(o.startupConfig);
      return text === undefined ? 'startup-config is not present\n' : `Using ${Buffer.byteLength(text)} bytes\n${text}`;
    },
    'reload': () => timer.immediate(),
    'reload in {n:range:1-14400}': (a) => timer.schedule(Number(a.p.n)),
    'reload cancel': () => timer.cancel(),
    'show reload': () => timer.show(),
    ...(o.ntp ? { 'show ntp status': () => o.ntp!.status(), 'show ntp associations': () => o.ntp!.associations() } : {}),
  };
}

/** `show version`: runtime, uptime since `startedAt`, the watchdog's restarts of the supervisor (its
 *  environment says how many and why the last) and the image's lines. */
export function versionText(hostname: string, startedAt: number, o: Pick<SystemOptions, 'release' | 'slot'> | undefined, now = Date.now()): string {
  return formatVersion({ nodeVersion: process.version, hostname, uptimeSeconds: Math.floor((now - startedAt) / 1000),
    restarts: Number(process.env.DMVPN_RESTARTS ?? 0), lastCrash: process.env.DMVPN_LAST_CRASH }) + imageVersionLines(o);
}

/** `show version` lines about the image (none when not running from it). */
function imageVersionLines(o: Pick<SystemOptions, 'release' | 'slot'> | undefined): string {
  if (!o?.release && !o?.slot) return '';
  return `${o.release ? `System image: ${o.release}\n` : ''}${o.slot ? `Booted from slot ${o.slot}\n${hardwareWatchdog()}` : ''}`;
}

/** The kernel's first watchdog timer (sysfs): its name, timeout and whether something feeds it. */
function hardwareWatchdog(dir = '/sys/class/watchdog/watchdog0'): string {
  const read = (f: string) => { try { return fs.readFileSync(path.join(dir, f), 'utf8').trim(); } catch { return undefined; } };
  const id = read('identity');
  if (id === undefined) return 'Hardware watchdog: none\n';
  return `Hardware watchdog: ${id}, timeout ${read('timeout') ?? '?'} s, ${read('state') ?? 'state unknown'}\n`;
}
