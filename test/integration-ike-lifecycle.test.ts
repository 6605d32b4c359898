// The life of IKE-negotiated SAs between a hub (R1) and a spoke (R2) in namespaces, with seed 003's
// crypto block plus `mode transport`, the shortest IOS IPsec lifetime (120 s) and DPD:
// - transport mode when the transform set says so;
// - phase 2 rekey under traffic is make-before-break: new SPIs, the old pair deleted, and the no-SA,
//   unknown-SPI and replay drop counters stay at zero on both routers;
// - a spoke that restarts (new ISAKMP SA with INITIAL-CONTACT) makes the hub drop its stale SAs;
// - a spoke that dies is found by DPD (R-U-THERE unanswered) and its SAs are cleared on the hub.
import t from 'tap';
import { spawn } from 'node:child_process';
import { Lab, labConfig, waitFor } from './util/lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { withIkePsk } from './util/ike-psk.js';

requireTools(t, [...LAB_NEEDS]);

const withCrypto = withIkePsk;

interface SaJson { peer: string; dir: string; spi: number; packets: number; flags: number }
const DROPS = ['dropNoSa', 'dropUnknownSpi', 'dropEspReplay', 'dropEspAuth'] as const;

t.test('IKE-negotiated SAs: transport mode, rekey without loss, INITIAL-CONTACT, DPD', async (t) => {
  const lab = new Lab(`ikal${process.pid % 10000}`, 1);
  t.teardown(() => lab.down());
  lab.up();
  const cfg = (r: string) => lab.writeConfig(r, withCrypto(labConfig(r, { holdtime: 60, registrationTimeout: 5 })));
  lab.start('R1', cfg('R1'));
  lab.start('R2', cfg('R2'));
  const logs = () => [...lab.routers.values()].map((r) => `--- ${r.name}\n${r.log.slice(-80).join('\n')}`).join('\n');
  const registered = () => waitFor(() => {
    try { return lab.ctlJson('R1', 'show dmvpn').interfaces[0].peers.some((p: { state: string }) => p.state === 'UP'); } catch { return false; }
  }, 60000);
  t.ok(await registered(), 'R2 registered through ESP');
  t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 3), 'h2 -> h1');
  t.match(lab.ctl('R2', 'show crypto ipsec sa'), /in use settings =\{Transport, \}/, 'transport mode from `mode transport`');

  // ---- phase 2 rekey under traffic ----
  const sas = (r: string) => lab.ctlJson<SaJson[]>(r, 'show crypto ipsec sa');
  const first = sas('R2').filter((s) => s.peer === '172.16.15.2').map((s) => s.spi).sort();
  t.equal(first.length, 2, 'one pair with the hub');
  const counters = (r: string) => lab.ctlJson<Record<string, number>>(r, 'show dataplane counters');
  const before = { R1: counters('R1'), R2: counters('R2') };
  // a steady flow both ways while the SAs are renegotiated (102 s) and the old pair expires (120 s)
  const ping = spawn('ip', ['netns', 'exec', lab.ns('h2'), 'ping', '-i', '0.1', '-w', '140', '10.0.1.10'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let pingOut = '';
  ping.stdout!.on('data', (b: Buffer) => { pingOut += b.toString(); });
  const done = new Promise<void>((r) => ping.once('exit', () => r()));
  t.teardown(() => { if (ping.exitCode === null) ping.kill(); });
  // Between the rekey and the old pair's expiry the hub holds both pairs: it must send on the new one
  // only (its tunnel peer entry follows the rekey: overlay.ts repinPeers, for the responder's pair too),
  // or a packet it sends on the old pair after R2 removed that inbound half is an unknown-SPI drop.
  const firstAtHub = sas('R1').filter((s) => s.peer === '172.16.25.2').map((s) => s.spi);
  const bothPairs = await waitFor(() => sas('R1').filter((s) => s.peer === '172.16.25.2').length === 4, 150000, 500);
  t.ok(bothPairs, 'hub: the new pair is installed next to the old one');
  const oldOut = () => sas('R1').find((s) => s.peer === '172.16.25.2' && s.dir === 'out' && firstAtHub.includes(s.spi))?.packets;
  const sentOld = oldOut();
  await new Promise((r) => setTimeout(r, 3000)); // 30 pings; the old pair lives until 120 s
  t.ok(sentOld !== undefined && oldOut() === sentOld, `hub: nothing more sent on the old outbound SA after the rekey (${sentOld} -> ${oldOut()})`);
  const rekeyed = await waitFor(() => {
    const now = sas('R2').filter((s) => s.peer === '172.16.15.2');
    return now.length === 2 && now.every((s) => !first.includes(s.spi)) && now.every((s) => s.packets > 0);
  }, 150000, 1000);
  t.ok(rekeyed, 'the pair was renegotiated (new SPIs carry traffic) and the old one deleted');
  await done;
  const after = { R1: counters('R1'), R2: counters('R2') };
  for (const r of ['R1', 'R2'] as const) {
    const moved = DROPS.map((k) => (after[r][k] ?? 0) - (before[r][k] ?? 0));
    t.same(moved, [0, 0, 0, 0], `${r}: no-SA, unknown-SPI, replay, auth drops stayed 0 during the rekey`);
    // seen once under CI load (one unknown-SPI drop at R2): which SPI, and what each side did around it
    if (moved.some((n) => n > 0)) {
      const events = (x: string) => lab.ctl(x, 'show logging').split('\n').filter((l) => /IPsec SA|CONNECTED|ISAKMP|drop|SPI/i.test(l)).slice(-60).join('\n');
      t.comment(`first pair ${first.join(', ')}\n--- R1\n${events('R1')}\n--- R2\n${events('R2')}\n${lab.ctl('R2', 'show crypto ipsec sa')}`);
    }
  }
  const received = /(\d+) received/.exec(pingOut)?.[1];
  t.ok(Number(received) > 100, `traffic flowed through the rekey (${received} replies)`);
  t.ok(lab.routers.get('R2')!.log.some((l) => /IPsec SA with 172\.16\.15\.2 installed/.test(l)), 'logged');
  if (!rekeyed) t.comment(logs());

  // ---- the spoke restarts: INITIAL-CONTACT clears the hub's stale SAs ----
  await lab.stop('R2', 'SIGKILL');
  lab.start('R2', lab.routers.get('R2')!.config);
  // generous: the restarted supervisor starts, then main mode runs (qemu and other tests may share the CPU)
  const ic = await waitFor(() => lab.routers.get('R1')!.log.some((l) => /INITIAL-CONTACT from 172\.16\.25\.2/.test(l)), 150000);
  t.ok(ic, 'hub: INITIAL-CONTACT from the restarted spoke removed its stale SAs');
  t.ok(await waitFor(() => lab.ping(lab.ns('h2'), '10.0.1.10', 2), 60000, 1000), 'h2 -> h1 after the restart');
  if (!ic) t.comment(logs());
  t.equal(lab.ctlJson('R1', 'show crypto isakmp sa').filter((r: { src: string; state: string }) => r.src === '172.16.25.2' && r.state === 'QM_IDLE').length, 1,
    'hub: one ISAKMP SA with the spoke, not two');

  // ---- the spoke dies: DPD on the hub ----
  await lab.stop('R2', 'SIGKILL');
  const dead = await waitFor(() => lab.routers.get('R1')!.log.some((l) => /peer 172\.16\.25\.2 is dead/.test(l)), 60000);
  t.ok(dead, 'hub: DPD declared the spoke dead');
  t.equal(sas('R1').filter((s) => s.peer === '172.16.25.2').length, 0, 'hub: its IPsec SAs are gone');
  t.notOk(lab.ctlJson('R1', 'show crypto isakmp sa').some((r: { src: string }) => r.src === '172.16.25.2'), 'hub: its ISAKMP SA is gone');
  if (!dead) t.comment(logs());
});
