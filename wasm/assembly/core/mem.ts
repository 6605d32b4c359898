// Packet copy with 128-bit SIMD loads/stores. memory.copy on a shared memory is a call into the
// engine (a relaxed-atomic memmove) whose fixed cost dominates for small packets. Never writes past
// dst + n (the next slot may belong to another thread); src and dst must not overlap.
export function copyBytes(dst: usize, src: usize, n: usize): void {
  let i: usize = 0;
  while (i + 64 <= n) {
    v128.store(dst + i, v128.load(src + i));
    v128.store(dst + i, v128.load(src + i, 16), 16);
    v128.store(dst + i, v128.load(src + i, 32), 32);
    v128.store(dst + i, v128.load(src + i, 48), 48);
    i += 64;
  }
  while (i + 16 <= n) { v128.store(dst + i, v128.load(src + i)); i += 16; }
  if (i + 8 <= n) { store<u64>(dst + i, load<u64>(src + i)); i += 8; }
  if (i + 4 <= n) { store<u32>(dst + i, load<u32>(src + i)); i += 4; }
  if (i + 2 <= n) { store<u16>(dst + i, load<u16>(src + i)); i += 2; }
  if (i < n) store<u8>(dst + i, load<u8>(src + i));
}
