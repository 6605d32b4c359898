// ESP output (RFC 4303 3.3): a GRE packet in an nbmaTx slot is encrypted in place (raw ESP, IP
// protocol 50; transport mode keeps the outer IPv4 header, tunnel mode writes a new one) or copied
// into a udpTx slot (ESP in UDP, RFC 3948). Called by forward/xmit.ts for peers with an outbound SA.
import {
  scratch, nbmaTx, slotDataMax, SLOT_DATA, SCRATCH_ESP_PROD_UDP_TX, SCRATCH_ESP_NONCE, SCRATCH_ESP_AAD,
  SCRATCH_ESP_IV, SCRATCH_ESP_ICV, NBMA_KIND_ESP, NBMA_KIND_UDP, SA_ENTRY_STATE, SA_ENTRY_FLAGS, SA_ENTRY_SEQ,
  SA_ENTRY_SEQ_LIMIT, SA_ENTRY_SEQ_WARN, SA_ENTRY_SPI, SA_ENTRY_IV_LEN, SA_ENTRY_ICV_LEN, SA_ENTRY_BLOCK,
  SA_ENTRY_ENC, SA_ENTRY_INTEG, SA_ENTRY_SALT, SA_ENTRY_IV_SEED, SA_ENTRY_CTX, SA_ENTRY_HMAC,
  SA_ENTRY_PORTS, SA_ENTRY_DROP_SEQ_LIMIT, SA_STATE_ACTIVE, SA_FLAG_UDP, SA_FLAG_ESN, SA_FLAG_TUNNEL,
  SA_EVENT_REASON_SEQ_EXHAUSTED, SA_EVENT_REASON_SEQ_LOW, ESP_ENC_CHACHA20_POLY1305, ESP_ENC_NULL,
  ESP_INTEG_NONE, ESP_INTEG_HMAC_SHA1_96, COUNTER_DROP_SEQ_LIMIT, COUNTER_DROP_ESP_TOO_BIG,
  COUNTER_ESP_TX_PACKETS, COUNTER_ESP_TX_BYTES,
} from '../core/layout';
import { count, countAt } from '../core/counters';
import { copyBytes } from '../core/mem';
import * as cfg from '../core/config';
import { prodReserve, prodCommit } from '../io/ring';
import { ipTos, ipFragField, setHeaderChecksum, setIpTotLen, writeIpv4 } from '../net/ipv4';
import { IP_DF, IPV4_HDR_LEN, IPV4_PROTO, IPPROTO_ESP, IPPROTO_GRE, IPPROTO_IPIP } from '../net/defs';
import { udpTx } from './sa';
import { saAccount, saEventOnce, saExpire, saExpiredDrop } from './lifetime';
import { espSeal, espHeaderLen } from './seal';
import { lanePost } from './lane';
import {
  ESP_SPI, ESP_SEQ, ESP_IV, ESP_HDR_LEN, ESP_TRAILER_LEN, AEAD_NONCE_SALT, AEAD_NONCE_IV, AAD_LEN, AAD_LEN_ESN,
  AAD_SPI, AAD_SEQ_HI, CBC_IV_SEQ, TRAILER_PAD_LEN, TRAILER_NEXT_HEADER,
} from './defs';

/** Moves n bytes from src up to dst (dst > src, may overlap). */
function memmoveUp(dst: usize, src: usize, n: u32): void {
  let i = n;
  while (i >= 16) { i -= 16; v128.store(dst + i, v128.load(src + i)); }
  while (i > 0) { i--; store<u8>(dst + i, load<u8>(src + i)); }
}

@inline function seqMax(esn: bool): u64 { return esn ? <u64>0xffffffffffffffff : <u64>0xffffffff; }

/**
 * Reserves the SA's next outbound sequence number, or returns 0 (no number sent is 0): the numbers
 * are used up (never wraps) or the persisted reservation is (SA_ENTRY_SEQ_LIMIT). Several workers may
 * send on one SA: a compare-and-swap on SA_ENTRY_SEQ hands each number to exactly one of them (no
 * duplicate) and, unlike an atomic add, never moves the counter past the limit or the maximum, so a
 * refused packet leaves no number behind it unsent (no gap). Called once nothing can fail before the
 * packet is committed.
 */
function seqReserve(e: usize, esn: bool): u64 {
  const max = seqMax(esn);
  let last = atomic.load<u64>(e, SA_ENTRY_SEQ);
  while (true) {
    if (last >= max || last >= atomic.load<u64>(e, SA_ENTRY_SEQ_LIMIT)) return 0;
    const seen = atomic.cmpxchg<u64>(e + SA_ENTRY_SEQ, last, last + 1);
    if (seen == last) return last + 1;
    last = seen; // another worker took it: try the next one
  }
}

/** Why seqReserve refused: the numbers are used up (the SA expires) or the reservation is (wait for SA_LIMIT). */
function seqRefused(e: usize, esn: bool): void {
  if (atomic.load<u64>(e, SA_ENTRY_SEQ) >= seqMax(esn)) { saExpire(e, SA_EVENT_REASON_SEQ_EXHAUSTED); saExpiredDrop(e); return; }
  // Persisted reservation used up (the supervisor has not raised the limit yet): never send a
  // number that a restart could hand out again. The request for the next block is repeated.
  countAt(e, SA_ENTRY_DROP_SEQ_LIMIT); count(COUNTER_DROP_SEQ_LIMIT); saEventOnce(e, SA_EVENT_REASON_SEQ_LOW);
}

