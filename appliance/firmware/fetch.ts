// `firmware fetch <url>` on a hub: a bundle into the serve directory, so that `firmware push` can
// offer it. Downloaded as the updater does (download.ts: resumable, the partial file's name is not a
// bundle name, so it is never served half-way), then verified whole (signature, every part's hash;
// any version and arch: the hub serves its spokes, not itself) and renamed to
// dmvpn-ARCH-VERSION.fw. A bundle that fails is deleted.
import fs from 'node:fs';
import path from 'node:path';
import { downloadResumable, dropPartial } from './download.js';
import { readHeadOf, verifyBundle } from './verify.js';

export interface FetchOptions {
  dir: string;
  publicKeyPem: string;
  max?: number;
  localAddress?: string;
}

/** Resolves to the served name and version; throws naming what is wrong. */
export async function fetchBundle(url: string, o: FetchOptions): Promise<{ name: string; version: string; size: number }> {
  fs.mkdirSync(o.dir, { recursive: true });
  const { file } = await downloadResumable(url, { dir: o.dir, max: o.max ?? 256 << 20, localAddress: o.localAddress });
  try {
    // any arch and version: verified as what it says it is
    const m = readHeadOf(file).head.manifest;
    const v = await verifyBundle(file, { publicKey: o.publicKeyPem, arch: m.arch, runningVersion: m.version });
    const name = `dmvpn-${m.arch}-${m.version}.fw`;
    fs.renameSync(file, path.join(o.dir, name));
    dropPartial(o.dir, url);
    return { name, version: m.version, size: v.size };
  } catch (e) {
    dropPartial(o.dir, url);
    throw e;
  }
}
