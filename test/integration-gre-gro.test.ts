// GRE that the receiving kernel's GRO merged. A NIC with generic-receive-offload on (most Linux
// drivers, and virtio-net in a VM: where this was found, a TCP download through the image's tunnel
// crawling at 4-20 kB/s) runs the built-in GRE GRO on GRE addressed to our raw socket: a burst of one
// TCP flow arrives as one IPv4 packet of up to 64 KiB, too big for an nbmaRx slot. The raw-rx pump
// now cuts it back into segments (appliance/native/gre-split.c). Here the WAN veths of the hub and a
// spoke get GRO on (veth does GRO once it is enabled), a 16 MB file crosses the tunnel both ways, and
// the checks are: the bytes arrive intact, the pump merged-packet counters rose, nothing was dropped
// by the pump (a merged packet it could not cut would be `nbmaRxPumpDrops`).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Lab, labConfig, waitFor, nsExec, uniquePrefix } from './util/lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'ethtool', 'python3', 'curl']);

const lab = new Lab(uniquePrefix('gro'), 1);
const SIZE = 16 << 20;
t.teardown(() => lab.down());

const peersOf = (router: string) => {
  try { return lab.ctlJson(router, 'show dmvpn').interfaces[0].peers as Array<{ state: string }>; } catch { return []; }
};
const counters = (r: string) => lab.ctlJson<Record<string, number>>(r, 'show dataplane counters');

t.before(async () => {
  lab.up();
  for (const [r, n] of [['R1', 1], ['R2', 2]] as const) {
    // veth runs GRO (NAPI) for what its peer sends only when that peer has no TSO (veth_xmit's
    // veth_skb_is_eligible_for_gro): the "Internet" side's end gets TSO off, the router's end GRO on
    nsExec(lab.ns('inet'), ['ethtool', '-K', `r${n}`, 'tso', 'off']);
    // and a burst to merge: one packet at a time through the namespaces' softirqs never meets another
    // in the receiver's NAPI poll. A token bucket below the tunnel's rate holds packets back and lets
    // them go in runs when its timer fires, as a NIC's interrupt coalescing delivers them.
    nsExec(lab.ns('inet'), ['tc', 'qdisc', 'add', 'dev', `r${n}`, 'root', 'tbf', 'rate', '400mbit', 'burst', '64kb', 'latency', '200ms']);
    if (!process.env.NOGRO) nsExec(lab.ns(r), ['ethtool', '-K', 'eth0', 'gro', 'on']);
    lab.start(r, lab.writeConfig(r, labConfig(r)));
  }
  if (!await waitFor(() => peersOf('R1').some((p) => p.state === 'UP'), 30000)) throw new Error('R2 did not register with R1');
});

/** A file of SIZE random bytes served by python3 in host namespace `from` at 10.0.N.10:8000;
 *  `to` fetches it with curl through the tunnel. The SHA-256 both sides computed. */
async function transfer(from: string, fromAddr: string, to: string): Promise<{ sent: string; got: string; seconds: number }> {
  const dir = fs.mkdtempSync(path.join(lab.dir, 'www-'));
  const f = path.join(dir, 'f');
  const data = randomBytes(SIZE);
  fs.writeFileSync(f, data);
  const sent = createHash('sha256').update(data).digest('hex');
  const srv = spawn('ip', ['netns', 'exec', from, 'python3', '-m', 'http.server', '8000', '--bind', fromAddr, '--directory', dir], { stdio: 'ignore' });
  try {
    await waitFor(() => nsExec(to, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${fromAddr}:8000/`], { allowFail: true }).stdout === '200', 15000, 300);
    const t0 = Date.now();
    const r = nsExec(to, ['sh', '-c', `curl -s --max-time 300 http://${fromAddr}:8000/f | sha256sum`], { allowFail: true });
    return { sent, got: r.stdout.split(' ')[0], seconds: (Date.now() - t0) / 1000 };
  } finally { srv.kill('SIGKILL'); }
}

for (const [dir, from, fromAddr, to, rx] of [
  ['hub LAN -> spoke LAN (the spoke receives merged GRE)', 'h1', '10.0.1.10', 'h2', 'R2'],
  ['spoke LAN -> hub LAN (the hub receives merged GRE)', 'h2', '10.0.2.10', 'h1', 'R1'],
] as const) {
  t.test(dir, async (t) => {
    const before = counters(rx);
    const csumErrors = () => Number(/\nTcp: (?:\S+ ){14}(\d+)/.exec(nsExec(lab.ns(to), ['cat', '/proc/net/snmp']).stdout)?.[1]);
    const errorsBefore = csumErrors();
    const { sent, got, seconds } = await transfer(lab.ns(from), fromAddr, lab.ns(to));
    t.equal(got, sent, `${SIZE} bytes arrive intact (SHA-256 ${sent.slice(0, 16)}..., ${seconds.toFixed(1)} s)`);
    const csumDelta = csumErrors() - errorsBefore;
    t.equal(csumDelta, 0, `the receiving host counted no TCP checksum error (each cut segment has its own): ${csumDelta}`);
    const after = counters(rx);
    const d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    t.ok(d('nbmaRxGroSupers') > 0, `${rx}'s raw-rx pump cut merged GRE packets: ${d('nbmaRxGroSupers')} into ${d('nbmaRxGroSegments')} segments`);
    t.ok(d('nbmaRxGroSegments') > d('nbmaRxGroSupers'), 'each into several segments');
    t.equal(d('nbmaRxPumpDrops'), 0, `${rx}'s raw-rx pump dropped nothing`);
    t.equal(d('dropBadIp'), 0, 'every cut segment passed the worker\'s IPv4 checks');
  });
}
