// ESP input (RFC 4303 3.4) for raw (IP protocol 50, whole IPv4 packet) and UDP-encapsulated (RFC 3948,
// UDP payload) slots: SPI lookup, address check, replay check, decrypt + verify (constant-time tag
// compare in the crypto module), window update, pad / next-header checks. What it decrypted is
// handed back in the packet context: a GRE packet (transport mode, or GRE in tunnel mode) returns
// ESP_IN_GRE for forward/inbound.ts to decapsulate; any other tunnel-mode packet goes to tunTx here.
import {
  scratch, tunTx, slotDataMax, SCRATCH_ESP_NONCE, SCRATCH_ESP_AAD, SCRATCH_ESP_ICV, SCRATCH_ESP_ICV_RX,
  NBMA_KIND_GRE, NBMA_KIND_ESP, NBMA_KIND_UDP, SA_ENTRY_STATE, SA_ENTRY_IV_LEN, SA_ENTRY_ICV_LEN, SA_ENTRY_BLOCK,
  SA_ENTRY_ENC, SA_ENTRY_PEER, SA_ENTRY_FLAGS, SA_ENTRY_SALT, SA_ENTRY_INTEG, SA_ENTRY_CTX,
  SA_ENTRY_HMAC, SA_ENTRY_DROP_AUTH, SA_ENTRY_DROP_BAD_PAD, SA_ENTRY_DROP_BAD_NEXT_HEADER,
  SA_ENTRY_DROP_MALFORMED, SA_ENTRY_DROP_POLICY, SA_STATE_ACTIVE, SA_FLAG_ESN, SA_FLAG_TUNNEL,
  SA_FLAG_GRE_ONLY, ESP_ENC_CHACHA20_POLY1305, ESP_ENC_NULL, ESP_INTEG_NONE, ESP_INTEG_HMAC_SHA1_96,
  LAST_DROP_SOURCE_SLOT_ESP_POLICY, COUNTER_DROP_BAD_IP, COUNTER_DROP_OUTER_FRAGMENT,
  COUNTER_DROP_NOT_FOR_US, COUNTER_DROP_NO_TUNNEL, COUNTER_DROP_BAD_KIND, COUNTER_ESP_RX_PACKETS,
  COUNTER_ESP_RX_BYTES, COUNTER_DROP_ESP_MALFORMED, COUNTER_DROP_UNKNOWN_SPI, COUNTER_DROP_ESP_AUTH,
  COUNTER_DROP_ESP_INVALID, COUNTER_DROP_ESP_POLICY, COUNTER_NATT_KEEPALIVE_RX, SCRATCH_ESP_OPEN_REC, RX_DEFERRED_SA,
  RX_DEFERRED_CT_LEN, RX_DEFERRED_SEQ,
} from '../core/layout';
import { count, countAt, recordSource } from '../core/counters';
import { copyBytes } from '../core/mem';
import { Packet } from '../core/packet';
import * as cfg from '../core/config';
import { tunSend } from '../io/tun';
import { ipv4Check, ipHl, ipSrc, ipDst, ipProto, ipFragField } from '../net/ipv4';
import {
  IP_MF, IP_OFFMASK, IPV4_HDR_LEN, IPV4_VER_IHL, IPV4_VER_IHL_20, IPV4_ID, IPV4_TTL, IPV4_SRC, IPV4_DST,
  IPPROTO_GRE, IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_ESP, TTL_DEFAULT,
} from '../net/defs';
import { gcmOpen } from '../crypto/aesgcm';
import { chachaPolyOpen } from '../crypto/chacha20poly1305';
import { aesCbcDecrypt } from '../crypto/aescbc';
import { hmacSha1, hmacSha256 } from '../crypto/hmac';
import { ctEqual } from '../crypto/ct';
import { espReady, spiIndex, saEntry, saLookup } from './sa';
import { replayCheck, replayUpdate } from './replay';
import { saAccount, saExpiredDrop } from './lifetime';
import { ikeIn, portFloat } from './natt';
import {
  ESP_SPI, ESP_SEQ, ESP_IV, ESP_HDR_LEN, ESP_TRAILER_LEN, AEAD_NONCE_SALT, AEAD_NONCE_IV, AAD_LEN, AAD_LEN_ESN,
  CBC_BLOCK, TRAILER_PAD_LEN, TRAILER_NEXT_HEADER, AAD_SPI, AAD_SEQ_HI, AAD_SEQ_LO, NATT_KEEPALIVE_BYTE, NON_ESP_MARKER_LEN, ESP_IN_DONE, ESP_IN_GRE,
  ESP_IN_OPEN,
} from './defs';

