// strongSwan (charon) as an interoperability peer inside a network namespace the test made: its own
// strongswan.conf (STRONGSWAN_CONF), its own vici socket, logs in the test's temp dir, and a private
// /run (charon's pid file path is compiled in, so two charons would otherwise refuse each other).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sleep, waitFor } from './lab.js';

export const CHARON = '/usr/lib/ipsec/charon';

/** Why strongSwan cannot run here ([] when it can), naming the Debian packages. */
export function strongswanMissing(): string[] {
  const out: string[] = [];
  if (!fs.existsSync(CHARON)) out.push(`${CHARON} (Debian package strongswan-charon)`);
  if (!fs.existsSync('/usr/lib/ipsec/plugins/libstrongswan-gcrypt.so')) out.push('the gcrypt plugin for DES (Debian package libstrongswan-extra-plugins)');
  return out;
}

export class Charon {
  private proc?: ChildProcess;
  readonly uri: string;
  readonly logFile: string;

  /** `plugins`: more charon plugins to load (IKEv2 needs kdf for prf+, and openssl/gcm/chapoly/curve25519 for its suites). */
  constructor(readonly ns: string, readonly dir: string, private readonly plugins: string[] = []) {
    fs.mkdirSync(dir, { recursive: true });
    this.uri = `unix://${path.join(dir, 'charon.vici')}`;
    this.logFile = path.join(dir, 'charon.log');
  }

  async start(): Promise<void> {
    const conf = path.join(this.dir, 'strongswan.conf');
    fs.writeFileSync(conf, `charon {
  # DES (gcrypt) and modp768 (gmp) are what IOS defaults and seed 003 need. ESP in userspace
  # (kernel-libipsec, a TUN device): this kernel has no xfrm ESP.
  load = random nonce aes sha1 sha2 md5 hmac gmp gcrypt ${this.plugins.join(' ')} kernel-libipsec kernel-netlink socket-default vici
  install_routes = no
  retransmit_tries = 2
  plugins {
    vici { socket = ${this.uri} }
    # GRE between the IKE peers: the selectors include the peer's own address, so the route into
    # libipsec's TUN device would swallow IKE too; IKE packets carry a mark the route rule skips
    kernel-libipsec { allow_peer_ts = yes }
    socket-default { fwmark = 0x42 }
    kernel-netlink { fwmark = !0x42 }
  }
  filelog {
    log {
      path = ${this.logFile}
      flush_line = yes
      default = 1
      ike = 2
      cfg = 2
      knl = 2
      # level 4 logs the Child SA keys: the interop test compares them with ours
      chd = 4
    }
  }
  syslog { daemon { default = -1 } }
}
`);
    this.proc = spawn('ip', ['netns', 'exec', this.ns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c',
      `mount -t tmpfs tmpfs /run && exec env STRONGSWAN_CONF=${conf} ${CHARON}`], { stdio: 'ignore' });
    const sock = path.join(this.dir, 'charon.vici');
    if (!(await waitFor(() => fs.existsSync(sock), 15000))) throw new Error(`charon did not open its vici socket; log: ${this.log()}`);
  }

  /** swanctl against this charon; throws with its output when it fails unless allowFail. */
  swanctl(args: string[], allowFail = false): string {
    const r = spawnSync('swanctl', [...args, '--uri', this.uri], { encoding: 'utf8', timeout: 60000 });
    const out = (r.stdout ?? '') + (r.stderr ?? '');
    if (r.status !== 0 && !allowFail) throw new Error(`swanctl ${args.join(' ')} exited ${r.status}: ${out}`);
    return out;
  }

  /** A private key (PEM file) for `load`: swanctl --load-all takes keys from private/ beside its file. */
  addPrivateKey(keyFile: string): void {
    fs.mkdirSync(path.join(this.dir, 'private'), { recursive: true });
    fs.copyFileSync(keyFile, path.join(this.dir, 'private', path.basename(keyFile)));
  }

  load(swanctlConf: string): void {
    const file = path.join(this.dir, 'swanctl.conf');
    fs.writeFileSync(file, swanctlConf);
    this.swanctl(['--load-all', '--file', file]);
  }

  log(): string { try { return fs.readFileSync(this.logFile, 'utf8'); } catch { return ''; } }

  stop(): Promise<void> { return stopChild(this.proc); }
}

/** SIGTERM to a child we spawned, SIGKILL if it is still there after 5 s. */
export async function stopChild(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode) return;
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  await Promise.race([gone, sleep(5000)]);
  if (p.exitCode === null && !p.signalCode) p.kill('SIGKILL');
}

/**
 * The Child SA key material charon logs at `chd = 4` (keymat_v1: "<initiator|responder> SA seed",
 * "encryption|integrity <initiator|responder> key"), last occurrence of each, as hex.
 */
export function charonChildKeys(log: string): Record<string, string> {
  const lines = log.split('\n');
  const out: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const m = /\[CHD\] ((?:initiator|responder) SA seed|(?:encryption|integrity) (?:initiator|responder) key) => (\d+) bytes/.exec(lines[i]);
    if (!m) continue;
    let hex = '';
    for (let j = i + 1; j < lines.length && hex.length < Number(m[2]) * 2; j++) {
      const d = /\[CHD\]\s+\d+: ((?:[0-9A-F]{2} ?)+)/.exec(lines[j]);
      if (!d) break;
      hex += d[1].replace(/\s+/g, '').toLowerCase();
    }
    out[m[1]] = hex.slice(0, Number(m[2]) * 2);
  }
  return out;
}

/** swanctl.conf for charon as our DMVPN peer: one connection from `theirs` (charon) to `ours`, PSK
 *  authentication by address, or certificates (`pubkey`: charon's certificate and the CA it trusts for
 *  ours, its key in private/ by Charon.addPrivateKey), one GRE child (protocol 47 between the two addresses). */
export function swanctlConf(o: { version: 1 | 2; ours: string; theirs: string; proposals: string; psk?: string; encap?: boolean;
  esp?: string; mode?: string; extra?: string; childExtra?: string; pubkey?: { cert: string; cacert: string };
  /** IKE identities other than the addresses (an FQDN with certificates): charon's own and the one it expects */
  localId?: string; remoteId?: string }): string {
  const auth = (side: 'local' | 'remote') => (!o.pubkey ? 'auth = psk'
    : side === 'local' ? `auth = pubkey\n      certs = ${o.pubkey.cert}` : `auth = pubkey\n      cacerts = ${o.pubkey.cacert}`);
  return `connections {
  dmvpn {
    version = ${o.version}
    encap = ${o.encap ? 'yes' : 'no'}
    local_addrs = ${o.theirs}
    remote_addrs = ${o.ours}
    proposals = ${o.proposals}
    ${o.extra ?? ''}
    local {
      ${auth('local')}
      id = ${o.localId ?? o.theirs}
    }
    remote {
      ${auth('remote')}
      id = ${o.remoteId ?? o.ours}
    }
    children {
      gre {
        local_ts = ${o.theirs}/32[47]
        remote_ts = ${o.ours}/32[47]
        esp_proposals = ${o.esp ?? 'aes128-sha1'}
        mode = ${o.mode ?? 'tunnel'}
        ${o.childExtra ?? ''}
      }
    }
  }
}
${o.pubkey ? '' : `secrets {
  ike-dmvpn {
    id-1 = ${o.ours}
    id-2 = ${o.theirs}
    secret = ${o.psk ?? 'P4ssw0rd'}
  }
}
`}`;
}
