// IPv4 and TCP options share one encoding (RFC 791 3.1, RFC 9293 3.1): END (0) ends the list, NOP (1)
// is one byte, every other option is {type, length >= 2, data}.
import { IPOPT_END, IPOPT_NOP, OPT_LEN } from './defs';

/**
 * Length of the option at `p + i` in an option area that ends at offset `end`: 1 for NOP, 0 where the
 * walk must stop (END, or a length that is malformed or runs past `end`).
 */
@inline export function optionLen(p: usize, i: u32, end: u32): u32 {
  const t = <u32>load<u8>(p + i);
  if (t == IPOPT_END) return 0;
  if (t == IPOPT_NOP) return 1;
  if (i + 1 >= end) return 0;
  const olen = <u32>load<u8>(p + i, OPT_LEN);
  return olen < 2 || i + olen > end ? 0 : olen;
}
