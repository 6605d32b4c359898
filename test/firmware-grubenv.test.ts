// grubenv (appliance/firmware/grubenv.ts) against GRUB's own tool: what grub-editenv writes we read,
// what we write grub-editenv lists, byte for byte the same block for the same variables; the update
// is in place (same inode, same 1024 bytes) and refuses values GRUB would need escaped.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { requireTools } from './util/needs.js';
import { formatGrubenv, parseGrubenv, readGrubenv, updateGrubenv, GRUBENV_SIZE } from '../appliance/firmware/grubenv.js';

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
  const f = path.join(dir, 'torn');
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
