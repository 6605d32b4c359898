// Identity-bound NHRP with IKE in namespaces (issue 10): seed 003's crypto block (IKEv1, pre-shared key
// for 172.16.0.0/16; each router's identity is its own address). R2 registers 192.168.0.2 at the hub
// through its SA; then R3, with a valid key and its own SAs, is configured with R2's tunnel address and
// registers it (non-unique, so only the identity binding can stop it). Plain DMVPN hands the address to
// R3 (registration hijack); here the hub refuses it, counts it under `show ip nhrp traffic` Refused and
// logs both identities, and R2 keeps its mapping and traffic.
import t from 'tap';
import { Lab, labConfig, waitFor, sleep } from './util/lab.js';
import { withSeedCrypto } from './util/seed003-crypto.js';
import { needs, LAB_NEEDS } from './util/needs.js';

const noUnique = (cfg: string) => cfg.replace(/( ip nhrp holdtime \d+\n)/, '$1 ip nhrp registration no-unique\n');

t.test('a spoke with a valid key cannot register another spoke\'s tunnel address over its own SA', async (t) => {
  if (needs(t, ...LAB_NEEDS).skip) return;
  const lab = new Lab(`ni-id${process.pid % 1000}`, 2);
  t.teardown(() => lab.down());
  lab.up();
  const cfg = (r: string, edit = (c: string) => c) => lab.writeConfig(r, withSeedCrypto(edit(noUnique(labConfig(r, { holdtime: 60, registrationTimeout: 5 })))));
  lab.start('R1', cfg('R1'));
  lab.start('R2', cfg('R2'));
  const hubMap = () => { try { return lab.ctlJson<Array<{ prefix: string; nbma?: string }>>('R1', 'show ip nhrp'); } catch { return []; } };
  const r2At = () => hubMap().find((e) => e.prefix === '192.168.0.2')?.nbma;
  const logs = () => [...lab.routers.values()].map((r) => `--- ${r.name}\n${r.log.slice(-60).join('\n')}`).join('\n');
  t.ok(await waitFor(() => r2At() === '172.16.25.2', 60000), 'R2 registered 192.168.0.2 through ESP');

  lab.start('R3', cfg('R3', (c) => c.replace(' ip address 192.168.0.3 255.255.255.0', ' ip address 192.168.0.2 255.255.255.0')));
  const refused = () => { try { return lab.ctlJson<{ refused?: Record<string, number> }>('R1', 'show ip nhrp traffic').refused?.['registration-identity'] ?? 0; } catch { return 0; } };
  const gotRefused = await waitFor(() => refused() >= 2, 60000);
  t.ok(gotRefused, `the hub refused R3's registrations of 192.168.0.2 (${refused()})`);
  if (!gotRefused) t.comment(logs());
  const isakmp = lab.ctlJson<Array<{ src: string; dst: string; state: string }>>('R1', 'show crypto isakmp sa');
  t.ok(isakmp.some((s) => [s.src, s.dst].includes('172.16.35.2') && s.state === 'QM_IDLE'), 'R3 does have an ISAKMP SA with the hub (valid key): refused by identity, not for want of an SA');
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 14; i++) { seen.add(r2At()); await sleep(500); } // over another registration round of R3
  t.same([...seen], ['172.16.25.2'], 'the hub mapped 192.168.0.2 to R2 all along');
  t.notOk(hubMap().some((e) => e.nbma === '172.16.35.2'), 'nothing at the hub points to R3');
  t.match(lab.ctl('R1', 'show ip nhrp traffic'), /Refused: .*registration-identity/, 'counted under Refused');
  t.ok(lab.routers.get('R1')!.log.some((l) => /registration of 192\.168\.0\.2 from NBMA 172\.16\.35\.2 refused: 192\.168\.0\.2 is bound to IKE identity 172\.16\.25\.2, the packet came over an SA authenticated as 172\.16\.35\.2/.test(l)),
    'logged with both identities');
  t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 3), 'h2 -> h1 still works (R2 kept its registration)');
});
