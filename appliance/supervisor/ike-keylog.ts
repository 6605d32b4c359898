// Lab-only IPsec key log, like SSLKEYLOGFILE: with DMVPN_IKE_KEYLOG=/path in the supervisor's
// environment, every Child SA IKE installs is appended to that file as one line, so tshark's esp_sa
// UAT can decrypt and authenticate the ESP on the wire. The variable is read once, at start; unset,
// nothing is written anywhere. The file is created 0600 (an existing one is appended to as it is).
// Line: `<spi hex> <in|out> <src> <dst> <cipher> <enc key hex> <integrity> <auth key hex>`; an AEAD has its
// 4-byte salt at the end of the enc key, integrity `none` and `-` for the auth key.
import fs from 'node:fs';
import type { ChildSaKeys, EspKeys } from '../ike/sa/child-sa.js';

export const KEYLOG_ENV = 'DMVPN_IKE_KEYLOG';

let path: string | undefined | null = null; // null: not read yet

/** The key log path, read once from the environment (undefined: key logging off). */
export function ikeKeyLogPath(): string | undefined {
  if (path === null) path = process.env[KEYLOG_ENV] || undefined;
  return path;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function line(spi: number, dir: 'in' | 'out', src: string, dst: string, k: ChildSaKeys, e: EspKeys): string {
  return `${spi.toString(16).padStart(8, '0')} ${dir} ${src} ${dst} ${k.cipher}-${k.keyBits} ${hex(e.encKey)} ${k.integrity} ${e.authKey.length ? hex(e.authKey) : '-'}\n`;
}

/** A writer of both halves of a Child SA, or undefined when key logging is off. Never throws: a write
 * error is reported once through `onError` (the SA is installed regardless). */
export function ikeKeyLogWriter(onError: (msg: string) => void): ((k: ChildSaKeys) => void) | undefined {
  const file = ikeKeyLogPath();
  if (!file) return undefined;
  let failed = false;
  return (k) => {
    try {
      const fd = fs.openSync(file, 'a', 0o600);
      try {
        fs.writeSync(fd, line(k.inbound.spi, 'in', k.remote, k.local, k, k.inbound) + line(k.outbound.spi, 'out', k.local, k.remote, k, k.outbound));
      } finally { fs.closeSync(fd); }
    } catch (e) {
      if (!failed) onError(`IPsec key log ${file}: ${(e as Error).message}`);
      failed = true;
    }
  };
}
