/* Cross-language check of the shared-memory contract (test/layout-contract.test.ts; docs/layout-contract.md).
 * For entry k of abi.h's ABI_ENTRIES list, C writes into its own region at base + k * stride: a field
 * offset gets a value derived from the entry's name (FNV-1a, u32 or u64 by width) at that offset, a
 * counter index gets it at index * 8, and a plain value is stored at +0. TypeScript and AssemblyScript
 * then read every entry through their own generated constants: they agree only if all three copies do. */
#include <stdint.h>
#include <string.h>
#include "abi.h"
#include "io.h"

static uint32_t name_tag(const char *s) {
  uint32_t h = 0x811c9dc5u;
  for (; *s; s++) { h ^= (uint8_t)*s; h *= 0x01000193u; }
  return h;
}

/* Writes one entry; -1 if it would leave the memory. */
static int fill_one(uint8_t *mem, size_t len, size_t region, const char *name, uint32_t v, int how) {
  uint32_t t = name_tag(name);
  uint64_t t64 = (uint64_t)~t << 32 | t;
  size_t at = region + (how == ABI_COUNTER ? (size_t)v * 8 : how == ABI_VALUE ? 0 : v);
  if (at + 8 > len || at % 4) return -1;
  if (how == ABI_AT_U32) memcpy(mem + at, &t, 4);
  else if (how == ABI_VALUE) memcpy(mem + at, &v, 4);
  else memcpy(mem + at, &t64, 8);
  return 0;
}

int layout_contract_fill(uint8_t *mem, size_t len, size_t base, size_t stride, struct io_err *e) {
  if (base + (size_t)ABI_ENTRY_COUNT * stride > len)
    return io_fail_code(e, "ERANGE", "%u entries of %zu bytes from %zu do not fit %zu bytes of memory",
                        ABI_ENTRY_COUNT, stride, base, len);
  size_t k = 0;
#define X(name, how) \
  if (fill_one(mem, len, base + k++ * stride, #name, (uint32_t)(name), how)) \
    return io_fail_code(e, "ERANGE", "%s (%u) lies outside its %zu-byte region", #name, (unsigned)(name), stride);
  ABI_ENTRIES(X)
#undef X
  return (int)k;
}
