// Zero-touch enrollment wired to the box (docs/enrollment.md). The hub: an enrollment server over the
// running config and key store, its state (bindings, used one-time tokens) in `<startup-config>.enroll`
// (0600, written atomically as the startup-config is), templates read next to the startup-config. The
// factory spoke: started with no startup-config and a provisioning file, it generates its Ed25519 device
// key once (the key store next to the startup-config, 0600, reused on every later start), enrolls
// until admitted and saves the answer as its startup-config, which the normal start then loads.
import fs from 'node:fs';
import path from 'node:path';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { EnrollmentServer } from '../enroll/server.js';
import { emptyState, parseState, type EnrollmentState } from '../enroll/bindings.js';
import { parseProvisioning, type Provisioning } from '../enroll/provisioning.js';
import { EnrollProgress } from '../enroll/enroll-progress.js';
import { enrollUntilAdmitted } from '../enroll/enroll-loop.js';
import { discoverHub, readLeaseFile, resolve4With } from '../enroll/discovery.js';
import { followHubClock } from '../enroll/hub-clock.js';
import { stepClockWithDate } from '../supervisor/ntp-client.js';
import { DEVICE_KEY_LABEL } from '../enroll/template.js';
import { keyId } from '../enroll/issue.js';
import { shortKey } from '../enroll/service.js';
import { certificateRequest } from '../ike/pki/csr.js';
import { writeFileAtomic, saveStartupConfig, readStartupConfig, readFileBounded } from '../supervisor/startup-config.js';
import { CertRenewal } from '../enroll/cert-renewal.js';
import { CrlFetcher } from '../enroll/crl-fetch.js';
import { MAX_CRL_FILE } from '../enroll/crl-file.js';
import type { RolloverKeys } from '../enroll/key-rollover.js';
import type { ExecContext } from '../supervisor/exec-context.js';
import type { KeyStore } from '../supervisor/key-store.js';
import { ConfigError } from '../supervisor/appliance.js';
import type { Level } from '../log/log.js';

type Log = (level: Level, mnemonic: string, text: string) => void;

/** a template larger than this is refused (a spoke config is a few kB) */
const MAX_TEMPLATE = 64 * 1024;

/** The hub's server (listening only once `dmvpn enrollment` is complete); undefined when its state file
 *  is damaged: a state that cannot be read must not hand out addresses bound to other devices. */
export function boxEnrollmentServer(ctx: ExecContext, configPath: string, log: Log): EnrollmentServer | undefined {
  const file = `${configPath}.enroll`;
  let state: EnrollmentState = emptyState();
  if (fs.existsSync(file)) {
    let text: string;
    // a state file that cannot be read (a directory, no permission, an I/O error) is reported like one
    // that does not parse: the box runs without the enrollment server instead of not starting at all
    try { text = fs.readFileSync(file, 'utf8'); } catch (e) { log('error', 'STATE', `enrollment state ${file} unreadable (${(e as Error).message}): no enrollment server until it is repaired or removed`); return undefined; }
    const s = parseState(text);
    if (typeof s === 'string') { log('error', 'STATE', `enrollment state ${file} unreadable (${s}): no enrollment server until it is repaired or removed`); return undefined; }
    state = s;
  }
  const dir = path.dirname(configPath);
  const server = new EnrollmentServer({
    running: () => ctx.config(),
    keys: () => ctx.keyStore?.()?.lookup,
    address: () => ctx.tunnelSource(),
    template: (name) => readFileBounded(path.join(dir, name), MAX_TEMPLATE, `template ${name}`),
    state,
    save: (s) => writeFileAtomic(file, JSON.stringify({ version: 1, ...s }, null, 1) + '\n'),
    log,
  });
  server.start();
  return server;
}

/** The provisioning file read and the device key made (once, kept in the key store): what the enrollment
 *  needs, and the record the console shows while it runs (enroll-progress.ts). Throws (nothing written)
 *  when the provisioning file is unusable. */
export interface FactoryBox { prov: Provisioning; key: KeyObject; progress: EnrollProgress }

export function prepareFactoryBox(keys: KeyStore, provisionPath: string, log: Log): FactoryBox {
  const prov = parseProvisioning(fs.readFileSync(provisionPath, 'utf8'));
  if (typeof prov === 'string') throw new ConfigError(`provisioning file ${provisionPath}: ${prov}`);
  if (!keys.lookup(DEVICE_KEY_LABEL)) {
    keys.generate('ed25519', DEVICE_KEY_LABEL, 256);
    log('notice', 'DEVICE_KEY', `device key ${DEVICE_KEY_LABEL} generated (Ed25519), kept in ${keys.file}`);
  }
  const key = createPrivateKey(keys.lookup(DEVICE_KEY_LABEL)!.pem);
  return { prov, key, progress: new EnrollProgress(prov.token, shortKey(keyId(createPublicKey(key).export({ type: 'spki', format: 'der' })))) };
}

