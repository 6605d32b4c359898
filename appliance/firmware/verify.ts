// Verifies a firmware bundle file before anything is written: the signature over the manifest with
// the public key built into the image, the target architecture, the version (a downgrade only when
// forced), then each part's size and SHA-256, read from the file in chunks (a bundle is ~50 MB; the
// supervisor's event loop keeps running between chunks).
//
// Ed25519 by node:crypto (OpenSSL's implementation, native): verifying a manifest took 0.55 ms here
// under load and adds nothing to the bundled code; @noble/curves (pure JS) is about 20x slower here
// (test/firmware-codec.test.ts measures both) and would only be needed where OpenSSL is absent.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { BundleError, MAX_HEAD, compareVersions, decodeHead, partOffsets, signedMessage, type Arch, type BundleHead, type PartEntry } from './manifest.js';

export interface VerifyOptions {
  /** the vendor's Ed25519 public key (PEM, SPKI), /etc/dmvpn-firmware.pub on the image */
  publicKey: crypto.KeyObject | string;
  arch: Arch;
  /** the running firmware's version */
  runningVersion: string;
  /** `firmware update ... force`: a lower version is accepted */
  force?: boolean;
}

export interface VerifiedBundle { head: BundleHead; parts: Array<PartEntry & { offset: number }>; size: number }

const CHUNK = 1 << 20;

/** Reads `size` bytes at `offset` of `fd` in chunks, handing each to `sink`; resolves when done. */
export async function readRange(fd: fs.promises.FileHandle, offset: number, size: number, sink: (b: Buffer) => void | Promise<void>): Promise<void> {
  const buf = Buffer.alloc(Math.min(CHUNK, Math.max(size, 1)));
  for (let done = 0; done < size;) {
    const want = Math.min(buf.length, size - done);
    const { bytesRead } = await fd.read(buf, 0, want, offset + done);
    if (bytesRead === 0) throw new BundleError(`unexpected end of file at ${offset + done}`);
    await sink(buf.subarray(0, bytesRead));
    done += bytesRead;
  }
}

export async function sha256Of(fd: fs.promises.FileHandle, offset: number, size: number): Promise<string> {
  const h = crypto.createHash('sha256');
  await readRange(fd, offset, size, (b) => { h.update(b); });
  return h.digest('hex');
}

/** The head of the open bundle `fd` (a descriptor; a FileHandle's .fd), decoded; throws BundleError. */
export function readHead(fd: number): { head: BundleHead; size: number } {
  const size = fs.fstatSync(fd).size;
  const buf = Buffer.alloc(Math.min(MAX_HEAD, size));
  fs.readSync(fd, buf, 0, buf.length, 0);
  return { head: decodeHead(buf, size), size };
}

/** The head of the bundle file `file`. */
export function readHeadOf(file: string): { head: BundleHead; size: number } {
  const fd = fs.openSync(file, 'r');
  try { return readHead(fd); } finally { fs.closeSync(fd); }
}

/** Checks the manifest's signature alone; throws BundleError. */
export function checkSignature(head: BundleHead, publicKey: crypto.KeyObject | string): void {
  const key = typeof publicKey === 'string' ? crypto.createPublicKey(publicKey) : publicKey;
  if (key.asymmetricKeyType !== 'ed25519') throw new BundleError('the firmware public key is not Ed25519');
  if (!crypto.verify(null, signedMessage(head.manifestBytes), key, head.signature)) {
    throw new BundleError('bad signature: the manifest was not signed by this image\'s firmware key');
  }
}

/** Checks the head alone: signature, arch, version. Cheap; throws BundleError naming the problem. */
export function checkHead(head: BundleHead, o: VerifyOptions): void {
  checkSignature(head, o.publicKey);
  const m = head.manifest;
  if (m.arch !== o.arch) throw new BundleError(`bundle is for ${m.arch}, this box is ${o.arch}`);
  if (compareVersions(m.version, o.runningVersion) < 0 && !o.force) {
    throw new BundleError(`bundle version ${m.version} is older than the running ${o.runningVersion}: a downgrade needs "force"`);
  }
}

/** Verifies the bundle file at `file` completely; resolves to where its parts are. */
export async function verifyBundle(file: string, o: VerifyOptions): Promise<VerifiedBundle> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const { head, size } = readHead(fd.fd);
    checkHead(head, o);
    const parts = partOffsets(head);
    for (const p of parts) {
      const got = await sha256Of(fd, p.offset, p.size);
      if (got !== p.sha256) throw new BundleError(`part ${p.name}: SHA-256 ${got} does not match the manifest's ${p.sha256}`);
    }
    return { head, parts, size };
  } finally { await fd.close(); }
}
