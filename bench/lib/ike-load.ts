// IKEv1 load driver for bench/ike.mjs (bundled there by esbuild). Modes:
//   inproc POLICY SECONDS        two IkeV1Managers back to back in this process; main mode + quick mode
//                                 exchanges 16 at a time; the responder's handleDatagram time is measured
//   responder LOCAL POLICY       our manager on UDP 500/4500 of LOCAL (as in a hub); prints 'ready'
//   initiator LOCAL PEER POLICY N CONC   N exchanges (main + quick mode) to PEER, CONC at a time
// Each prints one JSON line. POLICY: seed003 (IOS defaults DES/SHA-1/group 1, esp-aes esp-sha-hmac) or
// strong (AES-256/SHA-256/group 14, esp-aes 256 esp-sha256-hmac), IKEv1; v2-modp2048 (AES-CBC-256/
// SHA-256/MODP 2048) or v2-x25519 (AES-GCM-128/PRF-SHA-256/X25519), IKEv2: one exchange is then
// IKE_SA_INIT + IKE_AUTH with its Child SA (esp-aes esp-sha-hmac).
import type { CryptoConfig } from '../../appliance/config/model.js';
import { IkeV1Manager } from '../../appliance/ike/manager/ike-v1.js';
import { startIkeUdp } from '../../appliance/ike/transport/udp.js';
import type { IkeSaV1 } from '../../appliance/ike/sa/ike-sa-v1.js';
import { ikeV2Policy, type IkeV2Policy, type IkeV2ProposalSettings } from '../../appliance/ike/config-v2.js';
import { IkeV2Manager } from '../../appliance/ike/manager/ike-v2.js';
import { startIkeV2Udp } from '../../appliance/ike/transport/udp-v2.js';

const POLICIES: Record<string, () => CryptoConfig> = {
  seed003: () => crypto({}, ['esp-aes', 'esp-sha-hmac']),
  strong: () => crypto({ encryption: 'aes 256', hash: 'sha256', group: 14 }, ['esp-aes 256', 'esp-sha256-hmac']),
};

function crypto(policy: object, transforms: string[]): CryptoConfig {
  return {
    lines: [],
    isakmpPolicies: [{ priority: 10, authentication: 'pre-share', ...policy }],
    isakmpKeys: [{ key: 'P4ssw0rd', address: '0.0.0.0', mask: '0.0.0.0' }],
    transformSets: [{ name: 'T', transforms }],
    ipsecProfiles: [{ name: 'P', transformSets: ['T'] }],
  } as CryptoConfig;
}

const V2_POLICIES: Record<string, IkeV2ProposalSettings> = {
  'v2-modp2048': { name: 'P', encryption: ['aes-cbc-256'], integrity: ['sha256'], group: [14] },
  'v2-x25519': { name: 'P', encryption: ['aes-gcm-128'], prf: ['sha256'], group: [31] },
};