/**
 * Sends the GRE packet (outer IPv4 of `outer` bytes at slot + SLOT_DATA, reserved in nbmaTx with
 * producer state `st`) to `nbma` through outbound SA `e`. False = dropped (counted).
 */
export function espSend(e: usize, st: usize, slot: usize, outer: u32, nbma: u32): bool {
  if (atomic.load<u32>(e, SA_ENTRY_STATE) != SA_STATE_ACTIVE) { saExpiredDrop(e); return false; }
  const fl = load<u32>(e, SA_ENTRY_FLAGS);
  const esn = (fl & SA_FLAG_ESN) != 0;
  const d = slot + SLOT_DATA;
  const tunnel = (fl & SA_FLAG_TUNNEL) != 0;
  const src = tunnel ? d : d + IPV4_HDR_LEN;
  const plen = tunnel ? outer : outer - IPV4_HDR_LEN;
  const icvLen = load<u32>(e, SA_ENTRY_ICV_LEN);
  const blk = load<u32>(e, SA_ENTRY_BLOCK);
  const padded = (plen + ESP_TRAILER_LEN + blk - 1) & ~(blk - 1);
  const padLen = padded - plen - ESP_TRAILER_LEN;
  const hdr = espHeaderLen(e);
  const espLen = hdr + padded + icvLen;
  const udp = (fl & SA_FLAG_UDP) != 0;
  const tos = ipTos(d);
  const df = ipFragField(d) & IP_DF;
  let out: usize;
  let uslot: usize = 0;
  const ust = scratch + SCRATCH_ESP_PROD_UDP_TX;
  if (udp) {
    if (udpTx == 0 || espLen > slotDataMax(udpTx)) { count(COUNTER_DROP_ESP_TOO_BIG); return false; }
    uslot = prodReserve(ust);
    if (uslot == 0) return false;
  } else if (IPV4_HDR_LEN + espLen > slotDataMax(nbmaTx)) { count(COUNTER_DROP_ESP_TOO_BIG); return false; }
  // Every check that can refuse the packet is behind us: from here it is sent (an unused udpTx slot
  // was only reserved, not committed, so refusing here leaves nothing behind).
  const seq = seqReserve(e, esn);
  if (seq == 0) { seqRefused(e, esn); return false; }
  if (udp) {
    out = uslot + SLOT_DATA;
    copyBytes(out + hdr, src, plen);
  } else {
    out = d + IPV4_HDR_LEN;
    memmoveUp(out + hdr, src, plen);
  }
  if (seq >= atomic.load<u64>(e, SA_ENTRY_SEQ_WARN)) saEventOnce(e, SA_EVENT_REASON_SEQ_LOW);
  const spiBe = bswap<u32>(load<u32>(e, SA_ENTRY_SPI));
  store<u32>(out, spiBe, ESP_SPI);
  store<u32>(out, bswap<u32>(<u32>seq), ESP_SEQ);
  const pay = out + hdr;
  const tr = pay + plen;
  for (let i: u32 = 0; i < padLen; i++) store<u8>(tr + i, <u8>(i + 1)); // RFC 4303 2.4 pad 1, 2, 3, ...
  store<u8>(tr + padLen, <u8>padLen, TRAILER_PAD_LEN);
  store<u8>(tr + padLen, <u8>(tunnel ? IPPROTO_IPIP : IPPROTO_GRE), TRAILER_NEXT_HEADER);
  if (load<u32>(e, SA_ENTRY_ENC) <= ESP_ENC_CHACHA20_POLY1305) store<u64>(out, bswap<u64>(seq), ESP_IV); // AEAD IV = the 64-bit sequence number (unique per key)
  // The cipher: here, or (several workers, in a poll batch) posted to this worker's crypto lane, where
  // any worker may run it; the slot is then published only once it is done (esp/lane.ts).
  if (!lanePost(e, out, padded, seq)) espSeal(e, out, padded, seq);
  if (udp) {
    prodCommit(ust, uslot, espLen, NBMA_KIND_UDP, nbma, load<u32>(e, SA_ENTRY_PORTS));
    count(COUNTER_ESP_TX_PACKETS); count(COUNTER_ESP_TX_BYTES, espLen);
  } else {
    const tot = IPV4_HDR_LEN + espLen;
    if (tunnel) writeIpv4(d, tot, tos, df, cfg.ttl, IPPROTO_ESP, cfg.source, nbma);
    else {
      store<u8>(d, <u8>IPPROTO_ESP, IPV4_PROTO);
      setIpTotLen(d, tot);
      setHeaderChecksum(d, IPV4_HDR_LEN);
    }
    prodCommit(st, slot, tot, NBMA_KIND_ESP, nbma, 0);
    count(COUNTER_ESP_TX_PACKETS); count(COUNTER_ESP_TX_BYTES, tot);
  }
  saAccount(e, plen);
  if (seq == seqMax(esn)) saExpire(e, SA_EVENT_REASON_SEQ_EXHAUSTED); // the last number is used (by this worker alone): ask for a rekey
  return true;
}
