// The startup-config file: saved atomically (`copy running-config startup-config`, `write memory`)
// so a power cut at any moment leaves either the old file or the new one, whole: the text goes to a
// temporary file in the same directory, is fsync'ed, renamed over the old file (atomic on one file
// system), and the directory is fsync'ed so the rename itself is on disk. The text is checked to
// load back before anything is written; the file is 0600 (it holds secret hashes and type 7 strings).
import fs from 'node:fs';
import path from 'node:path';
import { parseStartupConfig } from '../config/load.js';

export function saveStartupConfig(file: string, text: string): void {
  const check = parseStartupConfig(text);
  if (!check.ok) {
    const e = check.errors[0];
    throw new Error(`the running-config would not load back (line ${e.line}: ${e.message}); nothing written`);
  }
  writeFileAtomic(file, text);
}

/** A file's text, refused before it is read when it is larger than `max` bytes (`what` names it in the error). */
export function readFileBounded(file: string, max: number, what: string): string {
  if (fs.statSync(file).size > max) throw new Error(`${what} is larger than ${max} bytes`);
  return fs.readFileSync(file, 'utf8');
}

/** `text` as `file` (mode 0600), whole or not at all: temp file, fsync, rename, directory fsync. */
export function writeFileAtomic(file: string, text: string): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try { fs.writeSync(fd, text); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  const d = fs.openSync(dir, 'r');
  try { fs.fsyncSync(d); } finally { fs.closeSync(d); }
}

/** The saved text, or undefined when there is none. */
export function readStartupConfig(file: string): string | undefined {
  try { return fs.readFileSync(file, 'utf8'); } catch { return undefined; }
}
