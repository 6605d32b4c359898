// TCP MSS clamping: on a SYN (either direction) lower the MSS option to the configured value and fix
// the TCP checksum incrementally (RFC 1624). An option at an odd offset from the TCP header start
// straddles two checksum words; its contribution is the byte-swapped value.
import { csumReplace16, ipFragField, IP_OFFMASK } from './ipv4';
import { count, MSS_CLAMPED } from '../core/counters';

/** Clamps the MSS of a TCP SYN in the IPv4 packet at `p` (header `hl`, total `tot`). */
export function mssClamp(p: usize, hl: u32, tot: u32, mss: u32): void {
  if (load<u8>(p, 9) != 6 || (ipFragField(p) & IP_OFFMASK) != 0) return;
  if (tot < hl + 20) return;
  const tcp = p + hl;
  if ((load<u8>(tcp, 13) & 0x02) == 0) return; // SYN
  const doff = (<u32>load<u8>(tcp, 12) >> 4) << 2;
  if (doff <= 20 || hl + doff > tot) return;
  let i: u32 = 20;
  while (i < doff) {
    const kind = <u32>load<u8>(tcp + i);
    if (kind == 0) return;
    if (kind == 1) { i++; continue; }
    if (i + 1 >= doff) return;
    const olen = <u32>load<u8>(tcp + i, 1);
    if (olen < 2 || i + olen > doff) return;
    if (kind == 2 && olen == 4) {
      const at = tcp + i + 2;
      const old = <u32>bswap<u16>(load<u16>(at));
      if (old <= mss) return;
      store<u16>(at, bswap<u16>(<u16>mss));
      const odd = ((i + 2) & 1) != 0;
      const o = odd ? <u32>bswap<u16>(<u16>old) : old;
      const n = odd ? <u32>bswap<u16>(<u16>mss) : mss;
      const hc = <u32>bswap<u16>(load<u16>(tcp, 16));
      store<u16>(tcp, bswap<u16>(<u16>csumReplace16(hc, o, n)), 16);
      count(MSS_CLAMPED);
      return;
    }
    i += olen;
  }
}
