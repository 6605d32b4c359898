// A qemu VM for interop tests (image from build-image.sh) and a qemu-guest-agent client to run
// commands in it. Adapted from the reference lab in ../shared/lab (03-dmvpn-vms.sh, qga.py).
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../util/lab.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Builds the image if needed (cached); returns its directory or throws with the build log. */
export function buildImage(): string {
  const r = spawnSync('bash', [path.join(HERE, 'build-image.sh')], { encoding: 'utf8', timeout: 15 * 60_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`build-image.sh failed (${r.status}):\n${(r.stderr || '').slice(-4000)}`);
  return r.stdout.trim().split('\n').pop()!;
}

/** The guest shell script made of these files of test/interop/, in order (a piece like frr-hub.sh first:
 *  the guest's /bin/sh reads it all from stdin, so nothing is copied into the image to be sourced). */
export function vmScript(...names: string[]): string {
  return names.map((n) => fs.readFileSync(path.join(HERE, n), 'utf8')).join('\n');
}

export interface Nic { tap: string; mac: string }

export class Vm {
  proc?: ChildProcess;
  readonly serial: string;
  readonly qgaSock: string;
  constructor(readonly name: string, readonly dir: string, readonly imageDir: string, readonly ns: string, readonly nics: Nic[]) {
    this.serial = path.join(dir, `${name}.serial.log`);
    this.qgaSock = path.join(dir, `${name}.qga`);
  }

  /** Starts qemu inside namespace `ns` (where the taps live). TCG unless /dev/kvm is a real KVM. */
  start(): void {
    const kvm = fs.existsSync('/dev/kvm') && !fs.existsSync('/sys/module/kvm_pvm') && process.env.DMVPN_INTEROP_ACCEL !== 'tcg';
    const accel = kvm ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
    const args = [
      'netns', 'exec', this.ns, 'qemu-system-x86_64', ...accel, '-m', '768', '-smp', '2', '-nodefaults', '-no-reboot',
      '-display', 'none', '-serial', `file:${this.serial}`,
      '-kernel', path.join(this.imageDir, 'vmlinux'), '-initrd', path.join(this.imageDir, 'initrd'),
      '-append', 'root=/dev/vda rw init=/sbin/vm-init net.ifnames=0 console=ttyS0 quiet panic=-1',
      '-drive', `file=${path.join(this.imageDir, 'dmvpn.img')},if=virtio,format=raw,snapshot=on`,
      '-device', 'virtio-serial-pci', '-chardev', `socket,id=qga0,path=${this.qgaSock},server=on,wait=off`,
      '-device', 'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0',
    ];
    this.nics.forEach((n, i) => args.push('-netdev', `tap,id=n${i},ifname=${n.tap},script=no,downscript=no`,
      '-device', `virtio-net-pci,netdev=n${i},mac=${n.mac}`));
    this.proc = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = fs.createWriteStream(path.join(this.dir, `${this.name}.qemu.log`));
    this.proc.stdout!.pipe(log); this.proc.stderr!.pipe(log);
  }

  serialLog(): string { try { return fs.readFileSync(this.serial, 'utf8'); } catch { return ''; } }

  /** Waits for VM-READY on the serial console; throws with the console tail on timeout/exit. */
  async waitReady(ms: number): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (/VM-READY/.test(this.serialLog())) return Date.now() - t0;
      if (this.proc?.exitCode !== null && this.proc?.exitCode !== undefined) break;
      await sleep(200);
    }
    throw new Error(`VM ${this.name} not ready after ${Date.now() - t0} ms; console:\n${this.serialLog().slice(-3000)}`);
  }

  async stop(): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null) return;
    const done = new Promise<void>((res) => this.proc!.once('exit', () => res()));
    this.proc.kill('SIGKILL'); // `ip netns exec` execs qemu, so this is qemu's pid
    await Promise.race([done, sleep(3000)]);
  }

  /** Runs argv in the guest (guest-exec), optionally feeding `input` on stdin. */
  exec(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<{ code: number; out: string; err: string }> {
    return qgaExec(this.qgaSock, argv, opts);
  }

  /** Runs a shell script in the guest. */
  sh(script: string, timeoutMs = 60_000) { return this.exec(['/bin/sh', '-s'], { input: script, timeoutMs }); }

  async vtysh(...cmds: string[]): Promise<string> {
    const r = await this.exec(['vtysh', ...cmds.flatMap((c) => ['-c', c])]);
    return r.out + r.err;
  }
}

/** Minimal qemu-guest-agent client: sync, guest-exec, poll guest-exec-status. */
async function qgaExec(sock: string, argv: string[], opts: { input?: string; timeoutMs?: number }) {
  const timeout = opts.timeoutMs ?? 60_000;
  const s = net.createConnection(sock);
  await new Promise<void>((res, rej) => { s.once('connect', () => res()); s.once('error', rej); });
  let buf = '';
  const waiters: Array<(l: string) => void> = [];
  const lines: string[] = [];
  s.on('data', (d) => {
    buf += d.toString('latin1');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i).replace(/\xff/g, '').trim(); buf = buf.slice(i + 1);
      if (!l) continue;
      const w = waiters.shift(); if (w) w(l); else lines.push(l);
    }
  });
  const next = (ms: number) => new Promise<string>((res, rej) => {
    if (lines.length) return res(lines.shift()!);
    const tm = setTimeout(() => rej(new Error(`qga ${sock}: no answer in ${ms} ms`)), ms);
    waiters.push((l) => { clearTimeout(tm); res(l); });
  });
  const call = async (execute: string, args?: object, ms = 10_000) => {
    s.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
    for (;;) {
      const r = JSON.parse(await next(ms));
      if (r.error) throw new Error(`qga ${execute}: ${JSON.stringify(r.error)}`);
      if ('return' in r) return r.return;
    }
  };
  try {
    const id = Math.floor(Math.random() * 1e6);
    s.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id } }) + '\n')]));
    for (;;) { const r = JSON.parse(await next(10_000)); if (r.return === id) break; }
    const a: any = { path: argv[0], arg: argv.slice(1), 'capture-output': true };
    if (opts.input !== undefined) a['input-data'] = Buffer.from(opts.input).toString('base64');
    const { pid } = await call('guest-exec', a);
    const end = Date.now() + timeout;
    for (;;) {
      const st = await call('guest-exec-status', { pid });
      if (st.exited) {
        return {
          code: st.exitcode ?? (st.signal ? 128 + st.signal : 0),
          out: Buffer.from(st['out-data'] ?? '', 'base64').toString(),
          err: Buffer.from(st['err-data'] ?? '', 'base64').toString(),
        };
      }
      if (Date.now() > end) throw new Error(`guest command timed out after ${timeout} ms: ${argv.join(' ')}`);
      await sleep(150);
    }
  } finally { s.destroy(); }
}
