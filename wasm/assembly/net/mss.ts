// TCP MSS clamping: on a SYN (either direction) lower the MSS option to the configured value and fix
// the TCP checksum incrementally (RFC 1624). An option at an odd offset from the TCP header start
// straddles two checksum words; its contribution is the byte-swapped value.
import { csumReplace16, ipFragField, ipProto } from './ipv4';
import { count } from '../core/counters';
import { COUNTER_MSS_CLAMPED } from '../core/layout';
import {
  IP_OFFMASK, IPPROTO_TCP, TCP_HDR_LEN, TCP_FLAGS, TCP_SYN, TCP_DOFF, TCP_CSUM,
  TCPOPT_MSS, TCPOLEN_MSS,
} from './defs';
import { optionLen } from './options';

/** TCP header length from the data offset of the TCP header at `t`. */
@inline export function tcpHl(t: usize): u32 { return (<u32>load<u8>(t, TCP_DOFF) >> 4) << 2; }

/** Clamps the MSS of a TCP SYN in the IPv4 packet at `p` (header `hl`, total `tot`). */
export function mssClamp(p: usize, hl: u32, tot: u32, mss: u32): void {
  if (ipProto(p) != IPPROTO_TCP || (ipFragField(p) & IP_OFFMASK) != 0) return;
  if (tot < hl + TCP_HDR_LEN) return;
  const tcp = p + hl;
  if ((<u32>load<u8>(tcp, TCP_FLAGS) & TCP_SYN) == 0) return;
  const doff = tcpHl(tcp);
  if (doff <= TCP_HDR_LEN || hl + doff > tot) return;
  let i: u32 = TCP_HDR_LEN;
  while (i < doff) {
    const olen = optionLen(tcp, i, doff);
    if (olen == 0) return;
    if (<u32>load<u8>(tcp + i) == TCPOPT_MSS && olen == TCPOLEN_MSS) {
      const at = tcp + i + 2;
      const old = <u32>bswap<u16>(load<u16>(at));
      if (old <= mss) return;
      store<u16>(at, bswap<u16>(<u16>mss));
      const odd = ((i + 2) & 1) != 0;
      const o = odd ? <u32>bswap<u16>(<u16>old) : old;
      const n = odd ? <u32>bswap<u16>(<u16>mss) : mss;
      const hc = <u32>bswap<u16>(load<u16>(tcp, TCP_CSUM));
      store<u16>(tcp, bswap<u16>(<u16>csumReplace16(hc, o, n)), TCP_CSUM);
      count(COUNTER_MSS_CLAMPED);
      return;
    }
    i += olen;
  }
}
