// firmware-bundle --key KEY.pem --version V --arch x86_64|aarch64 --root F --kernel F --initrd F --out F
// Build-time tool (`make firmware`, on the build host, not on the box): a signed firmware bundle from
// one slot's parts (rootfs/firmware-parts.sh takes them out of a built image).
import fs from 'node:fs';
import { writeBundle } from '../firmware/bundle-writer.js';
import { ARCHES, isVersion, type Arch } from '../firmware/manifest.js';

const a: Record<string, string> = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (!argv[i].startsWith('--') || argv[i + 1] === undefined) { process.stderr.write(`firmware-bundle: bad argument ${argv[i]}\n`); process.exit(2); }
  a[argv[i].slice(2)] = argv[i + 1];
}
const missing = ['key', 'version', 'arch', 'root', 'kernel', 'initrd', 'out'].filter((k) => !a[k]);
if (missing.length) { process.stderr.write(`firmware-bundle: missing --${missing.join(', --')}\n`); process.exit(2); }
if (!isVersion(a.version)) { process.stderr.write(`firmware-bundle: version ${a.version} is not a dotted number\n`); process.exit(2); }
if (!ARCHES.includes(a.arch as Arch)) { process.stderr.write(`firmware-bundle: arch must be one of ${ARCHES.join(', ')}\n`); process.exit(2); }
const m = writeBundle({ version: a.version, arch: a.arch as Arch, privateKeyPem: fs.readFileSync(a.key, 'utf8'),
  parts: { root: a.root, kernel: a.kernel, initrd: a.initrd }, sign: a.unsigned !== 'yes' }, a.out);
process.stdout.write(`firmware: ${a.out} version ${m.version} ${m.arch}, ${fs.statSync(a.out).size} bytes (${m.parts.map((p) => `${p.name} ${p.size}`).join(', ')})\n`);
