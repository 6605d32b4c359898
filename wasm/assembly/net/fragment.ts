// RFC 791 fragmentation: the header template of non-first fragments (only options with the copied
// flag) and the writing of one fragment. The sending loop is forward/xmit.ts fragmentSend().
import { copyBytes } from '../core/mem';
import { setHeaderChecksum, setIpTotLen, setIpFragField } from './ipv4';
import { IPV4_HDR_LEN, IPV4_VER_IHL, IP_OFFMASK, IPOPT_COPIED, IPOPT_END } from './defs';
import { optionLen } from './options';

/**
 * Writes at `tmpl` the header of non-first fragments of the packet at `p` (header `hl` bytes): the
 * fixed header and the options with the copied flag, padded to 4 bytes. Returns its length.
 */
export function fragTemplate(tmpl: usize, p: usize, hl: u32): u32 {
  copyBytes(tmpl, p, IPV4_HDR_LEN);
  let hl2: u32 = IPV4_HDR_LEN;
  let i: u32 = IPV4_HDR_LEN;
  while (i < hl) {
    const olen = optionLen(p, i, hl);
    if (olen == 0) break;
    if (olen > 1 && (<u32>load<u8>(p + i) & IPOPT_COPIED) != 0) { copyBytes(tmpl + hl2, p + i, olen); hl2 += olen; }
    i += olen;
  }
  while ((hl2 & 3) != 0) { store<u8>(tmpl + hl2, IPOPT_END); hl2++; }
  store<u8>(tmpl, <u8>((4 << 4) | (hl2 >> 2)), IPV4_VER_IHL);
  return hl2;
}

/**
 * Writes one fragment at `out`: header `h` bytes from `hdr`, then `chunk` data bytes from `data`;
 * `offBytes` is its offset in the original datagram, `mf` its MF flag. Returns its length.
 */
export function fragWrite(out: usize, hdr: usize, h: u32, data: usize, chunk: u32, offBytes: u32, mf: u32): u32 {
  copyBytes(out, hdr, h);
  copyBytes(out + h, data, chunk);
  const flen = h + chunk;
  setIpTotLen(out, flen);
  setIpFragField(out, ((offBytes >> 3) & IP_OFFMASK) | mf);
  setHeaderChecksum(out, h);
  return flen;
}

