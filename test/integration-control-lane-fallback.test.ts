// The control lane's fallback (supervisor/dataplane-host.ts openNhrpLane, openIkeLane): a kernel that
// refuses the lanes' BPF programs leaves NHRP on the GRE data socket and nbmaRx, and IKE on UDP 4500
// on the ESP-in-UDP socket and udpRx (with the IKE rate limit there), logged, and the tunnel works as
// before the lane. The refusal is the kernel's own: the hub's namespace gets net.core.optmem_max =
// 64 bytes (per namespace since Linux 6.9), too little for either program (ENOMEM).
import t, { type Test } from 'tap';
import fs from 'node:fs';
import { Lab, labConfig, waitFor, nsExec, uniquePrefix } from './util/lab.js';
import { putBehindNat, natSpokeConfig } from './util/nat.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';
import { withSeedCrypto } from './util/seed003-crypto.js';

requireTools(t, [...LAB_NEEDS, 'nft']);

const OPTMEM = '/proc/sys/net/core/optmem_max';
const R2_PUBLIC = '172.16.45.2';

/** Starves the router's namespace of socket option memory; fails the test if the host's value moved. */
function refuseFilters(t: Test, lab: Lab, router: string): void {
  const host = fs.readFileSync(OPTMEM, 'utf8');
  nsExec(lab.ns(router), ['sysctl', '-qw', 'net.core.optmem_max=64']);
  if (fs.readFileSync(OPTMEM, 'utf8') !== host) {
    fs.writeFileSync(OPTMEM, host);
    t.fail('net.core.optmem_max is not per network namespace on this kernel (Linux < 6.9): cannot make it refuse the filters here');
  }
}

const hubLog = (lab: Lab) => lab.ctl('R1', 'show logging');
const counters = (lab: Lab, r: string): Record<string, number> => lab.ctlJson(r, 'show dataplane counters');

t.test('NHRP: filters refused, the hub takes NHRP on the GRE data socket and ring', async (t) => {
  const lab = new Lab(uniquePrefix('lanefb'), 1);
  t.teardown(() => lab.down());
  lab.up();
  refuseFilters(t, lab, 'r1');
  lab.start('R1', lab.writeConfig('R1', labConfig('R1', { holdtime: 60, registrationTimeout: 5 })));
  lab.start('R2', lab.writeConfig('R2', labConfig('R2', { holdtime: 60, registrationTimeout: 5 })));
  t.ok(await waitFor(() => lab.ping(lab.ns('h2'), '10.0.1.10', 1), 30000), 'R2 registered; h2 -> h1 flows');
  t.match(hubLog(lab), /NHRP control lane unavailable \(.*Cannot allocate memory.*\): NHRP shares the GRE data socket and ring/,
    'the hub logged why and what it does instead');
  const hub = counters(lab, 'R1');
  t.notOk('nhrpRxPumpPackets' in hub, 'no NHRP pump on the hub');
  t.ok(hub.nhrpIn > 0 && hub.nbmaRxPumpPackets >= hub.nhrpIn, `the hub's NHRP came through nbmaRx (nhrpIn ${hub.nhrpIn})`);
  t.equal(counters(lab, 'R2').nhrpRxPumpPackets > 0, true, 'the spoke, with its filters, has the lane');
});

t.test('IKE on 4500: the group\'s program refused, the hub takes IKE on the ESP-in-UDP socket and ring', async (t) => {
  const lab = new Lab(uniquePrefix('lanefb'), 1);
  t.teardown(() => lab.down());
  lab.up();
  putBehindNat(lab, [2], { publicIp: R2_PUBLIC, inetLink: 'r2b' });
  refuseFilters(t, lab, 'r1');
  const cfg = (r: string) => withSeedCrypto(labConfig(r, { holdtime: 60, registrationTimeout: 5 }), { natKeepalive: 5 });
  lab.start('R1', lab.writeConfig('R1', cfg('R1')));
  lab.start('R2', lab.writeConfig('R2', natSpokeConfig(cfg('R2'), 2)));
  t.ok(await waitFor(() => lab.ping(lab.ns('h2'), '10.0.1.10', 1), 60000, 500), 'R2 negotiated through the NAT; h2 -> h1 through ESP in UDP');
  t.match(hubLog(lab), /IKE control lane on UDP 4500 unavailable \(.*Cannot allocate memory.*\): IKE shares the ESP-in-UDP socket and ring/,
    'the hub logged why and what it does instead');
  const hub = counters(lab, 'R1');
  t.notOk('ikeRxPumpPackets' in hub, 'no IKE pump on the hub');
  t.ok(hub.ikeIn > 0 && hub.udpControlPassed >= hub.ikeIn, `the hub's IKE on 4500 came through udpRx and its rate limit (ikeIn ${hub.ikeIn}, udpControlPassed ${hub.udpControlPassed})`);
  t.ok(hub.espRxPackets > 0, 'and ESP too');
});
