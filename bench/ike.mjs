// IKEv1 responder throughput (issue 10 benchmark), main mode + quick mode per second per core:
//  1. in process: two IkeV1Managers back to back; figure = exchanges / responder CPU time;
//  2. over UDP in two namespaces, the same initiator (our manager, bench/lib/ike-load.ts) against
//     our responder and then strongSwan's charon (Debian, kernel-libipsec as in
//     test/ike-strongswan.test.ts) in the same run; figure = exchanges / responder process CPU time
//     (utime + stime of all its threads, /proc/PID/stat).
// Policies: seed 003 (IOS defaults DES/SHA-1/DH group 1, esp-aes esp-sha-hmac) and a strong one
// (AES-256/SHA-256/group 14, esp-aes 256 esp-sha256-hmac), IKEv1 main mode + quick mode; and IKEv2
// IKE_SA_INIT + IKE_AUTH with its Child SA, AES-CBC-256/SHA-256/MODP 2048 and AES-GCM-128/X25519 (charon
// with encap = yes there: kernel-libipsec installs only UDP-encapsulated Child SAs). Prints figures,
// asserts nothing.   node bench/ike.mjs [exchanges per UDP run, default 200] [policy,policy...]
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { buildSync } from 'esbuild';
import { root, sh, nsx, nsDown, onCleanup, waitFor, sleep } from './lib/nhrp-bench.mjs';