const IPV6_HDR_LEN: u32 = 40;
const IPV6_PAYLOAD_LEN: usize = 4;

/**
 * One received slot in `pk`: kind NBMA_KIND_ESP (pk.data = whole IPv4 packet, pk.nbma = outer
 * source) or NBMA_KIND_UDP (pk.data = UDP payload, pk.nbma = source, pk.aux = ports). The slot is
 * ours until released: up to 12 bytes before pk.data (its slot header) may be overwritten.
 * Returns ESP_IN_GRE with pk.data/len/nbma/sa set to the GRE packet to decapsulate, or ESP_IN_DONE.
 * In one pass here; worker/parallel-rx.ts runs the three steps apart, the middle one on any worker.
 */
export function espInput(pk: Packet): u32 {
  const rec = scratch + SCRATCH_ESP_OPEN_REC;
  if (espInputCheck(pk, rec) != ESP_IN_OPEN) return ESP_IN_DONE;
  const v = load<u32>(rec, RX_DEFERRED_SA);
  return espInputFinish(pk, rec, espOpen(saEntry(v - 1), espOf(pk), load<u32>(rec, RX_DEFERRED_CT_LEN), load<u64>(rec, RX_DEFERRED_SEQ)));
}

/** The ESP header of a received slot (after the outer IPv4 header of a raw ESP packet). */
export function espOf(pk: Packet): usize { return pk.kind == NBMA_KIND_ESP ? pk.data + ipHl(pk.data) : pk.data; }

/**
 * First step: everything before the crypto (outer checks, SPI, state, lengths, source, replay
 * pre-filter). ESP_IN_OPEN: the packet is to be opened, `rec` (RX_DEFERRED) has its SA, ciphertext
 * length and sequence number; else it was consumed (IKE, keepalive) or dropped (counted).
 */
