// The hash index used for every worker-private lookup structure (SPI -> inbound SA, peer NBMA ->
// outbound SA, NBMA -> peer entry): 8-byte entries {key u32 (0 = empty), value u32}, a power-of-two
// number of them, linear probing, backward-shift deletion (no tombstones, so a lookup stops at the
// first empty entry). `mask` = entries - 1, `shift` = hashShift(entries).
import { hashTop } from './hash';

const ENTRY: usize = 8;
const KEY: usize = 0;
export const INDEX_VALUE: usize = 4;

/** Address of the entry holding `key`, or 0. */
@inline export function indexFind(t: usize, mask: u32, shift: u32, key: u32): usize {
  let i = hashTop(key, shift);
  for (let n: u32 = 0; n <= mask; n++) {
    const e = t + <usize>i * ENTRY;
    const k = load<u32>(e, KEY);
    if (k == key) return e;
    if (k == 0) return 0;
    i = (i + 1) & mask;
  }
  return 0;
}

/** Inserts or replaces key -> value (the index never fills: it has more entries than keys). */
export function indexSet(t: usize, mask: u32, shift: u32, key: u32, value: u32): void {
  let i = hashTop(key, shift);
  for (let n: u32 = 0; n <= mask; n++) {
    const e = t + <usize>i * ENTRY;
    const k = load<u32>(e, KEY);
    if (k == key || k == 0) { store<u32>(e, key, KEY); store<u32>(e, value, INDEX_VALUE); return; }
    i = (i + 1) & mask;
  }
}

/** Empties entry `e` (from indexFind) and shifts back the entries whose probe ran through it. */
export function indexDeleteAt(t: usize, mask: u32, shift: u32, e: usize): void {
  let i = <u32>((e - t) / ENTRY);
  let j = i;
  for (let n: u32 = 0; n <= mask; n++) {
    j = (j + 1) & mask;
    const ej = t + <usize>j * ENTRY;
    const kj = load<u32>(ej, KEY);
    if (kj == 0) break;
    const h = hashTop(kj, shift);
    // entry j stays if its home h lies cyclically in (i, j]
    const stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (stays) continue;
    store<u64>(t + <usize>i * ENTRY, load<u64>(ej));
    i = j;
  }
  store<u64>(t + <usize>i * ENTRY, 0);
}

export function indexDelete(t: usize, mask: u32, shift: u32, key: u32): void {
  const e = indexFind(t, mask, shift, key);
  if (e != 0) indexDeleteAt(t, mask, shift, e);
}
