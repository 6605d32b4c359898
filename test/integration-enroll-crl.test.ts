// The spoke's CRL across a restart, in namespaces (docs/enrollment.md "The CRL", issue 15): hub R1 runs
// the enrollment server (test/util/enroll-hub.ts); factory spoke R3 enrolls and is revoked (`dmvpn
// enrollment revoke`); factory spoke R2 enrolls after, fetches the CRL listing R3's certificate and keeps
// it in `<startup-config>.crls`. The hub is then stopped (unreachable) and R2 restarted: it loads the CRL
// from storage (show crypto pki crls says so and lists R3's serial, its fetch failing), and when R3 comes
// to R2 directly (a static NHRP mapping), R2 refuses R3's certificate by that CRL (AUTHENTICATION_FAILED).
// The hub's own show crypto pki crls shows the CRL it issued, with the number R2 holds.
import t from 'tap';
import fs from 'node:fs';
import { waitFor, nsExec } from './util/lab.js';
import { enrollHubLab, startFactorySpoke } from './util/enroll-hub.js';
import { dmvpnctlSession } from './util/live-config.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { normSerial } from '../appliance/enroll/crl-store.js';

requireTools(t, [...LAB_NEEDS, 'openssl']);

const SECRET2 = 'zt-crl-token-r2-0123456789', SECRET3 = 'zt-crl-token-r3-0123456789';
const R2_NBMA = '172.16.25.2', R3_NBMA = '172.16.35.2';
/** a tunnel address outside the hub's pool that R3 maps to R2's NBMA address */
const VIA_R2 = '192.168.0.99';

interface CrlsJson { trustpoints: Array<{ trustpoint: string; crl?: { number: string; serials: string[]; origin?: { from: string } }; lastFetch?: { error?: string } }>; counters: Record<string, number> }

