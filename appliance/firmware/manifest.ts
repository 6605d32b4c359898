// The firmware bundle's format (docs/image.md "Firmware update"), pure: no file, no clock.
//
//   "DMVPNFW\0"                 8 bytes, magic
//   u32 BE  manifest length M   (at most MAX_MANIFEST)
//   manifest                    M bytes of UTF-8 JSON (below)
//   u16 BE  signature length S  (64: Ed25519; 0: an unsigned bundle, which is refused)
//   signature                   S bytes: Ed25519 over SIGNING_CONTEXT || manifest
//   parts                       root, kernel, initrd, each `size` bytes, in that order; nothing after
//
// Only the manifest is signed; it carries each part's size and SHA-256, so the signature covers the
// parts through their hashes. The signed message starts with a context string so a signature made
// for something else with the same key cannot pass as a manifest's.

export const MAGIC = Buffer.from('DMVPNFW\0', 'latin1');
export const FORMAT = 1;
export const SIGNING_CONTEXT = Buffer.from('DMVPN firmware manifest v1\0', 'latin1');
export const MAX_MANIFEST = 16 * 1024;
export const PART_NAMES = ['root', 'kernel', 'initrd'] as const;
export type PartName = (typeof PART_NAMES)[number];
export const ARCHES = ['x86_64', 'aarch64'] as const;
export type Arch = (typeof ARCHES)[number];
/** per part: a slot partition is 128 MiB; a kernel or initramfs larger than 64 MiB is not ours */
export const MAX_PART: Record<PartName, number> = { root: 128 << 20, kernel: 64 << 20, initrd: 64 << 20 };

export interface PartEntry { name: PartName; size: number; sha256: string }
export interface Manifest { format: number; version: string; arch: Arch; parts: PartEntry[] }

/** The bundle's head: everything before the parts. */
export interface BundleHead {
  manifest: Manifest;
  /** the manifest's bytes exactly as signed */
  manifestBytes: Buffer;
  signature: Buffer;
  /** offset of the first part in the bundle */
  partsOffset: number;
}

/** A refusal naming what is wrong with a bundle; nothing has been written when it is thrown. */
export class BundleError extends Error {}

const VERSION = /^\d{1,9}(\.\d{1,9}){0,3}$/;

/** Dotted numeric versions ("0.1.0", "2.10"), compared numerically part by part; missing parts are 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number), pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

export function isVersion(v: unknown): v is string { return typeof v === 'string' && VERSION.test(v); }

/** The manifest's JSON, checked field by field: a bundle is input from the network. */
export function parseManifest(bytes: Buffer): Manifest {
  let m: unknown;
  try { m = JSON.parse(bytes.toString('utf8')); } catch { throw new BundleError('manifest is not JSON'); }
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new BundleError('manifest is not an object');
  const o = m as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !['format', 'version', 'arch', 'parts'].includes(k));
  if (extra.length) throw new BundleError(`manifest has unknown fields: ${extra.join(', ')}`);
  if (o.format !== FORMAT) throw new BundleError(`manifest format ${String(o.format)} is not supported (this updater reads ${FORMAT})`);
  if (!isVersion(o.version)) throw new BundleError('manifest version is not a dotted number');
  if (!ARCHES.includes(o.arch as Arch)) throw new BundleError(`manifest arch ${JSON.stringify(o.arch)} is not one of ${ARCHES.join(', ')}`);
  if (!Array.isArray(o.parts) || o.parts.length !== PART_NAMES.length) throw new BundleError(`manifest must list the parts ${PART_NAMES.join(', ')}`);
  const parts = o.parts.map((p: unknown, i: number): PartEntry => {
    const name = PART_NAMES[i];
    const e = (p ?? {}) as Record<string, unknown>;
    if (e.name !== name) throw new BundleError(`manifest part ${i + 1} must be ${name}`);
    if (!Number.isSafeInteger(e.size) || (e.size as number) <= 0 || (e.size as number) > MAX_PART[name]) {
      throw new BundleError(`manifest part ${name}: size must be 1..${MAX_PART[name]} bytes`);
    }
    if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) throw new BundleError(`manifest part ${name}: sha256 must be 64 hex digits`);
    return { name, size: e.size as number, sha256: e.sha256 };
  });
  return { format: FORMAT, version: o.version, arch: o.arch as Arch, parts };
}

/** Decodes the head from the bundle's first bytes (at least up to the signature). `total`: the bundle's
 *  length, which must be exactly head + parts. */
export function decodeHead(buf: Buffer, total: number): BundleHead {
  if (buf.length < 12 || !buf.subarray(0, 8).equals(MAGIC)) throw new BundleError('not a firmware bundle (bad magic)');
  const m = buf.readUInt32BE(8);
  if (m === 0 || m > MAX_MANIFEST) throw new BundleError(`manifest length ${m} out of range`);
  if (buf.length < 12 + m + 2) throw new BundleError('bundle truncated in its manifest');
  const manifestBytes = Buffer.from(buf.subarray(12, 12 + m));
  const s = buf.readUInt16BE(12 + m);
  if (s === 0) throw new BundleError('bundle is not signed');
  if (s !== 64) throw new BundleError(`signature length ${s} is not Ed25519's 64`);
  if (buf.length < 12 + m + 2 + s) throw new BundleError('bundle truncated in its signature');
  const signature = Buffer.from(buf.subarray(14 + m, 14 + m + s));
  const manifest = parseManifest(manifestBytes);
  const partsOffset = 14 + m + s;
  const want = partsOffset + manifest.parts.reduce((n, p) => n + p.size, 0);
  if (total !== want) throw new BundleError(`bundle is ${total} bytes, its manifest says ${want}`);
  return { manifest, manifestBytes, signature, partsOffset };
}

/** How many bytes decodeHead may need: the most a head can be. */
export const MAX_HEAD = 12 + MAX_MANIFEST + 2 + 64;

/** The head's bytes for a manifest and its signature (empty: unsigned, for tests of the refusal). */
export function encodeHead(manifestBytes: Buffer, signature: Buffer): Buffer {
  const len = Buffer.alloc(4); len.writeUInt32BE(manifestBytes.length);
  const sl = Buffer.alloc(2); sl.writeUInt16BE(signature.length);
  return Buffer.concat([MAGIC, len, manifestBytes, sl, signature]);
}

/** The canonical manifest bytes (key order fixed) for a builder. */
export function encodeManifest(m: Manifest): Buffer {
  return Buffer.from(JSON.stringify({ format: m.format, version: m.version, arch: m.arch,
    parts: m.parts.map((p) => ({ name: p.name, size: p.size, sha256: p.sha256 })) }), 'utf8');
}

/** The message an Ed25519 signature covers. */
export const signedMessage = (manifestBytes: Buffer) => Buffer.concat([SIGNING_CONTEXT, manifestBytes]);

/** Offsets of each part in the bundle. */
export function partOffsets(head: BundleHead): Array<PartEntry & { offset: number }> {
  let at = head.partsOffset;
  return head.manifest.parts.map((p) => { const o = { ...p, offset: at }; at += p.size; return o; });
}