export function espInputCheck(pk: Packet, rec: usize): u32 {
  if (!espReady) { count(COUNTER_DROP_BAD_KIND); return ESP_IN_DONE; }
  if (!cfg.configured) { count(COUNTER_DROP_NO_TUNNEL); return ESP_IN_DONE; }
  const kind = pk.kind;
  const p = pk.data;
  let src = pk.nbma;
  let esp: usize;
  let elen: u32;
  if (kind == NBMA_KIND_ESP) {
    const tot = ipv4Check(p, pk.len, false);
    if (tot == 0 || ipProto(p) != IPPROTO_ESP) { count(COUNTER_DROP_BAD_IP); return ESP_IN_DONE; }
    if ((ipFragField(p) & (IP_MF | IP_OFFMASK)) != 0) { count(COUNTER_DROP_OUTER_FRAGMENT); return ESP_IN_DONE; }
    if (ipDst(p) != cfg.source) { count(COUNTER_DROP_NOT_FOR_US); return ESP_IN_DONE; }
    src = ipSrc(p);
    const hl = ipHl(p);
    esp = p + hl;
    elen = tot - hl;
  } else if (kind == NBMA_KIND_UDP) {
    esp = p; elen = pk.len;
    if (elen == 1 && load<u8>(p) == NATT_KEEPALIVE_BYTE) { count(COUNTER_NATT_KEEPALIVE_RX); return ESP_IN_DONE; }
    if (elen >= NON_ESP_MARKER_LEN && load<u32>(p) == 0) { // IKE
      ikeIn(src, pk.aux, p + NON_ESP_MARKER_LEN, elen - NON_ESP_MARKER_LEN);
      return ESP_IN_DONE;
    }
  } else { count(COUNTER_DROP_BAD_KIND); return ESP_IN_DONE; }
  count(COUNTER_ESP_RX_PACKETS); count(COUNTER_ESP_RX_BYTES, elen);
  if (elen < ESP_HDR_LEN) { count(COUNTER_DROP_ESP_MALFORMED); return ESP_IN_DONE; }
  const v = saLookup(spiIndex, bswap<u32>(load<u32>(esp, ESP_SPI)));
  if (v == 0) { count(COUNTER_DROP_UNKNOWN_SPI); return ESP_IN_DONE; }
  const e = saEntry(v - 1);
  if (load<u32>(e, SA_ENTRY_STATE) != SA_STATE_ACTIVE) { saExpiredDrop(e); return ESP_IN_DONE; }
  const ivLen = load<u32>(e, SA_ENTRY_IV_LEN);
  const icvLen = load<u32>(e, SA_ENTRY_ICV_LEN);
  const blk = load<u32>(e, SA_ENTRY_BLOCK);
  const enc = load<u32>(e, SA_ENTRY_ENC);
  const hdr: u32 = ESP_HDR_LEN + ivLen;
  if (elen < hdr + icvLen + ESP_TRAILER_LEN) { malformed(e); return ESP_IN_DONE; }
  const ctLen = elen - hdr - icvLen;
  if (blk == CBC_BLOCK && (ctLen & (CBC_BLOCK - 1)) != 0) { malformed(e); return ESP_IN_DONE; }
  // The SA is found by SPI and checked against its addresses (RFC 4301 4.4.2): the destination is
  // our tunnel source (checked above for raw ESP; the UDP socket is bound to it), and the source
  // must be the SA's peer, before any crypto work is spent. Selectors: docs/security.md.
  const peer = load<u32>(e, SA_ENTRY_PEER);
  if (peer != 0 && src != peer) { policyDrop(e, src); return ESP_IN_DONE; }
  const s = replayCheck(e, bswap<u32>(load<u32>(esp, ESP_SEQ)));
  if (s == 0) return ESP_IN_DONE;
  store<u32>(rec, v, RX_DEFERRED_SA);
  store<u32>(rec, ctLen, RX_DEFERRED_CT_LEN);
  store<u64>(rec, s, RX_DEFERRED_SEQ);
  return ESP_IN_OPEN;
}

/**
 * Second step, the crypto: verifies the ICV of the ESP packet at `esp` (SA `e`, `ctLen` ciphertext
 * bytes, sequence number `s` with its ESN high half) and decrypts it in place; 1 = authentic. Uses
 * only the calling worker's scratch temporaries, so any worker may run it (esp/lane.ts).
 */
