// IKEv1 load driver for bench/ike.mjs (bundled there by esbuild). Modes:
//   inproc POLICY SECONDS        two IkeV1Managers back to back in this process; main mode + quick mode
//                                 exchanges 16 at a time; the responder's handleDatagram time is measured
//   responder LOCAL POLICY       our manager on UDP 500/4500 of LOCAL (as in a hub); prints 'ready'
//   initiator LOCAL PEER POLICY N CONC   N exchanges (main + quick mode) to PEER, CONC at a time
// Each prints one JSON line. POLICY: seed003 (IOS defaults DES/SHA-1/group 1, esp-aes esp-sha-hmac) or
// strong (AES-256/SHA-256/group 14, esp-aes 256 esp-sha256-hmac).
import type { CryptoConfig } from '../../appliance/config/model.js';
import { IkeV1Manager } from '../../appliance/ike/manager/ike-v1.js';
import { startIkeUdp } from '../../appliance/ike/transport/udp.js';
import type { IkeSaV1 } from '../../appliance/ike/sa/ike-sa-v1.js';

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

const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const [mode, ...args] = process.argv.slice(2);

if (mode === 'inproc') await inproc(POLICIES[args[0]](), Number(args[1] ?? 5));
else if (mode === 'responder') await responder(args[0], POLICIES[args[1]]());
else if (mode === 'initiator') await initiator(args[0], args[1], POLICIES[args[2]](), Number(args[3]), Number(args[4] ?? 8));
else { process.stderr.write('usage: ike-load inproc|responder|initiator ...\n'); process.exit(2); }

/** Managers are replaced every BATCH exchanges so the SA tables stay the size a hub's would. */
async function inproc(cfg: CryptoConfig, seconds: number): Promise<void> {
  const BATCH = 64, CONC = 16;
  let responderMs = 0, done = 0, failed = 0;
  const end = performance.now() + seconds * 1000;
  const wallStart = performance.now();
  while (performance.now() < end) {
    const queue: Array<{ to: 'i' | 'r'; d: Uint8Array; port: number }> = [];
    let started = 0, finished = 0;
    const ini: IkeV1Manager = new IkeV1Manager(cfg, '10.9.0.1', (d, _a, port) => queue.push({ to: 'r', d, port }), () => {}, {
      established: (sa) => { ini.initiateQuick(sa); },
      failed: () => { failed++; finished++; },
    });
    const res: IkeV1Manager = new IkeV1Manager(cfg, '10.9.0.2', (d, _a, port) => queue.push({ to: 'i', d, port }), () => {}, {
      child: () => { finished++; done++; },
    });
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

async function responder(local: string, cfg: CryptoConfig): Promise<void> {
  let children = 0;
  const ike = await startIkeUdp(cfg, local, { events: { child: () => { children++; } } });
  out({ ready: true });
  process.on('SIGTERM', () => { out({ children, counters: ike.manager.counters }); void ike.close().then(() => process.exit(0)); });
}

async function initiator(local: string, peer: string, cfg: CryptoConfig, n: number, conc: number): Promise<void> {
  let started = 0, done = 0, failed = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const next = () => {
      while (started - done - failed < conc && started < n) { ike.manager.initiate(peer); started++; }
      if (done + failed >= n) resolve();
    };
    const ike0 = startIkeUdp(cfg, local, { events: {
      established: (sa: IkeSaV1) => { if (sa.initiator) ike.manager.initiateQuick(sa); },
      child: (sa: IkeSaV1) => { if (sa.initiator) { done++; next(); } },
      failed: () => { failed++; next(); },
    } });
    let ike: Awaited<typeof ike0>;
    void ike0.then((x) => { ike = x; next(); });
  });
  out({ mode: 'initiator', done, failed, wallMs: performance.now() - t0 });
  process.exit(0);
}
