// No silent skips. A test that needs something this machine lacks (root, /dev/net/tun, tshark, qemu,
// the FRR VM image...) FAILS under CI (CI=true), naming what is missing and the Debian package that
// provides it; anywhere else it is skipped with a loud SKIP line saying why, and `make test` lists
// every skip again after tap's summary (test/util/skip-report.mjs). Use:
//   t.test('...', needs(t, 'root', 'tshark'), async (t) => { ... })   one subtest
//   requireTools(t, ['root', 'tshark'])                              a whole file (top, before any test)
//   t.test('...', skipOrFail(t, reasons), ...)                       one subtest, reasons found otherwise
//   cannotRun(t, ['the FRR VM image: build-image.sh failed ...'])   a whole file, reasons found otherwise
// A need is 'root', 'tun' or a command named in deps/debian-packages.txt (e.g. 'tshark', 'ip', 'nft',
// 'ping', 'traceroute', 'iperf3', 'qemu-system-x86_64'), which also gives the package to install.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The part of a tap Test this module uses (the root `t` or a subtest). */
interface TestLike { fail(message: string): unknown; plan(n: number, comment?: string): unknown; end(): unknown; name?: string }

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PACKAGE_LIST = path.join(ROOT, 'deps/debian-packages.txt');

export type Need = 'root' | 'tun' | string;

/** What every namespace test built on test/util/lab.ts needs: namespaces, TUN, iproute2, ping, sysctl. */
export const LAB_NEEDS: readonly Need[] = ['root', 'tun', 'ip', 'ping', 'sysctl'];

/** True under CI (CI=true, as CI systems and .ci/run set it): a missing tool is then a failure. */
export const inCi = (): boolean => !!process.env.CI && !/^(0|false|no)$/i.test(process.env.CI);

/** command -> Debian package, from the one package list. */
function packageOf(command: string): string | undefined {
  let text = '';
  try { text = fs.readFileSync(PACKAGE_LIST, 'utf8'); } catch { return undefined; }
  for (const line of text.split('\n')) {
    const [pkg, cmd] = line.trim().split(/\s+/);
    if (pkg && !pkg.startsWith('#') && cmd === command) return pkg;
  }
  return undefined;
}

function hasCommand(command: string): boolean {
  // an executable on PATH (or in sbin, which a non-root PATH may lack); tshark is also run once below
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'];
  return dirs.some((d) => { try { fs.accessSync(path.join(d, command), fs.constants.X_OK); return true; } catch { return false; } });
}

const cache = new Map<Need, string | null>();

/** Why `need` is not met here, or null when it is. */
function why(need: Need): string | null {
  if (cache.has(need)) return cache.get(need)!;
  let r: string | null = null;
  if (need === 'root') {
    if (process.getuid?.() !== 0) r = 'root (network namespaces, raw sockets, TUN): run as root';
  } else if (need === 'tun') {
    if (!fs.existsSync('/dev/net/tun')) r = '/dev/net/tun (the kernel TUN driver)';
  } else if (!hasCommand(need)) {
    const pkg = packageOf(need);
    r = `${need} (${pkg ? `Debian package ${pkg}: \`make deps\` installs it` : 'not in deps/debian-packages.txt'})`;
  } else if (need === 'tshark' && spawnSync('tshark', ['-v'], { encoding: 'utf8' }).status !== 0) {
    r = 'a working tshark (`tshark -v` fails)';
  }
  cache.set(need, r);
  return r;
}

/** Everything in `needs` this machine lacks, each with how to get it ([] when all is there). */
export function missing(needs: readonly Need[]): string[] {
  return needs.map(why).filter((x): x is string => x !== null);
}

function message(what: readonly string[]): string {
  return `missing: ${what.join('; ')}`;
}

/** The test file being run (tap runs each as `node ... FILE`). */
const testFile = () => path.relative(ROOT, process.argv[1] ?? 'this file');

function shout(where: string, what: readonly string[]): void {
  process.stderr.write(`\n*** SKIP ${where}: ${message(what)} (under CI=true this fails) ***\n`);
}

/**
 * Options for one subtest: `{}` when everything in `needs` is there. Otherwise the subtest does not
 * run: under CI the parent `t` gets a failing assertion naming what is missing; elsewhere the subtest
 * is reported as SKIP with the reason.
 */
export function needs(t: TestLike, ...list: Need[]): { skip?: string } {
  return skipOrFail(t, missing(list));
}

/** Like needs(), for reasons the caller found itself (e.g. packages dpkg says are not installed). */
export function skipOrFail(t: TestLike, what: readonly string[]): { skip?: string } {
  if (!what.length) return {};
  if (inCi()) {
    t.fail(`CI=true and a test here cannot run: ${message(what)}`);
    return { skip: `not run: ${message(what)} (failed above)` };
  }
  shout(testFile() + (t.name && t.name !== 'TAP' ? ` > ${t.name}` : ''), what);
  return { skip: message(what) };
}

/** Whole file: call at the top, before any test. Ends the file here when something is missing. */
export function requireTools(t: TestLike, list: readonly Need[]): void {
  const what = missing(list);
  if (what.length) cannotRun(t, what);
}

/**
 * Whole file, with reasons found by the caller (e.g. an image that would not build): under CI a
 * failure naming them, elsewhere a SKIP of the whole file; either way the process ends here.
 */
export function cannotRun(t: TestLike, what: readonly string[]): never {
  const file = testFile();
  if (inCi()) {
    t.fail(`CI=true and ${file} cannot run: ${message(what)}`);
    t.end();
    process.exit(1);
  }
  shout(file, what);
  t.plan(0, message(what));
  process.exit(0);
}
