// Persisted ESP sequence high-water marks of one manual SA (`set sequence-persistence`), so that a
// restart never reuses an outbound sequence number under the same key (AEAD nonce = salt || seq)
// and never re-accepts inbound packets it had already accepted. One small JSON file per manual-sa,
// replaced atomically: write a temp file, fsync it, rename it over the old one, fsync the directory.
// A crash leaves either the old or the new file, never a torn one.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';

/** outbound: numbers up to `reserved` may have been used; inbound: numbers up to `edge` were accepted. */
export interface SeqMarks { out?: { keyId: string; reserved: bigint }; in?: { keyId: string; edge: bigint } }

/**
 * A one-way tag of a key, so that a new key (new nonce space) starts from 0 while the same key
 * never goes back. It is a hash, not the key; the file is root-only anyway.
 */
export function keyId(spi: number, key: Uint8Array): string {
  return createHash('sha256').update('dmvpnd esp sequence\0').update(String(spi >>> 0)).update(key).digest('hex').slice(0, 16);
}

export class SeqStore {
  readonly file: string;

  constructor(readonly dir: string, readonly name: string) {
    this.file = path.join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.seq`);
  }

  /** The stored marks; {} when there is no file yet. A corrupt file is an error (never guess low). */
  load(): SeqMarks {
    let text: string;
    try { text = fs.readFileSync(this.file, 'utf8'); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    let j: { out?: { keyId: string; reserved: string }; in?: { keyId: string; edge: string } };
    try { j = JSON.parse(text); } catch { throw new Error(`${this.file}: not a sequence file (refusing to guess: remove it only with new keys)`); }
    const marks: SeqMarks = {};
    if (j.out) marks.out = { keyId: String(j.out.keyId), reserved: BigInt(j.out.reserved) };
    if (j.in) marks.in = { keyId: String(j.in.keyId), edge: BigInt(j.in.edge) };
    return marks;
  }

  /** Atomically replaces the file and returns only once the data and the rename are on disk. */
  save(m: SeqMarks): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const body = JSON.stringify({
      sa: this.name,
      out: m.out && { keyId: m.out.keyId, reserved: m.out.reserved.toString() },
      in: m.in && { keyId: m.in.keyId, edge: m.in.edge.toString() },
    }) + '\n';
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try { fs.writeSync(fd, body); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
    fs.renameSync(tmp, this.file);
    const d = fs.openSync(this.dir, 'r');
    try { fs.fsyncSync(d); } finally { fs.closeSync(d); }
  }
}
