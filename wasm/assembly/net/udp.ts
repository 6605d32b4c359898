// The one UDP/IPv4 builder (benchmarks and test traffic generated inside the worker).
import { writeIpv4 } from './ipv4';
import { IPV4_HDR_LEN, IPPROTO_UDP, UDP_SPORT, UDP_DPORT, UDP_LEN, UDP_CSUM, TTL_DEFAULT } from './defs';

const FILL: u8 = 0x61; // 'a'

/**
 * Writes a UDP/IPv4 datagram of `len` bytes in total (>= 28) at `p`: IPv4 header (no options), UDP
 * header from `sport` to `dport` without checksum, payload bytes 'a'.
 */
export function writeUdpIpv4(p: usize, len: u32, src: u32, dst: u32, sport: u32, dport: u32): void {
  memory.fill(p + IPV4_HDR_LEN, FILL, len - IPV4_HDR_LEN);
  writeIpv4(p, len, 0, 0, TTL_DEFAULT, IPPROTO_UDP, src, dst);
  const u = p + IPV4_HDR_LEN;
  store<u16>(u, bswap<u16>(<u16>sport), UDP_SPORT);
  store<u16>(u, bswap<u16>(<u16>dport), UDP_DPORT);
  store<u16>(u, bswap<u16>(<u16>(len - IPV4_HDR_LEN)), UDP_LEN);
  store<u16>(u, 0, UDP_CSUM);
}
