// HTTP single byte ranges (RFC 9110 section 14), both sides in one place so they agree: the hub's
// server reads Range and writes Content-Range (serve.ts); the resumable download writes Range and
// If-Range and reads Content-Range (download.ts). Pure.

/** A single byte range of a resource of `size` bytes: [start, end], null when unsatisfiable,
 *  undefined when absent or not a form we serve (then the whole resource is sent, as RFC 9110 allows). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') { // the last N bytes
    const n = Number(m[2]);
    return n === 0 || size === 0 ? null : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size || end < start) return null;
  return { start, end };
}

/** The Range header asking for everything from `start` on. */
export const rangeFrom = (start: number): string => `bytes=${start}-`;

/** The Content-Range of a 206 answer. */
export const contentRange = (start: number, end: number, size: number): string => `bytes ${start}-${end}/${size}`;

/** The Content-Range of a 416 answer. */
export const unsatisfiedRange = (size: number): string => `bytes */${size}`;

/** A 206 answer's Content-Range ("bytes a-b/size"); undefined when absent or of another form. */
export function parseContentRange(header: string | undefined): { start: number; end: number; size: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header ?? '');
  return m ? { start: Number(m[1]), end: Number(m[2]), size: Number(m[3]) } : undefined;
}

/** A strong entity tag: the only kind If-Range may carry (RFC 9110 section 13.1.5); a weak one
 *  (W/"...") only says two representations are equivalent, not byte for byte the same. */
export const isStrongEtag = (etag: unknown): etag is string => typeof etag === 'string' && /^"[\x21\x23-\x7e\x80-\xff]*"$/.test(etag);
