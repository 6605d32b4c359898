// grubenv (appliance/firmware/grubenv.ts) against GRUB's own tool: what grub-editenv writes we read,
// what we write grub-editenv lists, byte for byte the same block for the same variables; the update
// is in place (same inode, same 1024 bytes) and refuses values GRUB would need escaped. The second
// copy (grubenv2): written after the first, read when the first is damaged, the first healed from it.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { requireTools } from './util/needs.js';
import { formatGrubenv, parseGrubenv, readGrubenv, updateGrubenv, readBootEnv, grubenvCopyOf, GRUBENV_SIZE } from '../appliance/firmware/grubenv.js';

requireTools(t, ['grub-editenv']);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hfw-grubenv-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const editenv = (...args: string[]) => {
  const r = spawnSync('grub-editenv', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`grub-editenv ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

t.test('reads what grub-editenv writes (as rootfs/build.sh makes it)', async (t) => {
  const f = path.join(dir, 'a');
  editenv(f, 'create'); editenv(f, 'set', 'slot=A'); editenv(f, 'set', 'try_slot=B');
  t.equal(fs.statSync(f).size, GRUBENV_SIZE);
  t.same([...readGrubenv(f)], [['slot', 'A'], ['try_slot', 'B']]);
  editenv(f, 'unset', 'try_slot');
  t.same([...readGrubenv(f)], [['slot', 'A']], 'after grub-editenv unset (what save_env leaves, try_slot empty or gone)');
});

t.test('writes what grub-editenv reads, and the same bytes it would', async (t) => {
  const ours = path.join(dir, 'ours'), theirs = path.join(dir, 'theirs');
  fs.writeFileSync(ours, formatGrubenv(new Map([['slot', 'B'], ['try_slot', 'A']])));
  t.equal(editenv(ours, 'list'), 'slot=B\ntry_slot=A\n', 'grub-editenv lists our block');
  editenv(theirs, 'create'); editenv(theirs, 'set', 'slot=B'); editenv(theirs, 'set', 'try_slot=A');
  t.ok(fs.readFileSync(ours).equals(fs.readFileSync(theirs)), 'byte for byte grub-editenv\'s block');
  t.same([...parseGrubenv(fs.readFileSync(theirs))], [['slot', 'B'], ['try_slot', 'A']]);
});

t.test('updates in place: same file, same size, other variables kept', async (t) => {
  const f = path.join(dir, 'inplace');
  editenv(f, 'create'); editenv(f, 'set', 'slot=A'); editenv(f, 'set', 'other=x');
  const ino = fs.statSync(f).ino;
  updateGrubenv(f, { try_slot: 'B' });
  t.equal(editenv(f, 'list'), 'slot=A\nother=x\ntry_slot=B\n');
  updateGrubenv(f, { slot: 'B', try_slot: undefined });
  t.equal(editenv(f, 'list'), 'slot=B\nother=x\n', 'commit: slot set, try_slot removed, other kept');
  t.equal(fs.statSync(f).ino, ino, 'the same file (GRUB\'s save_env needs its blocks where they were)');
  t.equal(fs.statSync(f).size, GRUBENV_SIZE);
});

t.test('refuses what it cannot write faithfully, and broken blocks', async (t) => {
  t.throws(() => formatGrubenv(new Map([['slot', 'A\nB']])), /value .* refused/);
  t.throws(() => formatGrubenv(new Map([['sl ot', 'A']])), /name .* refused/);
  t.throws(() => formatGrubenv(new Map([['x', 'y'.repeat(600)]])), /first 512-byte sector/);
  t.throws(() => parseGrubenv(Buffer.alloc(1024, '#')), /lacks its/);
  t.throws(() => parseGrubenv(Buffer.alloc(1000)), /not 1024/);
  const f = path.join(dir, 'short');
  fs.writeFileSync(f, 'slot=A\n');
  t.throws(() => updateGrubenv(f, { try_slot: 'B' }), /bytes, not 1024/);
  t.equal(fs.readFileSync(f, 'utf8'), 'slot=A\n', 'a broken grubenv is left as it was');
});

t.test('a damaged block (a torn write) is written anew by an update that gives slot, refused by one that does not', async (t) => {
  fs.mkdirSync(path.join(dir, 'one')); // no second copy beside it (a box made before there were two)
  const f = path.join(dir, 'one', 'grubenv');
  const good = formatGrubenv(new Map([['slot', 'B']]));
  const torn = Buffer.concat([Buffer.alloc(512, 0xff), good.subarray(512)]); // the first sector lost
  fs.writeFileSync(f, torn);
  const ino = fs.statSync(f).ino;
  t.throws(() => readGrubenv(f), /lacks its/);
  t.throws(() => updateGrubenv(f, { try_slot: 'A' }), /lacks its/, 'without slot: refused (the known-good slot is unknown)');
  t.ok(fs.readFileSync(f).equals(torn), 'and left as it was');
  t.same([...updateGrubenv(f, { slot: 'B', try_slot: 'A' })], [['slot', 'B'], ['try_slot', 'A']]);
  t.equal(editenv(f, 'list'), 'slot=B\ntry_slot=A\n', 'grub-editenv reads the block written anew');
  t.equal(fs.statSync(f).ino, ino, 'in place');
  t.equal(fs.statSync(f).size, GRUBENV_SIZE);
});

/** a grub directory with both copies holding `vars` (as rootfs/build.sh makes them) */
function twoCopies(name: string, vars: Array<[string, string]>): { first: string; second: string } {
  const d = path.join(dir, name);
  fs.mkdirSync(d);
  const first = path.join(d, 'grubenv');
  fs.writeFileSync(first, formatGrubenv(new Map(vars)));
  fs.writeFileSync(grubenvCopyOf(first), formatGrubenv(new Map(vars)));
  return { first, second: grubenvCopyOf(first) };
}
const tear = (f: string) => { const b = fs.readFileSync(f); b.fill(0xff, 0, 512); fs.writeFileSync(f, b); }; // its first sector lost

t.test('two copies: every update writes both the same, in place; a missing second copy is created', async (t) => {
  const { first, second } = twoCopies('both', [['slot', 'A']]);
  const ino = [fs.statSync(first).ino, fs.statSync(second).ino];
  updateGrubenv(first, { try_slot: 'B' });
  t.equal(editenv(first, 'list'), 'slot=A\ntry_slot=B\n');
  t.ok(fs.readFileSync(second).equals(fs.readFileSync(first)), 'the second copy is the same block');
  t.same([fs.statSync(first).ino, fs.statSync(second).ino], ino, 'both in place');
  const old = path.join(dir, 'oldbox');
  fs.mkdirSync(old);
  const f = path.join(old, 'grubenv');
  editenv(f, 'create'); editenv(f, 'set', 'slot=A'); // a box made before there were two copies
  updateGrubenv(f, { slot: 'A', try_slot: 'B' });
  t.equal(editenv(grubenvCopyOf(f), 'list'), 'slot=A\ntry_slot=B\n', 'the second copy created, and grub-editenv reads it');
  t.equal(fs.statSync(grubenvCopyOf(f)).size, GRUBENV_SIZE);
});

t.test('the first copy damaged: the second is read, and the next update writes the first again from it', async (t) => {
  const { first, second } = twoCopies('torn1', [['slot', 'B'], ['try_slot', '']]);
  tear(first);
  const env = readBootEnv(first);
  t.same([...env.vars], [['slot', 'B'], ['try_slot', '']], 'the second copy\'s variables (slot B, not GRUB\'s fallback A)');
  t.equal(env.from, 'second');
  t.match(env.damaged ?? '', /lacks its/, 'the first copy\'s problem is told');
  // an update without slot (the updater removing a leftover try_slot) is no longer refused: the second knows slot
  t.same([...updateGrubenv(first, { try_slot: undefined })], [['slot', 'B']]);
  t.equal(editenv(first, 'list'), 'slot=B\n', 'the first copy healed, with the second\'s slot');
  t.ok(fs.readFileSync(second).equals(fs.readFileSync(first)), 'both the same again');
  t.equal(readBootEnv(first).from, 'first');
  // a first copy that parses but names no slot (damage inside the block) is passed over the same way
  const { first: f2 } = twoCopies('noslot', [['slot', 'B']]);
  fs.writeFileSync(f2, formatGrubenv(new Map([['slok', 'B']])));
  t.same([...readBootEnv(f2).vars], [['slot', 'B']], 'no slot A or B in the first: the second is used');
  t.match(readBootEnv(f2).damaged ?? '', /names no slot A or B/);
});

t.test('a cut between the two writes leaves the first newer, and the first is the one read', async (t) => {
  const { first, second } = twoCopies('cut', [['slot', 'A']]);
  const before = fs.readFileSync(second);
  fs.rmSync(second);
  fs.mkdirSync(second); // the second copy's write fails, as a power cut right after the first's sync would leave it
  t.throws(() => updateGrubenv(first, { slot: 'A', try_slot: 'B' }), /EISDIR/);
  t.equal(editenv(first, 'list'), 'slot=A\ntry_slot=B\n', 'the first copy was written and synced first');
  fs.rmdirSync(second);
  fs.writeFileSync(second, before);
  t.same([...readBootEnv(first).vars], [['slot', 'A'], ['try_slot', 'B']], 'the newer first copy wins over the older second');
  t.equal(readBootEnv(first).from, 'first');
});

t.test('both copies damaged: unreadable; an update naming slot writes both anew, one without slot is refused', async (t) => {
  const { first, second } = twoCopies('torn2', [['slot', 'B']]);
  tear(first); tear(second);
  t.throws(() => readBootEnv(first), /neither grubenv copy is usable/);
  const damaged = fs.readFileSync(first);
  t.throws(() => updateGrubenv(first, { try_slot: 'A' }), /lacks its/);
  t.ok(fs.readFileSync(first).equals(damaged), 'refused: left as it was');
  updateGrubenv(first, { slot: 'B' });
  t.equal(editenv(first, 'list'), 'slot=B\n');
  t.equal(editenv(second, 'list'), 'slot=B\n');
});