t.test('a spoke restarted with the hub unreachable still holds, shows and applies the CRL it fetched', async (t) => {
  const hub = await enrollHubLab(t, 'zc', [`SITE2 ${SECRET2} one-time`, `SITE3 ${SECRET3} one-time`]);
  if (!hub) return;
  const { lab, listening, enrollView, hubPeers, logs } = hub;

  // R3 enrolls, comes up, and is revoked
  startFactorySpoke(lab, 'R3', { wan: '172.16.35.2/30', gateway: '172.16.35.1', pin: listening.pin, token: `SITE3 ${SECRET3}` });
  const r3Up = await waitFor(() => hubPeers().some((p) => p.nbma === R3_NBMA && p.state === 'UP'), 90000);
  t.ok(r3Up, 'hub: R3 enrolled and UP');
  if (!r3Up) { t.comment(logs()); return; }
  const r3Key = String((enrollView()?.admitted ?? [])[0]?.key ?? '');
  const r3Serial = normSerial(String(lab.ctlJson('R3', 'show crypto pki certificates').find((c: { ca: boolean }) => !c.ca)?.serial ?? ''));
  t.match(lab.ctl('R1', `dmvpn enrollment revoke ${r3Key.slice(0, 16)}`), /revoked/, `hub: R3's key revoked (its certificate ${r3Serial})`);

  // R2 enrolls and fetches the CRL that lists R3's certificate, and keeps it
  const r2cfg = startFactorySpoke(lab, 'R2', { wan: '172.16.25.2/30', gateway: '172.16.25.1', pin: listening.pin, token: `SITE2 ${SECRET2}` });
  const crls = (): CrlsJson | undefined => { try { return lab.ctlJson('R2', 'show crypto pki crls'); } catch { return undefined; } };
  const fetched = await waitFor(() => { const c = crls()?.trustpoints[0]?.crl; return c?.origin?.from === 'fetched' && c.serials.includes(r3Serial) ? c : undefined; }, 90000, 500);
  t.ok(fetched, `R2: fetched CRL ${fetched?.number} listing R3's certificate`);
  if (!fetched) { t.comment(logs()); return; }
  t.ok(fs.existsSync(`${r2cfg}.crls`), 'R2: the CRL kept next to its startup-config');
  // the hub shows the CRL it issues on its enrollment CA's trustpoint: the one R2 fetched
  const hubShown = lab.ctl('R1', 'show crypto pki crls');
  t.match(hubShown, /^Trustpoint \S+ \(this box's enrollment CA: the CRL is issued here and served to spokes\):$/m, 'hub: its CRL shown as issued here');
  t.match(hubShown, new RegExp(`^ {2}CRL Number: ${fetched.number}$`, 'm'), 'hub: the number R2 holds');
  t.match(hubShown, new RegExp(`^ {4}Serial Number: 0x${r3Serial}$`, 'm'), 'hub: R3\'s serial listed');
  t.match(hubShown, /^ {2}Served to spokes: [1-9]\d* times?$/m, 'hub: served at least once');

  // the hub goes away; R2 restarts
  await lab.stop('R1');
  await lab.stop('R2');
  lab.start('R2', r2cfg);
  const loaded = await waitFor(() => { const v = crls(); return v?.trustpoints[0]?.lastFetch?.error !== undefined ? v : undefined; }, 60000, 500);
  t.ok(loaded, 'R2 restarted: its first fetch failed (the hub is down)');
  if (!loaded) { t.comment(logs()); return; }
  const held = loaded.trustpoints[0].crl;
  t.equal(held?.origin?.from, 'storage', 'R2: the CRL loaded from storage');
  t.equal(held?.number, fetched.number, 'the very CRL it fetched');
  t.ok(held?.serials.includes(r3Serial), 'listing R3\'s certificate');
  t.equal(loaded.counters.loaded, 1, 'counted as loaded');
  const shown = lab.ctl('R2', 'show crypto pki crls');
  t.match(shown, /^ {2}Retrieved: loaded from storage at .* \(fetched at .*\)$/m, 'show crypto pki crls: loaded from storage');
  t.match(shown, new RegExp(`^ {4}Serial Number: 0x${r3Serial}$`, 'm'), 'show crypto pki crls: R3\'s serial');
  t.match(shown, /^ {2}Last fetch: failed at .*: /m, 'show crypto pki crls: the failed fetch');
  t.match(lab.ctl('R2', 'show logging'), new RegExp(`CRL_LOADED: trustpoint DMVPN-ENROLL: CRL ${fetched.number} of .* loaded from .*\\.crls`), 'R2: the load logged');

  // R3 comes to R2 directly: refused by the stored CRL. The mapping's tunnel address is not R2's: the
  // pool gave R2 the address R3's revocation freed, which R3 still has; IKE goes to the NBMA address.
  const cfg = dmvpnctlSession(lab, 'R3', ['configure terminal', 'interface Tunnel0', ` ip nhrp map ${VIA_R2} ${R2_NBMA}`, 'end']);
  t.notMatch(cfg.out, /^%/m, `R3: a static mapping of ${VIA_R2} to R2's NBMA address added`);
  const refusal = new RegExp(`IKE_AUTH: .*certificate serial ${r3Serial} of .* is revoked \\(CRL ${fetched.number} of `);
  const refused = await waitFor(() => {
    nsExec(lab.ns('R3'), ['ping', '-c', '1', '-W', '1', VIA_R2], { allowFail: true });
    return refusal.test(lab.ctl('R2', 'show logging'));
  }, 45000, 1000);
  t.ok(refused, 'R2: R3\'s certificate refused by the CRL loaded from storage, logged with its reason');
  t.ok((crls()?.counters.refused ?? 0) >= 1, 'R2: the refusal counted');
  t.match(lab.ctl('R3', 'show logging'), /peer refused our authentication \(AUTHENTICATION_FAILED\)/, 'R3: AUTHENTICATION_FAILED');
  t.notMatch(lab.ctl('R2', 'show crypto ikev2 sa'), new RegExp(`${R3_NBMA.replace(/\./g, '\\.')}/\\d+ .*READY`), 'R2: no IKE SA with R3');
  if (!refused) t.comment(logs());
});