function v2(proposal: IkeV2ProposalSettings): IkeV2Policy {
  const r = ikeV2Policy({ proposals: [proposal], keyring: [{ name: 'all', address: '0.0.0.0', mask: '0.0.0.0', key: 'P4ssw0rd' }],
    transformSets: [{ name: 'T', transforms: ['esp-aes', 'esp-sha-hmac'] }] });
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const [mode, ...args] = process.argv.slice(2);
const policyName = mode === 'inproc' || mode === 'responder' ? (mode === 'inproc' ? args[0] : args[1]) : args[2];
const isV2 = policyName in V2_POLICIES;

if (isV2 && mode === 'inproc') await inprocV2(v2(V2_POLICIES[args[0]]), Number(args[1] ?? 5));
else if (mode === 'inproc') await inproc(POLICIES[args[0]](), Number(args[1] ?? 5));
else if (mode === 'responder') await responder(udpStarter(args[0], args[1]));
else if (mode === 'initiator') await initiator(udpStarter(args[0], args[2]), args[1], Number(args[3]), Number(args[4] ?? 8));
else { process.stderr.write('usage: ike-load inproc|responder|initiator ...\n'); process.exit(2); }

interface Endpoint { initiate(peer: string): unknown; handleDatagram(d: Uint8Array, a: string, port: number, localPort: number): void; close(): void }
type ToPeer = (d: Uint8Array, address: string, port: number) => void;
/** Two managers back to back: `ini` sends with `toR`, `res` with `toI`; `finished(ok)` once per exchange. */
type MakePair = (toR: ToPeer, toI: ToPeer, finished: (ok: boolean) => void) => { ini: Endpoint; res: Endpoint };

/** Managers are replaced every BATCH exchanges so the SA tables stay the size a hub's would. */
async function inprocLoop(make: MakePair, seconds: number): Promise<void> {
  const BATCH = 64, CONC = 16;
  let responderMs = 0, done = 0, failed = 0;
  const end = performance.now() + seconds * 1000;
  const wallStart = performance.now();
  while (performance.now() < end) {
    const queue: Array<{ to: 'i' | 'r'; d: Uint8Array; port: number }> = [];
    let started = 0, finished = 0;
    const { ini, res } = make((d, _a, port) => queue.push({ to: 'r', d, port }), (d, _a, port) => queue.push({ to: 'i', d, port }),
      (ok) => { finished++; if (ok) done++; else failed++; });
    while (finished < BATCH) {
      while (started - finished < CONC && started < BATCH) { ini.initiate('10.9.0.2'); started++; }
      const m = queue.shift();
      if (!m) { await new Promise((r) => setTimeout(r, 1)); continue; }
      if (m.to === 'r') {
        const t0 = performance.now();
        res.handleDatagram(m.d, '10.9.0.1', 500, m.port);
        responderMs += performance.now() - t0;
      } else ini.handleDatagram(m.d, '10.9.0.2', 500, m.port);
    }
    ini.close(); res.close();
  }
  out({ mode: 'inproc', done, failed, responderMs, wallMs: performance.now() - wallStart });
}

/** IKEv1: main mode, then quick mode when it is established; done when the responder has the Child SA. */
function inproc(cfg: CryptoConfig, seconds: number): Promise<void> {
  return inprocLoop((toR, toI, finished) => {
    const ini: IkeV1Manager = new IkeV1Manager(cfg, '10.9.0.1', toR, () => {}, {
      established: (sa) => { ini.initiateQuick(sa); },
      failed: () => finished(false),
    });
    const res = new IkeV1Manager(cfg, '10.9.0.2', toI, () => {}, { child: () => finished(true) });
    return { ini, res };
  }, seconds);
}

/** IKEv2: IKE_SA_INIT + IKE_AUTH with the Child SA; done when the initiator has it. The 4500 transport
 *  adds the non-ESP marker the manager expects there. */
function inprocV2(policy: IkeV2Policy, seconds: number): Promise<void> {
  const marked = (to: ToPeer): ToPeer => (d, a, port) => to(port === 4500 ? new Uint8Array([0, 0, 0, 0, ...d]) : d, a, port);
  return inprocLoop((toR, toI, finished) => ({
    ini: new IkeV2Manager(policy, '10.9.0.1', marked(toR), () => {}, {
      child: (sa) => { if (sa.initiator) finished(true); },
      failed: () => finished(false),
    }),
    res: new IkeV2Manager(policy, '10.9.0.2', marked(toI), () => {}, {}),
  }), seconds);
}

/** What the UDP modes need of our manager on its sockets, IKEv1 or IKEv2 (udpStarter). */
interface UdpIke { manager: { initiate(peer: string): unknown; counters: unknown }; close(): Promise<void> }
/** `child(initiator)`: a Child SA is up (IKEv1: after quick mode, which the initiator starts itself). */
type StartUdp = (events: { child(initiator: boolean): void; failed?(): void }) => Promise<UdpIke>;

function udpStarter(local: string, policy: string): StartUdp {
  if (policy in V2_POLICIES) {
    return (ev) => startIkeV2Udp(v2(V2_POLICIES[policy]), local, { events: { child: (sa) => ev.child(sa.initiator), failed: () => ev.failed?.() } });
  }
  return async (ev) => {
    let manager: IkeV1Manager | undefined;
    const ike = await startIkeUdp(POLICIES[policy](), local, { events: {
      established: (sa: IkeSaV1) => { if (sa.initiator) manager?.initiateQuick(sa); },
      child: (sa: IkeSaV1) => ev.child(sa.initiator),
      failed: () => ev.failed?.(),
    } });
    manager = ike.manager;
    return ike;
  };
}

async function responder(start: StartUdp): Promise<void> {
  let children = 0;
  const ike = await start({ child: () => { children++; } });
  out({ ready: true });
  process.on('SIGTERM', () => { out({ children, counters: ike.manager.counters }); void ike.close().then(() => process.exit(0)); });
}

async function initiator(start: StartUdp, peer: string, n: number, conc: number): Promise<void> {
  let started = 0, done = 0, failed = 0;
  const t0 = performance.now();
  const ike = await start({
    child: (initiator) => { if (initiator) { done++; next(); } },
    failed: () => { failed++; next(); },
  });
  let resolve!: () => void;
  const finished = new Promise<void>((r) => { resolve = r; });
  function next(): void {
    while (started - done - failed < conc && started < n) { ike.manager.initiate(peer); started++; }
    if (done + failed >= n) resolve();
  }
  next();
  await finished;
  out({ mode: 'initiator', done, failed, wallMs: performance.now() - t0 });
  process.exit(0);
}
