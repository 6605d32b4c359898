// The appliance image under qemu for test/image*.test.ts: builds it (`make image`, cached), boots a
// private copy from the disk alone (firmware -> GRUB -> kernel -> init), and talks to its CLI on the
// first serial port through a qemu socket chardev, as a user at a terminal would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT, sleep, sh, type Lab } from '../util/lab.js';
import { cannotRun } from '../util/needs.js';

export type Arch = 'x86_64' | 'aarch64';

/** `make image ARCH=arch`; returns the image path or throws with the build's output tail. */
export function buildImage(arch: Arch): { image: string; seconds: number } {
  const t0 = Date.now();
  const r = spawnSync('make', ['--no-print-directory', 'image', `ARCH=${arch}`], { cwd: ROOT, encoding: 'utf8', timeout: 30 * 60_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`make image ARCH=${arch} failed (${r.status}):\n${(r.stdout + r.stderr).slice(-3000)}`);
  return { image: path.join(ROOT, `build/image/dmvpn-${arch}.img`), seconds: (Date.now() - t0) / 1000 };
}

/** The image for `arch`, built or from the cache; a build that fails ends the test file (cannotRun). */
export function imageOrCannotRun(t: Parameters<typeof cannotRun>[0] & { comment(m: string): unknown }, arch: Arch): string {
  try {
    const b = buildImage(arch);
    t.comment(`image ready after ${b.seconds.toFixed(1)} s (make image ARCH=${arch})`);
    return b.image;
  } catch (e) { return cannotRun(t, [`the ${arch} appliance image (${(e as Error).message.slice(-1500)})`]); }
}

/** A private copy of `image` in `dir` (sparse), with `config` as its startup-config when given (else
 *  the factory default); `debugShell`: the persistent partition asks init for a root shell on hvc0;
 *  `provisioning`: a provisioning file put on the persistent partition (a factory box enrolls with it). */
export function provision(image: string, dir: string, config?: string, opts: { debugShell?: boolean; provisioning?: string } = {}): string {
  const copy = path.join(dir, path.basename(image));
  const cp = spawnSync('cp', ['--sparse=always', image, copy], { encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`cp ${image}: ${cp.stderr}`);
  if (config !== undefined || opts.debugShell || opts.provisioning) {
    let cfg = '-';
    if (config !== undefined) { cfg = path.join(dir, 'startup-config'); fs.writeFileSync(cfg, config); }
    const r = spawnSync('bash', [path.join(ROOT, 'rootfs/set-config.sh'), ...(opts.debugShell ? ['--debug-shell'] : []),
      ...(opts.provisioning ? ['--provisioning', opts.provisioning] : []), copy, cfg], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`set-config.sh: ${r.stderr}`);
  }
  return copy;
}

/** debugfs (e2fsprogs) `request` on the persistent partition (partition 4) of a disk image, on the
 *  host: what survives a reload, what a factory image ships. */
function onPersistentPartition(disk: string, request: string, dir: string): string {
  const parts = JSON.parse(spawnSync('sfdisk', ['-J', disk], { encoding: 'utf8' }).stdout).partitiontable.partitions;
  const part = path.join(dir, 'data-partition.ext4');
  const dd = spawnSync('dd', [`if=${disk}`, `of=${part}`, 'bs=512', `skip=${parts[3].start}`, `count=${parts[3].size}`, 'status=none'], { encoding: 'utf8' });
  if (dd.status !== 0) throw new Error(`dd: ${dd.stderr}`);
  const r = spawnSync('debugfs', ['-R', request, part], { encoding: 'utf8' });
  fs.rmSync(part, { force: true });
  // debugfs exits 0 when the request fails (a missing file): its complaint is on stderr
  if (r.status !== 0 || /not found/i.test(r.stderr)) throw new Error(`debugfs ${request}: ${r.stderr}`);
  return r.stdout;
}

/** The file `name` of the persistent partition of a disk image. */
export function persistentFile(disk: string, name: string, dir: string): string {
  return onPersistentPartition(disk, `cat /${name}`, dir);
}

/** The names at the top of the persistent partition of a disk image, sorted. */
export function persistentNames(disk: string, dir: string): string[] {
  return onPersistentPartition(disk, 'ls -p /', dir).split('\n').map((l) => l.split('/')[5]).filter((n) => n && n !== '.' && n !== '..').sort();
}

export interface BootOptions {
  arch: Arch;
  disk: string;
  dir: string;
  /** network namespace to run qemu in (where `tap` lives); none: no NIC */
  ns?: string;
  tap?: string;
  mac?: string;
  /** x86_64 only: boot under UEFI (OVMF) instead of the default SeaBIOS */
  uefi?: boolean;
  /** a virtio console (the guest's hvc0) on a second socket: init's debug shell (provision's debugShell) */
  debugShell?: boolean;
  /** x86_64: what qemu does when the i6300esb timer expires; 'debug' prints "watchdog: timer fired" on
   *  qemu's stderr and lets the VM run on (default: reset, which -no-reboot turns into an exit) */
  watchdogAction?: 'debug';
  /** a raw disk image plugged in as a USB stick (qemu-xhci + usb-storage): the factory provisioning stick */
  usbStick?: string;
  /** the USB controller (qemu-xhci) even without a stick at boot, and a QMP socket: plugUsbStick plugs one
   *  in while the VM runs, as a hand does */
  usbHotplug?: boolean;
}

export class ImageVm {
  proc?: ChildProcess;
  private sock?: net.Socket;
  private text = '';
  private hvc?: net.Socket;
  private hvcText = '';
  private hvcCommands = 0;
  /** what qemu itself printed (stdout and stderr), also in qemu-ARCH.log */
  private qemuText = '';
  /** 'change': new console, hvc0 or qemu output, or qemu ended: what the waits below wake on */
  private readonly events = new EventEmitter();
  readonly serialSock: string;
  readonly hvcSock: string;
  readonly qmpSock: string;
  private plugged = 0;
  readonly startedAt = Date.now();
  /** [end offset of the console text, arrival time]: when each piece of console output came */
  private readonly arrivals: Array<[number, number]> = [];

  constructor(readonly opts: BootOptions) {
    this.serialSock = path.join(opts.dir, `serial-${opts.arch}.sock`);
    this.hvcSock = path.join(opts.dir, `hvc-${opts.arch}.sock`);
    this.qmpSock = path.join(opts.dir, `qmp-${opts.arch}.sock`);
  }

  start(): void {
    const o = this.opts;
    const qemu = o.arch === 'x86_64' ? 'qemu-system-x86_64' : 'qemu-system-aarch64';
    const args = ['-accel', 'tcg,thread=multi', '-m', '1024', '-smp', '2', '-nodefaults', '-no-reboot', '-display', 'none',
      '-chardev', `socket,id=s0,path=${this.serialSock},server=on,wait=off,logfile=${path.join(o.dir, `serial-${o.arch}.log`)}`,
      '-serial', 'chardev:s0', '-drive', `file=${o.disk},format=raw,if=virtio`];
    if (o.arch === 'aarch64') {
      // UEFI (Debian's qemu-efi-aarch64): a writable copy of the variable store next to the code
      const vars = path.join(o.dir, 'AAVMF_VARS.fd');
      fs.copyFileSync('/usr/share/AAVMF/AAVMF_VARS.fd', vars);
      args.unshift('-M', 'virt', '-cpu', 'max',
        '-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd',
        '-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
    } else {
      // V8 compiles our Wasm SIMD only on CPUs with SSE4.1: qemu's default TCG model (qemu64) lacks it
      // and the hardware watchdog init feeds (its default action: reset, which -no-reboot turns into an exit)
      args.unshift('-cpu', 'max', '-device', 'i6300esb');
      if (o.uefi) args.unshift('-bios', '/usr/share/ovmf/OVMF.fd');
      if (o.watchdogAction) args.push('-action', `watchdog=${o.watchdogAction}`);
    }
    if (o.debugShell) {
      args.push('-device', 'virtio-serial-pci', '-device', 'virtconsole,chardev=s1',
        '-chardev', `socket,id=s1,path=${this.hvcSock},server=on,wait=off,logfile=${path.join(o.dir, `hvc-${o.arch}.log`)}`);
    }
    if (o.usbStick || o.usbHotplug) args.push('-device', 'qemu-xhci,id=xhci');
    if (o.usbStick) args.push('-drive', `if=none,id=stick,format=raw,file=${o.usbStick}`, '-device', 'usb-storage,bus=xhci.0,drive=stick');
    if (o.usbHotplug) args.push('-qmp', `unix:${this.qmpSock},server=on,wait=off`);
    if (o.tap) args.push('-netdev', `tap,id=n0,ifname=${o.tap},script=no,downscript=no`, '-device', `virtio-net-pci,netdev=n0,mac=${o.mac ?? '52:54:00:12:34:56'}`);
    const argv = o.ns ? ['ip', ['netns', 'exec', o.ns, qemu, ...args]] as const : [qemu, args] as const;
    this.proc = spawn(argv[0], [...argv[1]], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = fs.createWriteStream(path.join(o.dir, `qemu-${o.arch}.log`));
    for (const out of [this.proc.stdout!, this.proc.stderr!]) {
      out.pipe(log);
      out.on('data', (d: Buffer) => { this.qemuText += d.toString('latin1'); this.changed(); });
    }
    this.proc.on('exit', () => this.changed()).on('close', () => this.changed());
  }

  private changed(): void { this.events.emit('change'); }

  /** Resolves to `found()`'s first value other than undefined, tried now and again on each change;
   *  rejects when `found` throws, or after `ms` with `late()`'s message. No polling. */
  private until<T>(found: () => T | undefined, ms: number, late: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = () => { clearTimeout(timer); this.events.off('change', check); };
      const check = () => {
        let v: T | undefined;
        try { v = found(); } catch (e) { done(); reject(e); return; }
        if (v !== undefined) { done(); resolve(v); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(late())); }, ms);
      this.events.on('change', check);
      check();
    });
  }

  /** Throws, saying what was awaited, once qemu has ended; else undefined (nothing found yet). */
  private running(waitingFor: string): undefined {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) throw new Error(`qemu exited (${p?.exitCode ?? p?.signalCode}) ${waitingFor}`);
    return undefined;
  }

  private async connect(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!this.sock) {
      if (this.proc?.exitCode !== null) throw new Error(`qemu exited (${this.proc?.exitCode}): ${this.qemuLog()}`);
      try {
        this.sock = await new Promise<net.Socket>((res, rej) => {
          const s = net.createConnection(this.serialSock);
          s.once('connect', () => res(s)); s.once('error', rej);
        });
        this.sock.on('data', (d) => { this.text += d.toString('latin1').replace(/\r/g, ''); this.arrivals.push([this.text.length, Date.now()]); this.changed(); });
        this.sock.on('error', () => undefined);
      } catch {
        if (Date.now() > end) throw new Error(`no serial socket ${this.serialSock} after ${ms} ms`);
        await sleep(100);
      }
    }
  }

  /** The tail of what qemu itself printed. */
  qemuLog(): string { return this.qemuText.slice(-2000); }

  /** Waits until qemu itself prints something matching `re` (e.g. `-action watchdog=debug`'s report). */
  async expectQemu(re: RegExp, ms: number): Promise<void> {
    await this.until(() => (re.test(this.qemuText) ? true : this.running(`waiting for ${re} from qemu`)), ms, () => `qemu did not print ${re} within ${ms} ms; its output:\n${this.qemuLog()}`);
  }
  /** Seconds from qemu's start to the arrival of the console text matching `re` (undefined: not seen). */
  secondsTo(re: RegExp): number | undefined {
    const m = re.exec(this.text);
    if (!m) return undefined;
    const arrived = this.arrivals.find(([end]) => end >= m.index + m[0].length);
    return arrived ? (arrived[1] - this.startedAt) / 1000 : undefined;
  }

  /** Everything the console printed so far (CRs removed). */
  get output(): string { return this.text; }

  /** Waits until the console output after `from` matches `re`; returns the match's end offset. */
  async expect(re: RegExp, ms: number, from = 0): Promise<number> {
    await this.connect(30_000);
    return this.until(() => {
      const m = re.exec(this.text.slice(from));
      return m ? from + m.index + m[0].length : this.running(`waiting for ${re}; console:\n${this.text.slice(-3000)}\n${this.qemuLog()}`);
    }, ms, () => `no ${re} on the console within ${ms} ms; console tail:\n${this.text.slice(-3000)}`);
  }

  send(bytes: string | Buffer): void { this.sock!.write(bytes); }

  /** Runs `cmd` in init's debug shell on hvc0 (debugShell); resolves to its output and exit status. */
  async shell(cmd: string, ms = 120_000): Promise<{ out: string; rc: number }> {
    if (!this.hvc) {
      this.hvc = await new Promise<net.Socket>((res, rej) => {
        const s = net.createConnection(this.hvcSock);
        s.once('connect', () => res(s)); s.once('error', rej);
      });
      this.hvc.on('data', (d) => { this.hvcText += d.toString('latin1').replace(/\r/g, ''); this.changed(); });
      this.hvc.on('error', () => undefined);
    }
    const n = ++this.hvcCommands;
    const from = this.hvcText.length;
    this.hvc.write(`${cmd}\necho "@@done ${n} $?"\n`);
    const marker = new RegExp(`@@done ${n} (\\d+)\n`);
    // under TCG a line written to the virtio console sometimes reaches the guest only with the next
    // write: an empty line every 3 s without an answer pushes it through (an empty command to sh)
    const hvc = this.hvc;
    const nudge = setInterval(() => hvc.write('\n'), 3000);
    try {
      return await this.until(() => {
        const m = marker.exec(this.hvcText.slice(from));
        return m ? { out: this.hvcText.slice(from, from + m.index), rc: Number(m[1]) } : this.running(`during \`${cmd}\`; hvc0:\n${this.hvcText.slice(-2000)}`);
      }, ms, () => `\`${cmd}\` did not finish within ${ms} ms on hvc0; its tail:\n${this.hvcText.slice(-2000)}`);
    } finally { clearInterval(nudge); }
  }

  /** Plugs the raw disk image `image` in as a USB stick while the VM runs (usbHotplug): QMP blockdev-add
   *  and device_add usb-storage on the xhci controller, as qemu's monitor does a hot plug. Throws with
   *  qemu's error when it refuses. */
  async plugUsbStick(image: string): Promise<void> {
    const id = `hotstick${++this.plugged}`;
    await this.qmp([
      { execute: 'blockdev-add', arguments: { driver: 'raw', 'node-name': id, file: { driver: 'file', filename: image } } },
      { execute: 'device_add', arguments: { driver: 'usb-storage', bus: 'xhci.0', drive: id, id: `${id}-dev` } },
    ]);
  }

  /** Runs QMP `commands` in order on a fresh connection (greeting, qmp_capabilities first); events
   *  that arrive meanwhile are skipped. Rejects at the first error reply. */
  private async qmp(commands: object[], ms = 60_000): Promise<void> {
    const s = net.createConnection(this.qmpSock);
    let buf = '';
    const waiters: Array<(msg: { return?: unknown; error?: { desc: string } }) => void> = [];
    const failed = new Promise<never>((_, rej) => {
      s.once('error', rej);
      s.once('close', () => rej(new Error('QMP connection closed')));
      setTimeout(() => rej(new Error(`QMP: no answer within ${ms} ms`)), ms).unref();
    });
    s.on('data', (d) => {
      buf += d.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim(); buf = buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line);
        if ('return' in msg || 'error' in msg || 'QMP' in msg) waiters.shift()?.(msg);
      }
    });
    const next = () => Promise.race([new Promise<{ return?: unknown; error?: { desc: string } }>((res) => waiters.push(res)), failed]);
    try {
      await next(); // the greeting
      for (const c of [{ execute: 'qmp_capabilities' }, ...commands]) {
        const reply = next();
        s.write(JSON.stringify(c) + '\n');
        const r = await reply;
        if (r.error) throw new Error(`QMP ${JSON.stringify(c)}: ${r.error.desc}`);
      }
    } finally { s.destroy(); }
  }

  /** Resolves to qemu's exit code once it has exited (undefined: still running after `ms`). */
  async exited(ms: number): Promise<number | null | undefined> {
    const p = this.proc;
    if (!p) return undefined;
    return this.until(() => (p.exitCode !== null || p.signalCode !== null ? p.exitCode : undefined), ms, () => '').catch(() => undefined);
  }

  /** Types `line` + RETURN at a prompt; resolves to what the console printed up to the next prompt. */
  async command(line: string, prompt: RegExp, ms = 60_000): Promise<string> {
    const from = this.text.length;
    this.send(`${line}\r`);
    const end = await this.expect(new RegExp(`${escape(line)}\\n([\\s\\S]*?)(${prompt.source})$`), ms, from);
    const chunk = this.text.slice(from, end);
    const body = chunk.slice(chunk.indexOf('\n') + 1);
    return body.replace(new RegExp(`${prompt.source}$`), '');
  }

  async stop(): Promise<void> {
    this.sock?.destroy(); this.hvc?.destroy();
    if (!this.proc || this.proc.exitCode !== null) return;
    const done = new Promise<void>((res) => this.proc!.once('exit', () => res()));
    this.proc.kill('SIGKILL'); // `ip netns exec` execs qemu, so this is qemu's pid
    await Promise.race([done, sleep(3000)]);
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The hub's side of a boot test: `lab`'s R1 namespace with lo up and the tap fa0-0 that qemu plugs
 *  the VM's NIC into. The teardown stops the VM `vm()` returns (when there is one), the hub and the
 *  namespace, and keeps the lab's directory as evidence when a test failed. Returns the namespace. */
export function hubNamespace(t: { teardown(f: () => unknown): void; passing(): boolean; comment(m: string): unknown }, lab: Lab, vm: () => ImageVm | undefined): string {
  const ns = lab.ns('R1');
  t.teardown(async () => {
    await vm()?.stop();
    await lab.stop('R1');
    sh('ip', ['netns', 'del', ns], { allowFail: true });
    if (!t.passing()) t.comment(`evidence kept in ${lab.dir}`);
    else fs.rmSync(lab.dir, { recursive: true, force: true });
  });
  sh('ip', ['netns', 'add', ns]);
  sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  sh('ip', ['netns', 'exec', ns, 'ip', 'tuntap', 'add', 'dev', 'fa0-0', 'mode', 'tap']);
  return ns;
}
