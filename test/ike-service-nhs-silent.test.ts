// IkeService.nhsUnanswered: an NHS left 3 registrations in a row unanswered. Its IKE SAs are probed
// first (IKEv1 R-U-THERE, IKEv2 empty INFORMATIONAL): an NHS whose IKE still answers holds our SAs,
// so they are kept (nhsSilentKept) and no spoke renegotiates with a hub that is already in trouble; an
// NHS that restarted (a fresh IKE service on the same address, no SA) cannot answer a probe protected
// by an SA it does not know, so after NHS_PROBE_MS the SAs are cleared and negotiated afresh
// (nhsSilentCleared), and NHRP is told so its registration goes at once. Two services on loopback,
// real UDP, a fake SA ring (as ike-service-outbound).
import t from 'tap';
import { IkeService, NHS_PROBE_MS } from '../appliance/supervisor/ike-service.js';
import { parseStartupConfig } from '../appliance/config/load.js';
import type { CryptoConfig } from '../appliance/config/model.js';
import { loopbackSaRing, seedCrypto } from './util/ike.js';
import { ikev2IosBlock } from './util/ikev2-ios.js';
import { waitFor, sleep } from './util/lab.js';

function v2Crypto(): CryptoConfig {
  const r = parseStartupConfig(ikev2IosBlock().replace(/172\.16\.0\.0 255\.255\.0\.0/g, '127.0.0.0 255.0.0.0'));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config.crypto;
}

const VARIANTS: Array<[string, () => CryptoConfig]> = [
  ['IKEv1', () => ({ ...seedCrypto(), isakmpKeys: [{ key: 'P4ssw0rd', address: '127.0.0.0', mask: '255.0.0.0' }] })],
  ['IKEv2', v2Crypto],
];

for (const [variant, crypto] of VARIANTS) t.test(`${variant}: a silent NHS whose IKE answers keeps its SAs; a restarted one has them cleared`, async (t) => {
  const base = 22000 + (process.pid % 20000) + (variant === 'IKEv2' ? 7 : 0);
  const logs: string[] = [];
  const service = (local: string, port: number, other: () => IkeService, log?: string[]) => new IkeService({ crypto: crypto(), profile: 'MyProfile',
    local, port, sa: loopbackSaRing(local, other), firstIndex: 0, capacity: 64, sendNhrp: () => true,
    log: (level, m) => { log?.push(`${level} ${m}`); } });
  let hub: IkeService;
  const spoke: IkeService = service('127.0.0.1', base, () => hub, logs);
  hub = service('127.0.0.2', base + 1, () => spoke);
  t.teardown(() => { spoke.stop(); hub.stop(); });
  await spoke.start(); await hub.start();
  spoke.engine.initiate('127.0.0.2', base + 1);
  t.ok(await waitFor(() => spoke.children.all.length === 1 && hub.children.all.length === 1, 20000, 50), 'one pair installed on each side');
  const pair = spoke.children.all[0];
  const sa = spoke.engine.sas[0];

  // the hub's NHRP is silent, its IKE is not
  let renegotiating = 0;
  spoke.nhsUnanswered('127.0.0.2', () => { renegotiating++; });
  t.match(logs.join('\n'), /NHS 127\.0\.0\.2 stopped answering registrations: probing its 1 ISAKMP SA\(s\) before clearing them/, 'probing first, logged');
  t.ok(await waitFor(() => spoke.counters.nhsSilentKept === 1, NHS_PROBE_MS + 2000, 20), 'the probe was answered: nhsSilentKept 1');
  await sleep(NHS_PROBE_MS + 500); // past the decision time: nothing is cleared late
  t.equal(spoke.counters.nhsSilentCleared, 0, 'nothing cleared');
  t.equal(renegotiating, 0, 'NHRP not told to retransmit (nothing was renegotiated)');
  t.equal(spoke.children.all[0], pair, 'the same IPsec SA pair');
  t.equal(spoke.engine.sas[0], sa, 'the same ISAKMP SA');
  t.equal(spoke.engine.isEstablished(sa), true, '... still established');
  t.match(logs.join('\n'), /NHS 127\.0\.0\.2 stopped answering registrations, but its ISAKMP SA \(\d+\) answers: its SAs kept/, 'kept, logged');

  // the hub restarts: a new IKE service on its address knows no SA, so it cannot answer the probe
  hub.stop();
  hub = service('127.0.0.2', base + 1, () => spoke);
  await hub.start();
  spoke.nhsUnanswered('127.0.0.2', () => { renegotiating++; });
  spoke.nhsUnanswered('127.0.0.2', () => { renegotiating++; }); // a second call while probing: one probe, one decision
  await sleep(NHS_PROBE_MS - 500);
  t.equal(spoke.counters.nhsSilentCleared, 0, 'not cleared before the probe time is up');
  t.ok(await waitFor(() => spoke.counters.nhsSilentCleared === 1, 3000, 20), 'unanswered probe: the SAs cleared (nhsSilentCleared 1)');
  t.equal(spoke.counters.nhsSilentKept, 1, 'not kept this time');
  t.equal(renegotiating, 1, 'NHRP told once, after the new negotiation started (its registration goes now)');
  t.notOk(spoke.children.all.includes(pair), 'the stale pair is gone');
  t.match(logs.join('\n'), /NHS 127\.0\.0\.2 stopped answering registrations: its \d+ SAs cleared, negotiated afresh/, 'cleared, logged');
  // negotiated afresh (to port 500, where no hub listens in this test: the new SA is in progress)
  t.ok(spoke.engine.sas.some((s) => s !== sa && s.remote === '127.0.0.2' && !spoke.engine.isDeleting(s)), 'a new negotiation with the NHS started');
  await sleep(NHS_PROBE_MS + 500);
  t.equal(spoke.counters.nhsSilentCleared, 1, 'one decision for the two calls');
});

t.test('no established SA with the NHS: cleared at once, nothing to probe', async (t) => {
  const logs: string[] = [];
  const s: IkeService = new IkeService({ crypto: { ...seedCrypto(), isakmpKeys: [{ key: 'P4ssw0rd', address: '127.0.0.0', mask: '255.0.0.0' }] }, profile: 'MyProfile',
    local: '127.0.0.1', port: 0, sa: loopbackSaRing('127.0.0.1', (): IkeService => s), firstIndex: 0, capacity: 64, sendNhrp: () => true,
    log: (level, m) => { logs.push(m); } });
  t.teardown(() => s.stop());
  await s.start();
  s.nhsUnanswered('127.0.0.3');
  t.equal(s.counters.nhsSilentCleared, 0, 'nothing to clear, nothing counted');
  t.equal(s.counters.nhsSilentKept, 0);
  t.notMatch(logs.join('\n'), /probing/, 'no probe');
});
