// Live apply (supervisor/live-config.ts) against a recording host: only the difference is applied,
// a step that fails part-way is undone in reverse (the old tunnel comes back with the old config),
// and what has no run-time meaning is refused before anything is touched.
import t from 'tap';
import { applyLive, type LiveHost, type PlacedRoute } from '../appliance/supervisor/live-config.js';
import type { Plan } from '../appliance/supervisor/apply-plan.js';
import type { ApplianceConfig, EthernetConfig, TunnelConfig } from '../appliance/config/model.js';
import { parseStartupConfig } from '../appliance/config/load.js';

const BASE = `hostname R2
interface FastEthernet0/0
 ip address 172.16.25.2 255.255.255.252
interface FastEthernet0/1
 ip address 10.0.2.1 255.255.255.0
interface Tunnel0
 ip address 192.168.0.2 255.255.255.0
 ip nhrp network-id 1
 ip nhrp nhs 192.168.0.1 nbma 172.16.15.2
 tunnel source FastEthernet0/0
 tunnel mode gre multipoint
 tunnel protection ipsec profile P
ip route 0.0.0.0 0.0.0.0 172.16.25.1
ip route 10.0.0.0 255.0.0.0 192.168.0.1
`;

function load(text: string): ApplianceConfig {
  const r = parseStartupConfig(text);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

/** A host that records what live apply does; `fail` names a step to make throw. */
function fakeHost(start: ApplianceConfig, opts: { fail?: string; invalid?: string } = {}) {
  const planOf = (c: ApplianceConfig): Plan => {
    const ethernets = c.interfaces.filter((i): i is EthernetConfig => i.kind === 'ethernet');
    const tunnel = c.interfaces.find((i): i is TunnelConfig => i.kind === 'tunnel');
    return { ethernets, osNames: new Map(ethernets.map((e) => [e.name, `eth${e.name.slice(-1)}`])), tunnel,
      ...(tunnel?.shutdown ? { down: 'administratively down' } : {}) };
  };
  const s = { config: start, plan: planOf(start), log: [] as string[], tunnel: 'R2 192.168.0.2' as string | undefined,
    kernel: new Set<string>(['0.0.0.0/0', '10.0.0.0/8']), ike: true };
  const step = (what: string) => { s.log.push(what); if (opts.fail && what.startsWith(opts.fail)) throw new Error(`${what} failed (test)`); };
  const host: LiveHost = {
    get config() { return s.config; },
    get plan() { return s.plan; },
    validate: (next) => (opts.invalid ? { ok: false, message: opts.invalid } : { ok: true, plan: planOf(next) }),
    adopt: (c, plan) => { s.config = c; s.plan = plan; },
    stopTunnel: async () => { step('stop tunnel'); s.tunnel = undefined; },
    startTunnel: async (plan) => {
      if (plan.down) return;
      step(`start tunnel ${plan.tunnel!.address!.address}`);
      s.tunnel = `${s.config.hostname} ${plan.tunnel!.address!.address}`;
    },
    overlayUp: () => s.tunnel !== undefined,
    ikeRunning: () => s.ike,
    reconfigureNhrp: (plan) => { step(`nhrp holdtime ${plan.tunnel!.nhrp.holdtime}`); },
    reconfigureCredentials: () => { step(`credentials ${s.config.crypto.pki?.chains?.[0]?.certs.map((c) => c.serial).join(',') ?? ''}`); return []; },
    applyEthernet: (e, os, j) => {
      step(`ethernet ${os} ${e.address?.address ?? 'none'}`);
      j.record(`ethernet ${os}`, () => { s.log.push(`undo ethernet ${os}`); });
    },
    placeRoutes: (c, plan): PlacedRoute[] => c.routes.map((r) => ({ route: r, viaTunnel: r.nextHop?.startsWith('192.168.') ?? false,
      kernel: { prefix: r.prefix, len: r.mask === '0.0.0.0' ? 0 : 8, via: r.nextHop, dev: plan.tunnel && r.nextHop?.startsWith('192.168.') ? 'Tunnel0' : undefined } })),
    installRoutes: (_plan, routes, which, j) => {
      for (const r of routes) {
        const key = `${r.prefix}/${r.mask === '0.0.0.0' ? 0 : 8}`;
        step(`install ${which} ${key}`);
        s.kernel.add(key);
        j.record(`route ${key}`, () => { s.kernel.delete(key); });
      }
    },
    forgetInactive: () => undefined,
    notice: () => undefined,
    routeDelete: (kr) => { step(`delete ${kr.prefix}/${kr.len}`); s.kernel.delete(`${kr.prefix}/${kr.len}`); },
    routeReplace: (kr) => { s.kernel.add(`${kr.prefix}/${kr.len}`); },
    removeLoopback: (os) => { step(`remove ${os}`); },
  };
  return { host, s };
}

const edit = (c: ApplianceConfig, f: (n: ApplianceConfig) => void) => { const n = structuredClone(c); f(n); return n; };
const tunnelOf = (c: ApplianceConfig) => c.interfaces.find((i): i is TunnelConfig => i.kind === 'tunnel')!;

t.test('a route change touches only that route in the kernel (the FIB follows the kernel), not the tunnel', async (t) => {
  const { host, s } = fakeHost(load(BASE));
  const next = edit(s.config, (n) => { n.routes = n.routes.filter((r) => r.prefix !== '10.0.0.0'); n.routes.push({ prefix: '10.1.0.0', mask: '255.0.0.0', nextHop: '192.168.0.1' }); });
  t.same(await applyLive(host, next), { ok: true });
  t.same(s.log, ['delete 10.0.0.0/8', 'install overlay 10.1.0.0/8']);
  t.same([...s.kernel].sort(), ['0.0.0.0/0', '10.1.0.0/8']);
  t.equal(s.config, next, 'the candidate is the running config');
  t.equal(s.tunnel, 'R2 192.168.0.2', 'the tunnel kept running');
});

t.test('a tunnel change restarts the tunnel; one that fails to start brings the old one back and undoes the rest', async (t) => {
  const before = load(BASE);
  const { host, s } = fakeHost(before, { fail: 'start tunnel 192.168.0.12' });
  const next = edit(before, (n) => {
    tunnelOf(n).address = { address: '192.168.0.12', mask: '255.255.255.0' };
    (n.interfaces[1] as EthernetConfig).address = { address: '10.0.22.1', mask: '255.255.255.0' };
  });
  const r = await applyLive(host, next);
  t.equal(r.ok, false);
  t.match(r.message, /start tunnel 192\.168\.0\.12 failed \(test\); nothing changed/);
  t.same(s.log, ['stop tunnel', 'ethernet eth1 10.0.22.1', 'start tunnel 192.168.0.12', 'undo ethernet eth1', 'stop tunnel', 'start tunnel 192.168.0.2'],
    'stopped, LAN changed, new tunnel failed; undone newest first, the old tunnel restarted');
  t.equal(s.config, before, 'the running config is the old one');
  t.equal(s.tunnel, 'R2 192.168.0.2', 'the old tunnel runs, with the old config');
});

t.test('NHRP attributes alone are taken by the running tunnel in place; other tunnel changes restart it', async (t) => {
  const before = load(BASE);
  const { host, s } = fakeHost(before);
  t.same(await applyLive(host, edit(before, (n) => { tunnelOf(n).nhrp.holdtime = 60; })), { ok: true });
  t.same(s.log, ['nhrp holdtime 60'], 'no restart');
  s.log.length = 0;
  t.same(await applyLive(host, edit(s.config, (n) => { tunnelOf(n).key = 7; tunnelOf(n).nhrp.holdtime = 90; })), { ok: true });
  t.same(s.log, ['stop tunnel', 'start tunnel 192.168.0.2'], 'tunnel key: restart (it carries the NHRP change too)');
});

t.test('crypto ipsec changes restart a protected tunnel (its SAs are planned again); without protection they are only config', async (t) => {
  const before = load(BASE);
  const sa = { name: 'M', peer: '172.16.15.2', udpEncapsulation: false };
  let f = fakeHost(before);
  t.same(await applyLive(f.host, edit(before, (n) => { n.crypto.manualSas = [sa]; })), { ok: true });
  t.same(f.s.log, ['stop tunnel', 'start tunnel 192.168.0.2']);
  const open = edit(before, (n) => { delete tunnelOf(n).protection; });
  f = fakeHost(open);
  t.same(await applyLive(f.host, edit(open, (n) => { n.crypto.manualSas = [sa]; })), { ok: true });
  t.same(f.s.log, [], 'nothing restarted');
});

t.test('our own certificate alone (a renewal): IKE takes it in place; a CA, trustpoint or mixed change restarts the tunnel', async (t) => {
  const pki = (own: string, ca = 'CA1', label = 'K', kind: 'ed25519' | 'ec' = 'ed25519') => ({ trustpoints: [{ name: 'TP', keyPair: { kind, label } }], chains: [{ name: 'TP', certs: [{ serial: own, ca: false, der: own.toLowerCase() }, { serial: ca, ca: true, der: ca.toLowerCase() }] }] });
  const before = edit(load(BASE), (n) => { n.crypto.pki = pki('AA01'); });
  let f = fakeHost(before);
  t.same(await applyLive(f.host, edit(before, (n) => { n.crypto.pki = pki('BB02'); n.crypto.lines = ['(rendered differently)']; })), { ok: true });
  t.same(f.s.log, ['credentials BB02,CA1'], 'no restart: the overlay\'s IKE takes the new certificate');
  t.equal(f.s.tunnel, 'R2 192.168.0.2', 'the tunnel kept running');
  f = fakeHost(before);
  t.same(await applyLive(f.host, edit(before, (n) => { n.crypto.pki = pki('BB02', 'CA1', 'K.rekey'); })), { ok: true });
  t.same(f.s.log, ['credentials BB02,CA1'], 'a new certificate with its key pair\'s new label (a key rollover): in place too');
  f = fakeHost(before);
  t.same(await applyLive(f.host, edit(before, (n) => { n.crypto.pki = pki('BB02', 'CA1', 'K', 'ec'); })), { ok: true });
  t.same(f.s.log, ['stop tunnel', 'start tunnel 192.168.0.2'], 'another kind of key pair: restart');
  f = fakeHost(before);
  t.same(await applyLive(f.host, edit(before, (n) => { n.crypto.pki = pki('AA01', 'CA2'); })), { ok: true });
  t.same(f.s.log, ['stop tunnel', 'start tunnel 192.168.0.2'], 'another CA certificate: restart');
  f = fakeHost(before);
  t.same(await applyLive(f.host, edit(before, (n) => { n.crypto.pki = pki('BB02'); n.crypto.manualSas = [{ name: 'M', peer: '172.16.15.2', udpEncapsulation: false }]; })), { ok: true });
  t.same(f.s.log, ['stop tunnel', 'start tunnel 192.168.0.2'], 'a certificate and something else: restart');
  f = fakeHost(before, { fail: 'credentials' });
  const r = await applyLive(f.host, edit(before, (n) => { n.crypto.pki = pki('BB02'); }));
  t.equal(r.ok, false, 'IKE refusing the new certificate refuses the change');
  t.equal(f.s.config, before, 'and the running config is the old one');
  f = fakeHost(before);
  f.s.ike = false;
  t.same(await applyLive(f.host, edit(before, (n) => { n.crypto.pki = pki('BB02'); })), { ok: true });
  t.same(f.s.log, ['stop tunnel', 'start tunnel 192.168.0.2'], 'IKE not running (its crypto was not usable): the restart starts it');
});

t.test('hostname alone: nothing but the config', async (t) => {
  const { host, s } = fakeHost(load(BASE));
  t.same(await applyLive(host, edit(s.config, (n) => { n.hostname = 'R22'; })), { ok: true });
  t.same(s.log, []);
  t.equal(s.config.hostname, 'R22');
});

t.test('no interface Loopback0 removes its OS interface; a physical one cannot be removed', async (t) => {
  const before = load(`${BASE}interface Loopback0\n ip address 10.2.255.1 255.255.255.255\n`);
  const { host, s } = fakeHost(before);
  t.same(await applyLive(host, edit(before, (n) => { n.interfaces = n.interfaces.filter((i) => i.name !== 'Loopback0'); })), { ok: true });
  t.same(s.log, ['remove eth0'], 'the fake host names OS interfaces eth<last digit>');
});

t.test('refusals change nothing', async (t) => {
  const before = load(BASE);
  let f = fakeHost(before, { invalid: 'interface Tunnel0: tunnel source FastEthernet0/9: no such interface' });
  t.same(await applyLive(f.host, edit(before, (n) => { tunnelOf(n).source = 'FastEthernet0/9'; })),
    { ok: false, message: 'interface Tunnel0: tunnel source FastEthernet0/9: no such interface' }, 'validation failure');
  f = fakeHost(before);
  t.match(await applyLive(f.host, edit(before, (n) => { n.interfaces.splice(1, 1); })),
    { ok: false, message: /FastEthernet0\/1 is a physical interface: it cannot be removed/ });
  t.same(f.s.log, [], 'nothing was touched');
  t.equal(f.s.config, before);
  // IKE starts with the protected tunnel's overlay: a crypto isakmp change restarts it, so the new
  // policies and keys are in effect (not only in the running config)
  const withIke = edit(before, (n) => { n.crypto.isakmpKeys = [{ key: 'k', address: '0.0.0.0' }]; });
  const i = fakeHost(before);
  t.same(await applyLive(i.host, withIke), { ok: true }, 'IKE settings under a running protected tunnel');
  t.same(i.s.log, ['stop tunnel', 'start tunnel 192.168.0.2'], 'the protected tunnel restarts with them');
  // with the tunnel shut down, the same change is taken (it is read when the tunnel starts)
  const down = edit(before, (n) => { tunnelOf(n).shutdown = true; });
  const g = fakeHost(down);
  t.same(await applyLive(g.host, edit(down, (n) => { n.crypto.isakmpKeys = [{ key: 'k', address: '0.0.0.0' }]; })), { ok: true });
});
