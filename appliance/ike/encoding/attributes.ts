// ISAKMP data attributes (RFC 2408 3.3): a basic attribute (AF=1) carries a 16-bit value in place, a
// variable one (AF=0) a length and that many bytes. Lifetimes above 0xffff (86400 s, IOS's default)
// must be variable; we decode any variable value of at most 6 bytes to a number (more cannot be a
// JavaScript safe integer, and no attribute we use needs more).
import { DecodeError, Reader, Writer } from './cursor.js';

export interface SaAttribute { type: number; value: number }

const AF_BASIC = 0x8000;

export function writeAttribute(w: Writer, a: SaAttribute): void {
  if (!Number.isInteger(a.value) || a.value < 0 || a.value > 0xffffffff) throw new Error(`attribute ${a.type}: value out of range`);
  if (a.value <= 0xffff) {
    w.u16(AF_BASIC | a.type).u16(a.value);
  } else {
    w.u16(a.type).u16(4).u32(a.value);
  }
}

export function readAttributes(r: Reader): SaAttribute[] {
  const out: SaAttribute[] = [];
  while (r.remaining > 0) {
    const head = r.u16('attribute type');
    const type = head & 0x7fff;
    if (head & AF_BASIC) {
      out.push({ type, value: r.u16('attribute value') });
      continue;
    }
    const len = r.u16('attribute length');
    if (len === 0 || len > 6) throw new DecodeError(`attribute ${type}: variable length ${len} unsupported`);
    const b = r.bytes(len, 'attribute value');
    let v = 0;
    for (const x of b) v = v * 256 + x;
    out.push({ type, value: v });
  }
  return out;
}

export const attr = (attrs: readonly SaAttribute[], type: number): number | undefined =>
  attrs.find((a) => a.type === type)?.value;
