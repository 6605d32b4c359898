// Firmware push wired to the running appliance (docs/firmware.md): the hub's server and push
// (firmware/push-service.ts) when the box has a serve directory, and the spoke's reporter
// (firmware/push-client.ts) when it has an updater. Both see the appliance through the ExecContext:
// the tunnel address, the registered NHRP peers, the NHS that answered us.
import fs from 'node:fs';
import path from 'node:path';
import { PushService } from '../firmware/push-service.js';
import { PushClient } from '../firmware/push-client.js';
import { FIRMWARE_PORT } from '../firmware/report.js';
import { MAX_PUSH_FILE } from '../firmware/push-store.js';
import { writeFileAtomic, readFileBounded } from '../supervisor/startup-config.js';
import type { FirmwareService } from '../firmware/update.js';
import type { ExecContext } from '../supervisor/exec-context.js';
import type { Level } from '../log/log.js';

type Log = (level: Level, mnemonic: string, text: string) => void;

const tunnelAddress = (ctx: ExecContext) => (ctx.overlayUp() ? ctx.tunnel()?.address?.address : undefined);

/** The spokes registered with us now: dynamic entries learnt from Registration Requests. */
function registeredPeers(ctx: ExecContext): string[] {
  return (ctx.nhrp()?.cacheEntries() ?? []).filter((e) => e.type === 'dynamic' && e.flags.registered && e.nbma).map((e) => e.tunnelIp);
}

/** The hub side: the commands on every box with a firmware key; the server only while the serve
 *  directory (DMVPN_FIRMWARE_SERVE, /data/firmware/serve) exists: `firmware fetch` creates it. A push
 *  is kept beside that directory (push-state.json, 0600, written atomically) and taken up by the next
 *  supervisor. */
export function boxPushService(ctx: ExecContext, env: NodeJS.ProcessEnv, log: Log): PushService | undefined {
  const dir = env.DMVPN_FIRMWARE_SERVE ?? '/data/firmware/serve';
  const keyFile = env.DMVPN_FIRMWARE_KEY ?? '/etc/dmvpn-firmware.pub';
  if (!fs.existsSync(keyFile)) return undefined; // off the image and unconfigured: no firmware at all
  let publicKeyPem: string;
  try { publicKeyPem = fs.readFileSync(keyFile, 'utf8'); } catch (e) {
    log('error', 'PUSH', `no firmware push: the public key is unreadable (${(e as Error).message})`);
    return undefined;
  }
  const stateFile = path.join(path.dirname(dir), 'push-state.json');
  const store = {
    load: () => (fs.existsSync(stateFile) ? readFileBounded(stateFile, MAX_PUSH_FILE, stateFile) : undefined),
    save: (text: string) => { fs.mkdirSync(path.dirname(stateFile), { recursive: true }); writeFileAtomic(stateFile, text); },
  };
  const s = new PushService({ dir, port: Number(env.DMVPN_FIRMWARE_PORT ?? FIRMWARE_PORT), publicKeyPem, log, store,
    tunnelAddress: () => tunnelAddress(ctx), registeredPeers: () => registeredPeers(ctx),
    rate: Number(env.DMVPN_FIRMWARE_SERVE_RATE ?? 0), waveTimeoutMs: env.DMVPN_FIRMWARE_WAVE_S ? Number(env.DMVPN_FIRMWARE_WAVE_S) * 1000 : undefined });
  s.start();
  return s;
}

/** The spoke side, on a box with an updater: reports to the NHS that answered our registration. */
export function boxPushClient(ctx: ExecContext, fw: FirmwareService, env: NodeJS.ProcessEnv, log: Log): PushClient {
  const c = new PushClient(fw, { log, port: Number(env.DMVPN_FIRMWARE_PORT ?? FIRMWARE_PORT),
    hub: () => {
      const local = tunnelAddress(ctx);
      const nhs = (ctx.nhrp()?.nhsStatus() ?? []).find((s) => s.up && s.tunnelIp);
      return local && nhs?.tunnelIp ? { address: nhs.tunnelIp, local } : undefined;
    } });
  c.start();
  return c;
}