/** Enrolls a box that has no startup-config (prepareFactoryBox's); resolves true once the answer is
 *  saved as `configPath`, false when the operator stopped it (`dmvpn enrollment stop`: nothing saved).
 *  The hub is the provisioning file's, or discovered from the DHCP lease the udhcpc hook wrote
 *  (DMVPN_DHCP_LEASE); the clock is set from the hub's answer when the box owns its clock
 *  (DMVPN_SET_CLOCK=1, as for NTP). */
export async function enrollFactoryBox(box: FactoryBox, configPath: string, env: NodeJS.ProcessEnv, log: Log): Promise<boolean> {
  const { prov, key, progress } = box;
  const leaseFile = env.DMVPN_DHCP_LEASE;
  log('notice', 'START', `no startup-config: enrolling (token ${prov.token}, device key ${progress.view().deviceKey}); hub ${prov.hub ?? `from DHCP option 43 or DNS (lease ${leaseFile ?? 'file not set: DMVPN_DHCP_LEASE'})`}`);
  const address = await enrollUntilAdmitted(prov, key, certificateRequest(key, 'CN=dmvpn-device'), {
    log,
    observer: progress,
    locate: () => discoverHub(prov, { readLease: () => readLeaseFile(leaseFile), resolve4: resolve4With, log: (text) => log('error', 'DISCOVERY', text) }),
    followClock: (hubMs) => followHubClock(hubMs, { setClock: env.DMVPN_SET_CLOCK === '1' ? stepClockWithDate : undefined, log }),
    save: (text) => saveStartupConfig(configPath, text),
    baseMs: Number(env.DMVPN_ENROLL_RETRY_MS ?? 2000), capMs: Number(env.DMVPN_ENROLL_RETRY_CAP_MS ?? 300_000),
  });
  if (address === undefined) log('notice', 'STOPPED', 'zero-touch enrollment stopped by the operator (dmvpn enrollment stop); nothing saved: the factory default starts, and the provisioning file is used again at the next start without a startup-config');
  return address !== undefined;
}

/** The key store's operations a key rollover needs (enroll/key-rollover.ts); each throws without a key store. */
function rolloverKeys(store: () => KeyStore | undefined): RolloverKeys {
  const ks = () => { const k = store(); if (!k) throw new Error('no key store'); return k; };
  return {
    staged: (label, serial) => store()?.staged(label, serial)?.pem,
    generate: async (label, kind, bits, serial) => (await ks().generateAsync(kind, label, bits, serial)).pem,
    settle: (label) => ks().settle(label),
    drop: (label) => { ks().zeroize(label); },
    has: (label) => store()?.lookup(label) !== undefined,
  };
}

/** The renewal of certificates whose trustpoint says `auto-enroll` and `enrollment url` (an enrolled
 *  spoke's, template.ts): runs on every box, idle without such a trustpoint. */
export function boxCertRenewal(ctx: ExecContext, startupPath: string, log: Log): CertRenewal {
  const r = new CertRenewal({
    config: () => ctx.config(),
    keyPem: (label) => ctx.keyStore?.()?.lookup(label)?.pem,
    keys: rolloverKeys(() => ctx.keyStore?.()),
    apply: (next) => ctx.reconfigure(next),
    readStartup: () => readStartupConfig(startupPath),
    saveStartup: (text) => saveStartupConfig(startupPath, text),
    log,
  });
  r.start();
  return r;
}

/** The spoke's CRL fetcher (enroll/crl-fetch.ts) for the trustpoints with an `enrollment url`: its
 *  `check` goes into IKE's PeerCertCheck; a new revocation takes down the SAs it refuses. The CRLs held
 *  are kept in `<config>.crls` (0600, written atomically), beside the key store `<config>.keys`. */
export function boxCrlFetcher(ctx: ExecContext, configPath: string, log: Log): CrlFetcher {
  const file = `${configPath}.crls`;
  const f = new CrlFetcher({
    config: () => ctx.config(),
    log,
    tearDown: (check) => ctx.ike()?.clearRefused?.(check) ?? [],
    storage: {
      where: file,
      // bounded before it is read (parseCrlFile bounds the text too)
      read: () => (fs.existsSync(file) ? readFileBounded(file, MAX_CRL_FILE, 'the file') : undefined),
      write: (text) => writeFileAtomic(file, text),
    },
  });
  f.start();
  return f;
}
