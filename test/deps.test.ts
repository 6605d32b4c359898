// `make deps` (deps/install.sh over deps/debian-packages.txt): idempotent on this machine (a second
// run installs nothing), installs only what is missing, and without root stops at once naming the
// missing packages. apt-get is replaced by a recorder on PATH in every case, so nothing is installed
// here; dpkg-query is the real one, or a wrapper that hides named packages to play a bare machine.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './util/lab.js';
import { needs, skipOrFail } from './util/needs.js';

const LIST = path.join(ROOT, 'deps/debian-packages.txt');
const packages = fs.readFileSync(LIST, 'utf8').split('\n').map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#')).map((l) => l.split(/\s+/)[0]);
const installed = (p: string) => spawnSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', p], { encoding: 'utf8' }).stdout === 'ii ';

/** A directory with a recording apt-get and a dpkg-query that hides `hidden` until "installed". */
function fakes(hidden: string[]): { dir: string; aptCalls: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmvdeps-'));
  fs.chmodSync(dir, 0o777); // the non-root case writes here as nobody
  const realDpkgQuery = spawnSync('sh', ['-c', 'command -v dpkg-query'], { encoding: 'utf8' }).stdout.trim();
  fs.writeFileSync(path.join(dir, 'dpkg-query'), `#!/bin/sh
for last; do :; done
for h in ${hidden.join(' ')}; do [ "$h" = "$last" ] && [ ! -e "${dir}/installed-$h" ] && exit 1; done
exec ${realDpkgQuery} "$@"
`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'apt-get'), `#!/bin/sh
echo "$*" >> "${dir}/apt-get.log"
[ "$1" = install ] && for p; do touch "${dir}/installed-$p"; done
exit 0
`, { mode: 0o755 });
  const aptCalls = () => { try { return fs.readFileSync(path.join(dir, 'apt-get.log'), 'utf8').split('\n').filter(Boolean); } catch { return []; } };
  return { dir, aptCalls };
}

function run(argv: string[], dir: string, asNobody = false) {
  const env = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
  const cmd = asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...argv] : argv;
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const notInstalled = packages.filter((p) => !installed(p)).map((p) => `Debian package ${p} (\`make deps\` installs it)`);

t.test('make deps on this machine, once it has run: a second run installs nothing', skipOrFail(t, notInstalled), async (t) => {
  const f = fakes([]);
  t.teardown(() => fs.rmSync(f.dir, { recursive: true, force: true }));
  const r = run(['make', '-s', 'deps'], f.dir);
  t.equal(r.code, 0, `exit status 0 (${r.out.trim()})`);
  t.same(f.aptCalls(), [], 'apt-get not called');
  t.match(r.out, new RegExp(`the ${packages.length} Debian packages for build lab test are installed`));
});

t.test('a bare machine as root: installs exactly what is missing, then nothing', needs(t, 'root'), async (t) => {
  const hidden = ['traceroute', 'tshark'];
  const f = fakes(hidden);
  t.teardown(() => fs.rmSync(f.dir, { recursive: true, force: true }));
  const first = run(['make', '-s', 'deps'], f.dir);
  t.equal(first.code, 0, `exit status 0 (${first.out.trim()})`);
  t.same(f.aptCalls(), ['update -q', `install -y -q --no-install-recommends ${hidden.join(' ')}`],
    'apt-get update, then install of the missing packages only');
  t.match(first.out, /deps: installed traceroute tshark/);
  const second = run(['make', '-s', 'deps'], f.dir);
  t.equal(second.code, 0, `exit status 0 (${second.out.trim()})`);
  t.equal(f.aptCalls().length, 2, 'second run: apt-get not called again');
  // make lab asks only for its own groups: the test-only tshark is not its business
  const g = fakes(['tshark']);
  t.teardown(() => fs.rmSync(g.dir, { recursive: true, force: true }));
  t.equal(run(['deps/install.sh', 'build', 'lab'], g.dir).code, 0);
  t.same(g.aptCalls(), [], 'the lab groups do not pull test packages');
});

t.test('not root: make test stops at once, naming the missing packages', needs(t, 'root', 'setpriv'), async (t) => {
  // root is needed to become nobody; as nobody `make test` must stop before building anything
  const f = fakes(['tshark', 'nftables']);
  t.teardown(() => fs.rmSync(f.dir, { recursive: true, force: true }));
  const r = run(['make', '-s', 'test'], f.dir, true);
  t.not(r.code, 0, 'make test failed');
  t.match(r.out, /deps: missing Debian packages: tshark nftables/, 'names them');
  t.match(r.out, /make deps/, 'and says how to install them');
  t.notMatch(r.out, /node_modules\/\.bin/, 'before building or testing anything');
  t.same(f.aptCalls(), [], 'apt-get not called');
});
