// The appliance's dynamic routing: runs FRR (routing/frr/daemons.ts) with the configuration translated
// from the running-config (routing/frr/translate.ts) whenever the appliance starts or its config
// changes, and nothing at all when no `router ospf|bgp` is configured. Shows read FRR through vtysh.
import { execFile } from 'node:child_process';
import type { ApplianceConfig } from '../config/model.js';
import { translate, daemonsFor, TranslateError } from '../routing/frr/translate.js';
import { FrrDaemons, type DaemonStatus } from '../routing/frr/daemons.js';
import type { LogFn } from '../log/log.js';

export { TranslateError };

/** How long a show waits for FRR before answering without it. */
const VTYSH_TIMEOUT_MS = 5000;
/** FRR's JSON of a full BGP table can be large; beyond this the show answers without FRR. */
const VTYSH_MAX_OUTPUT = 64 * 1024 * 1024;

export class RoutingService {
  private daemons?: FrrDaemons;

  constructor(private readonly dir: string, private readonly log: LogFn) {}

  /** Throws TranslateError when `c`'s routing config names something that does not exist. */
  static check(c: ApplianceConfig, osName: (ios: string) => string | undefined): void { translate(c, osName); }

  /** Runs FRR for `c` (or stops it when `c` configures no routing protocol). */
  async apply(c: ApplianceConfig, osName: (ios: string) => string | undefined): Promise<void> {
    if (daemonsFor(c).length === 1) { await this.stop(); return; }
    const configs = translate(c, osName);
    this.daemons ??= new FrrDaemons(this.dir, this.log);
    await this.daemons.apply(configs);
  }

  status(): DaemonStatus[] { return this.daemons?.status() ?? []; }

  /** FRR's JSON answer to `command`, or undefined when FRR is not running or does not answer. Run
   *  asynchronously: a hung FRR must not stop NHRP, IKE and the console for the timeout's 5 s. */
  vtyshJson(command: string): Promise<unknown> {
    const d = this.daemons;
    if (!d) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      execFile('vtysh', ['--vty_socket', d.dir, '-c', command], { encoding: 'utf8', timeout: VTYSH_TIMEOUT_MS, maxBuffer: VTYSH_MAX_OUTPUT },
        (err, stdout) => {
          if (err) { resolve(undefined); return; }
          try { resolve(JSON.parse(stdout)); } catch { resolve(undefined); }
        });
    });
  }

  async stop(): Promise<void> {
    const d = this.daemons;
    this.daemons = undefined;
    await d?.stop();
  }
}