const N = Number(process.argv[2] ?? 200);
const CONC = 8;
const CHARON = '/usr/lib/ipsec/charon';
const tmp = mkdtempSync(join(tmpdir(), 'ike-bench-'));
const P = `ikeb${process.pid % 1000}`;
onCleanup(() => { nsDown(P); rmSync(tmp, { recursive: true, force: true }); });
const load = join(tmp, 'ike-load.mjs');
buildSync({ entryPoints: [join(root, 'bench/lib/ike-load.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: load, logLevel: 'warning' });

const POLICIES = {
  seed003: { label: 'seed 003 (DES/SHA-1/group 1, AES-128/SHA-1 ESP)', ike: 'des-sha1-modp768', esp: 'aes128-sha1' },
  strong: { label: 'AES-256/SHA-256/group 14, AES-256/SHA-256 ESP', ike: 'aes256-sha256-modp2048', esp: 'aes256-sha256' },
  'v2-modp2048': { label: 'IKEv2 AES-CBC-256/SHA-256/MODP 2048', ike: 'aes256-sha256-modp2048', esp: 'aes128-sha1', version: 2 },
  'v2-x25519': { label: 'IKEv2 AES-GCM-128/PRF-SHA-256/X25519', ike: 'aes128gcm16-prfsha256-x25519', esp: 'aes128-sha1', version: 2 },
};
const ONLY = process.argv[3]?.split(',');
for (const k of Object.keys(POLICIES)) if (ONLY && !ONLY.includes(k)) delete POLICIES[k];
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

// 1. in process
console.log('in process (responder CPU only; both managers in one thread):');
for (const [name, p] of Object.entries(POLICIES)) {
  const r = JSON.parse(sh('node', [load, 'inproc', name, '5']).stdout.trim());
  console.log(`  ${p.label}: ${fmt(r.done / (r.responderMs / 1000))} ${p.version === 2 ? 'INIT+AUTH' : 'MM+QM'}/s per core as responder (${r.done} exchanges, ${r.failed} failed)`);
}

// 2. over UDP in namespaces, ours and charon
const A = '172.31.0.1', B = '172.31.0.2';
const nsA = `${P}-a`, nsB = `${P}-b`;
nsDown(P);
sh('ip', ['netns', 'add', nsA]); sh('ip', ['netns', 'add', nsB]);
sh('ip', ['link', 'add', `${P}a`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `${P}b`, 'netns', nsB]);
for (const [ns, dev, addr] of [[nsA, `${P}a`, A], [nsB, `${P}b`, B]]) {
  sh('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
  sh('ip', ['-n', ns, 'link', 'set', dev, 'up']); sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
}
const TICK = Number(sh('getconf', ['CLK_TCK']).stdout.trim()) || 100;
/** CPU seconds (user + system, all threads) of process `pid` so far. */
const cpu = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / TICK; };

async function drive(pid, policy) {
  const c0 = cpu(pid), t0 = performance.now();
  const r = JSON.parse(nsx(nsA, ['node', load, 'initiator', A, B, policy, String(N), String(CONC)]).stdout.trim().split('\n').pop());
  return { ...r, cpu: cpu(pid) - c0, wall: (performance.now() - t0) / 1000 };
}

async function ours(policy) {
  const p = spawn('ip', ['netns', 'exec', nsB, 'node', load, 'responder', B, policy], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = ''; p.stdout.on('data', (d) => { text += d; });
  await waitFor(() => text.includes('ready'), 10000);
  const r = await drive(p.pid, policy);
  p.kill('SIGTERM'); await new Promise((res) => p.once('exit', res));
  return r;
}

async function charon(policy) {
  const dir = join(tmp, `charon-${policy}`); sh('mkdir', ['-p', dir]);
  const vici = join(dir, 'charon.vici');
  writeFileSync(join(dir, 'strongswan.conf'), `charon {
  load = random nonce aes sha1 sha2 md5 hmac gmp gcrypt kdf openssl gcm curve25519 kernel-libipsec kernel-netlink socket-default vici
  install_routes = no
  plugins {
    vici { socket = unix://${vici} }
    kernel-libipsec { allow_peer_ts = yes }
    socket-default { fwmark = 0x42 }
    kernel-netlink { fwmark = !0x42 }
  }
  filelog { log { path = ${join(dir, 'charon.log')}
    default = 0 } }
  syslog { daemon { default = -1 } }
}
`);
  writeFileSync(join(dir, 'swanctl.conf'), `connections { dmvpn {
  version = ${POLICIES[policy].version ?? 1}
  encap = ${POLICIES[policy].version === 2 ? 'yes' : 'no'}
  local_addrs = ${B}
  remote_addrs = ${A}
  proposals = ${POLICIES[policy].ike}
  local { auth = psk
    id = ${B} }
  remote { auth = psk
    id = ${A} }
  children { gre {
    local_ts = ${B}/32[47]
    remote_ts = ${A}/32[47]
    esp_proposals = ${POLICIES[policy].esp}
    mode = tunnel } }
} }
secrets { ike-dmvpn { id-1 = ${A}
  id-2 = ${B}
  secret = P4ssw0rd } }
`);
  const p = spawn('ip', ['netns', 'exec', nsB, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c',
    `mount -t tmpfs tmpfs /run && exec env STRONGSWAN_CONF=${join(dir, 'strongswan.conf')} ${CHARON}`], { stdio: 'ignore' });
  if (!(await waitFor(() => existsSync(vici), 15000))) throw new Error('charon did not start');
  sh('swanctl', ['--load-all', '--file', join(dir, 'swanctl.conf'), '--uri', `unix://${vici}`]);
  await sleep(300);
  const r = await drive(p.pid, policy);
  p.kill('SIGTERM'); await new Promise((res) => p.once('exit', res));
  return r;
}

console.log(`over UDP between two namespaces, ${N} exchanges, ${CONC} at a time, our manager initiating; per responder CPU second:`);
const haveCharon = existsSync(CHARON) && existsSync('/usr/lib/ipsec/plugins/libstrongswan-gcrypt.so');
if (!haveCharon) console.log(`  (no ${CHARON} with the gcrypt plugin: Debian strongswan-charon, libstrongswan-extra-plugins; charon skipped)`);
for (const policy of Object.keys(POLICIES)) {
  const o = await ours(policy);
  const line = `  ${POLICIES[policy].label}: ours ${fmt(o.done / o.cpu)}/s per core (${o.done} done, ${o.failed} failed, ${o.cpu.toFixed(2)} CPU s, wall ${o.wall.toFixed(1)} s)`;
  if (!haveCharon) { console.log(line); continue; }
  const c = await charon(policy);
  console.log(`${line}\n  ${' '.repeat(POLICIES[policy].label.length)}  charon ${fmt(c.done / c.cpu)}/s per core (${c.done} done, ${c.failed} failed, ${c.cpu.toFixed(2)} CPU s, wall ${c.wall.toFixed(1)} s)` +
    `  => ours/charon = ${((o.done / o.cpu) / (c.done / c.cpu)).toFixed(2)}`);
}