export function espOpen(e: usize, esp: usize, ctLen: u32, s: u64): i32 {
  const hdr: u32 = ESP_HDR_LEN + load<u32>(e, SA_ENTRY_IV_LEN);
  const icvLen = load<u32>(e, SA_ENTRY_ICV_LEN);
  const enc = load<u32>(e, SA_ENTRY_ENC);
  const esn = (load<u32>(e, SA_ENTRY_FLAGS) & SA_FLAG_ESN) != 0;
  const pay = esp + hdr;
  const icv = pay + ctLen;
  const ctx = e + SA_ENTRY_CTX;
  let ok: i32 = 1;
  if (enc <= ESP_ENC_CHACHA20_POLY1305) { // the AEADs
    const nonce = scratch + SCRATCH_ESP_NONCE;
    store<u32>(nonce, load<u32>(e, SA_ENTRY_SALT), AEAD_NONCE_SALT);
    store<u64>(nonce, load<u64>(esp, ESP_IV), AEAD_NONCE_IV);
    let aad = esp;
    let aadLen: i32 = AAD_LEN;
    if (esn) {
      aad = scratch + SCRATCH_ESP_AAD;
      store<u32>(aad, load<u32>(esp, ESP_SPI), AAD_SPI);
      store<u32>(aad, bswap<u32>(<u32>(s >> 32)), AAD_SEQ_HI);
      store<u32>(aad, load<u32>(esp, ESP_SEQ), AAD_SEQ_LO);
      aadLen = AAD_LEN_ESN;
    }
    if (enc == ESP_ENC_CHACHA20_POLY1305) ok = chachaPolyOpen(ctx, nonce, aad, aadLen, pay, <i32>ctLen, icv, 1);
    else ok = gcmOpen(ctx, nonce, aad, aadLen, pay, <i32>ctLen, icv, <i32>icvLen);
  } else {
    const integ = load<u32>(e, SA_ENTRY_INTEG);
    if (integ != ESP_INTEG_NONE) {
      const theirs = scratch + SCRATCH_ESP_ICV_RX;
      copyBytes(theirs, icv, icvLen);
      let mlen = hdr + ctLen;
      if (esn) { store<u32>(icv, bswap<u32>(<u32>(s >> 32))); mlen += 4; } // ICV covers seq high
      const m = scratch + SCRATCH_ESP_ICV;
      if (integ == ESP_INTEG_HMAC_SHA1_96) hmacSha1(e + SA_ENTRY_HMAC, esp, <i32>mlen, m);
      else hmacSha256(e + SA_ENTRY_HMAC, esp, <i32>mlen, m);
      ok = ctEqual(m, theirs, <i32>icvLen);
    }
    if (ok != 0 && enc != ESP_ENC_NULL) aesCbcDecrypt(ctx, esp + ESP_IV, pay, <i32>ctLen);
  }
  return ok;
}

/**
 * Third step, in the order the packets were received: an authentic packet (`ok` from espOpen) of
 * `rec` takes its place in the replay window (locked), then padding, next header and policy; returns
 * as espInput() does.
 */
