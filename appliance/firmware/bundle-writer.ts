// Builds a firmware bundle (manifest.ts has the format) from a slot's three part files: the build
// side (`make firmware`, appliance/entry/firmware-bundle.ts) and the tests. Signs with the vendor's
// Ed25519 private key (PEM); `sign: false` writes an unsigned bundle, which every box refuses.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { FORMAT, PART_NAMES, encodeHead, encodeManifest, signedMessage, type Arch, type Manifest, type PartName } from './manifest.js';

export interface BundleInput {
  version: string;
  arch: Arch;
  parts: Record<PartName, string>;
  /** Ed25519 private key, PEM (PKCS#8) */
  privateKeyPem: string;
  sign?: boolean;
}

function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally { fs.closeSync(fd); }
  return h.digest('hex');
}

/** Writes the bundle to `out`; returns its manifest. */
export function writeBundle(input: BundleInput, out: string): Manifest {
  const manifest: Manifest = { format: FORMAT, version: input.version, arch: input.arch,
    parts: PART_NAMES.map((name) => ({ name, size: fs.statSync(input.parts[name]).size, sha256: sha256File(input.parts[name]) })) };
  const bytes = encodeManifest(manifest);
  const key = crypto.createPrivateKey(input.privateKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the firmware signing key is not Ed25519');
  const sig = input.sign === false ? Buffer.alloc(0) : crypto.sign(null, signedMessage(bytes), key);
  const tmp = `${out}.tmp`;
  fs.writeFileSync(tmp, encodeHead(bytes, sig));
  for (const name of PART_NAMES) fs.appendFileSync(tmp, fs.readFileSync(input.parts[name]));
  fs.renameSync(tmp, out);
  return manifest;
}
