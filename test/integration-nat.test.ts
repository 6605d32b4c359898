// A spoke behind NAT (an nftables masquerade namespace between it and the Internet): the hub records
// the post-NAT address it saw, flags the peer N, and a Phase 3 spoke-to-spoke tunnel to it forms
// through the NAT.
import t from 'tap';
import { Lab, labConfig, waitFor, uniquePrefix } from './util/lab.js';
import { putBehindNat, natSpokeConfig } from './util/nat.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'nft']);

const lab = new Lab(uniquePrefix('nat'), 3);
t.teardown(() => lab.down());
const peersOf = (r: string) => { try { return lab.ctlJson(r, 'show dmvpn').interfaces[0].peers as any[]; } catch { return []; } };

t.before(async () => {
  lab.up();
  putBehindNat(lab, [4], { publicIp: '172.16.45.2', inetLink: 'r4b' });
  const cfg = (r: string) => {
    let c = labConfig(r, { holdtime: 60, registrationTimeout: 5 });
    if (r === 'R4') c = natSpokeConfig(c, 4);
    return c;
  };
  for (const r of ['R1', 'R2', 'R3', 'R4']) lab.start(r, lab.writeConfig(r, cfg(r)));
  if (!(await waitFor(() => peersOf('R1').length === 3, 20000))) throw new Error(`no registration:\n${lab.routers.get('R4')!.log.join('\n')}`);
});

t.test('the hub records the post-NAT address and flags the peer N', async (t) => {
  const r4 = peersOf('R1').find((p) => p.tunnel === '192.168.0.4');
  t.equal(r4?.nbma, '172.16.45.2', 'the address the hub saw, not 10.45.0.2');
  t.match(r4?.attrs, /DN/);
  const e = lab.ctlJson('R1', 'show ip nhrp').find((x: any) => x.prefix === '192.168.0.4');
  t.equal(e?.claimedNbma, '10.45.0.2', 'the address R4 claimed is kept');
  t.match(lab.ctl('R1', 'show ip nhrp'), /NBMA address: 172\.16\.45\.2\n\s+\(Claimed NBMA address: 10\.45\.0\.2\)/);
  t.equal(peersOf('R1').find((p) => p.tunnel === '192.168.0.2')?.attrs.includes('N'), false, 'R2 is registered and not NATed');
});

/** Data packets the hub decapsulated: GRE received minus NHRP (registrations every 5 s are not data). */
const hubData = () => { const c = lab.ctlJson('R1', 'show dataplane counters'); return c.greRxPackets - c.nhrpIn; };
const shortcut = (r: string, prefix: string) => {
  try { return (lab.ctlJson(r, 'show ip nhrp shortcut') as any[]).find((e) => e.prefix === prefix); } catch { return undefined; }
};

t.test('a spoke-to-spoke tunnel to the NATed spoke forms through the NAT', async (t) => {
  t.ok(lab.ping(lab.ns('h4'), '10.0.2.10', 3), 'h4 -> h2 (via the hub at first)');
  t.ok(lab.ping(lab.ns('h2'), '10.0.4.10', 3), 'h2 -> h4');
  const r2 = await waitFor(() => shortcut('R2', '10.0.4.0'), 8000);
  t.equal(r2?.via, '192.168.0.4', 'R2 has a shortcut to R4\'s LAN via R4');
  const r4 = await waitFor(() => shortcut('R4', '10.0.2.0'), 8000);
  t.equal(r4?.via, '192.168.0.2', 'R4 has a shortcut to R2\'s LAN via R2');
  const direct = peersOf('R2').find((p) => p.tunnel === '192.168.0.4');
  t.equal(direct?.nbma, '172.16.45.2', 'R2 reaches R4 at its public address');
  t.match(direct?.attrs, /N/, 'and flags it NATed');
  const e = lab.ctlJson('R2', 'show ip nhrp').find((x: any) => x.prefix === '192.168.0.4');
  t.equal(e?.claimedNbma, '10.45.0.2', 'R2 keeps what R4 claimed');
  t.equal(peersOf('R4').find((p) => p.tunnel === '192.168.0.2')?.nbma, '172.16.25.2', 'R4 reaches R2 directly');
  const before = lab.ctlJson('R1', 'show dataplane counters').greRxPackets;
  const beforeData = hubData();
  t.ok(lab.ping(lab.ns('h2'), '10.0.4.10', 4), 'direct through the NAT');
  t.ok(lab.ping(lab.ns('h4'), '10.0.2.10', 4), 'and back');
  const d = hubData() - beforeData;
  t.ok(d < 3, `bypassing the hub (hub saw ${d} data packets of 16, ` +
    `${lab.ctlJson('R1', 'show dataplane counters').greRxPackets - before} GRE packets with NHRP)`);
  if (d >= 3 && process.env.NAT_DEBUG) {
    console.error(lab.ctl('R4', 'show dmvpn'), lab.ctl('R4', 'show ip nhrp'), lab.ctl('R2', 'show ip nhrp'));
    console.error(lab.routers.get('R4')!.log.join('\n'), lab.routers.get('R2')!.log.join('\n'));
  }
});