export function espInputFinish(pk: Packet, rec: usize, ok: i32): u32 {
  const kind = pk.kind;
  const esp = espOf(pk);
  const src = kind == NBMA_KIND_ESP ? ipSrc(pk.data) : pk.nbma;
  const v = load<u32>(rec, RX_DEFERRED_SA);
  const e = saEntry(v - 1);
  const ctLen = load<u32>(rec, RX_DEFERRED_CT_LEN);
  const s = load<u64>(rec, RX_DEFERRED_SEQ);
  const pay = esp + ESP_HDR_LEN + load<u32>(e, SA_ENTRY_IV_LEN);
  const fl = load<u32>(e, SA_ENTRY_FLAGS);
  const peer = load<u32>(e, SA_ENTRY_PEER);
  if (ok == 0) { countAt(e, SA_ENTRY_DROP_AUTH); count(COUNTER_DROP_ESP_AUTH); return ESP_IN_DONE; }
  if (!replayUpdate(e, s)) return ESP_IN_DONE; // another worker accepted this number meanwhile (counted)
  if (kind == NBMA_KIND_UDP) portFloat(e, pk.aux);
  const trailer = pay + ctLen - ESP_TRAILER_LEN;
  const padLen = <u32>load<u8>(trailer, TRAILER_PAD_LEN);
  const nh = <u32>load<u8>(trailer, TRAILER_NEXT_HEADER);
  if (padLen + ESP_TRAILER_LEN > ctLen) { badPad(e); return ESP_IN_DONE; }
  const plen = ctLen - ESP_TRAILER_LEN - padLen;
  let bad: u32 = 0;
  for (let i: u32 = 0; i < padLen; i++) bad |= <u32>load<u8>(pay + plen + i) ^ (i + 1);
  if (bad != 0) { badPad(e); return ESP_IN_DONE; }
  if (nh == IPPROTO_GRE) {
    saAccount(e, plen);
    // Give the GRE packet an outer header (over the ESP header/IV, or for UDP at most 12 bytes of
    // this slot's own header) so that inbound() sees what a cleartext GRE packet looks like.
    const h = pay - IPV4_HDR_LEN;
    store<u32>(h, IPV4_VER_IHL_20 | (<u32>bswap<u16>(<u16>(IPV4_HDR_LEN + plen)) << 16), IPV4_VER_IHL); // + IPV4_TOS, IPV4_TOT_LEN
    store<u32>(h, 0, IPV4_ID);
    store<u32>(h, TTL_DEFAULT | (IPPROTO_GRE << 8), IPV4_TTL);
    store<u32>(h, bswap<u32>(src), IPV4_SRC);
    store<u32>(h, bswap<u32>(cfg.source), IPV4_DST);
    return decrypted(pk, h, IPV4_HDR_LEN + plen, src, v);
  }
  if (nh == IPPROTO_IPIP && plen >= IPV4_HDR_LEN && ipv4Check(pay, plen, true) != 0) {
    const itot = ipv4Check(pay, plen, true);
    const udp = kind == NBMA_KIND_UDP;
    if (ipProto(pay) == IPPROTO_GRE && (udp || ipDst(pay) == cfg.source)) { // GRE in tunnel mode
      // the inner source is the peer too, except behind NAT (ESP in UDP): then the inner addresses are
      // the ends' own pre-NAT ones (the peer's, and ours as the peer knows it), which neither end can
      // check; the outer source was checked above, and GRE runs between the outer addresses: the
      // inner header says so from here on (NHRP must see the post-NAT address, as in transport mode).
      if (peer != 0 && !udp && ipSrc(pay) != peer) { policyDrop(e, ipSrc(pay)); return ESP_IN_DONE; }
      if (udp) { store<u32>(pay, bswap<u32>(src), IPV4_SRC); store<u32>(pay, bswap<u32>(cfg.source), IPV4_DST); }
      saAccount(e, plen);
      return decrypted(pk, pay, itot, ipSrc(pay), v);
    }
    if ((fl & SA_FLAG_GRE_ONLY) != 0) { policyDrop(e, ipSrc(pay)); return ESP_IN_DONE; }
    if ((fl & SA_FLAG_TUNNEL) != 0) { saAccount(e, plen); toTun(pay, itot); return ESP_IN_DONE; }
  } else if ((fl & SA_FLAG_GRE_ONLY) != 0) { policyDrop(e, src); return ESP_IN_DONE; }
  else if (nh == IPPROTO_IPV6 && (fl & SA_FLAG_TUNNEL) != 0 && plen >= IPV6_HDR_LEN && (load<u8>(pay) >> 4) == 6) {
    const itot: u32 = IPV6_HDR_LEN + <u32>bswap<u16>(load<u16>(pay, IPV6_PAYLOAD_LEN));
    if (itot <= plen) { saAccount(e, plen); toTun(pay, itot); return ESP_IN_DONE; }
  }
  countAt(e, SA_ENTRY_DROP_BAD_NEXT_HEADER); count(COUNTER_DROP_ESP_INVALID);
  return ESP_IN_DONE;
}

/** The GRE-in-IPv4 packet at `p` (`len` bytes) from `src` came out of SA `v - 1`. */
@inline function decrypted(pk: Packet, p: usize, len: u32, src: u32, v: u32): u32 {
  pk.data = p; pk.len = len; pk.nbma = src; pk.sa = v; pk.kind = NBMA_KIND_GRE;
  return ESP_IN_GRE;
}

/** Authenticated, decrypted, but not what the SA protects: counted per SA and globally. */
function policyDrop(e: usize, src: u32): void {
  countAt(e, SA_ENTRY_DROP_POLICY); count(COUNTER_DROP_ESP_POLICY); recordSource(LAST_DROP_SOURCE_SLOT_ESP_POLICY, src);
}

function malformed(e: usize): void { countAt(e, SA_ENTRY_DROP_MALFORMED); count(COUNTER_DROP_ESP_MALFORMED); }
function badPad(e: usize): void { countAt(e, SA_ENTRY_DROP_BAD_PAD); count(COUNTER_DROP_ESP_INVALID); }

function toTun(p: usize, n: u32): void {
  if (n > slotDataMax(tunTx)) { count(COUNTER_DROP_BAD_IP); return; }
  tunSend(p, n);
}
