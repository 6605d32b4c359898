// ESP (RFC 4303) transport/tunnel mode for GRE, raw (IP protocol 50) or UDP-encapsulated (RFC 3948).
//
// Outbound: greCommit() replaces the nbmaTx commit of every GRE packet (encapSend, fragments,
// NHRP_OUT): no outbound SA for the peer -> cleartext GRE, or, on a protected tunnel, drop + SA_NEEDED;
// an SA -> the GRE packet is encrypted in place in the nbmaTx slot (raw) or copied into a udpTx slot.
// Inbound: espInput() takes kind 50 (whole IPv4 packet) and kind 17 (UDP payload) slots: SPI lookup,
// replay check, decrypt + verify (constant-time tag compare in the crypto module), window update,
// pad / next-header checks, then GRE decap (inbound()) or, in tunnel mode, an inner packet to tunTx.
import { scratch, nbmaTx, ctlRx, tunTx, slotDataMax, SCR_PROD_CTLRX, SCR_PROD_TUNTX, RING_HEAD, RING_TAIL,
  RING_SLOT_COUNT, RING_SLOT_SIZE, RING_HEADER } from '../core/layout';
import { prodReserve, prodCommit, prodPublish, ringRelease, SLOT_HEADER } from '../io/ring';
import { copyBytes } from '../core/mem';
import { ipv4Check, ipHl, ipSrc, ipDst, ipProto, ipFragField, ipTos, ipTtl, setHeaderChecksum, writeIpv4,
  IP_MF, IP_OFFMASK, IP_DF } from '../net/ipv4';
import { gcmSeal, gcmOpen } from '../crypto/aesgcm';
import { chachaPolySeal, chachaPolyOpen } from '../crypto/chacha20poly1305';
import { aesEncryptBlock } from '../crypto/aes';
import { aesCbcEncrypt, aesCbcDecrypt } from '../crypto/aescbc';
import { hmacSha1, hmacSha256 } from '../crypto/hmac';
import { ctEqual } from '../crypto/ct';
import { inbound } from '../forward/inbound';
import { nowMs } from '../forward/outbound';
import * as cfg from '../core/config';
import { count, countPkt, DROP_BAD_IP, DROP_OUTER_FRAGMENT, DROP_NOT_FOR_US, DROP_NO_TUNNEL, DROP_BAD_KIND,
  DROP_CTL_TOO_BIG, TUN_TX_PACKETS, CMD_BAD } from '../core/counters';
import {
  espReady, saEntry, idxFind, spiIndex, outIndex, udpTx, espRxRing, udpRxRing, saAdd, saRemove, saCap,
  saAccount, saExpiredDrop, saEventOnce, replayCheck, replayUpdate, saLimit,
} from './sa';
import {
  SA_STATE, SA_SPI, SA_FLAGS, SA_PORTS, SA_ENC, SA_INTEG, SA_IVLEN, SA_ICVLEN, SA_BLOCK, SA_SALT, SA_SEQ,
  SA_IV_SEED, SA_CTX, SA_HMAC, SA_D_AUTH, SA_D_BAD_PAD, SA_D_BAD_NH, SA_D_MALFORMED,
  ST_ACTIVE, ST_EXPIRED, SAF_UDP, SAF_ESN, SAF_TUNNEL, ENC_GCM128, ENC_GCM256, ENC_CHACHA, ENC_NULL,
  INTEG_NONE, INTEG_SHA1, EV_SEQ, FLAG_PROTECTED, CTL_SA_NEEDED, CTL_IKE_IN, K_SA_ADD, K_SA_DEL,
  K_KEEPALIVE, K_IKE_OUT, SCR_ESP_PROD_UDPTX, SCR_ESP_NONCE, SCR_ESP_AAD, SCR_ESP_IV, SCR_ESP_ICV,
  SCR_ESP_NEEDED, ESP_TX_PACKETS, ESP_TX_BYTES, ESP_RX_PACKETS, ESP_RX_BYTES, DROP_NO_SA, SA_NEEDED_SENT,
  DROP_UNKNOWN_SPI, DROP_ESP_MALFORMED, DROP_ESP_AUTH, DROP_ESP_INVALID, NATT_KEEPALIVE_RX,
  NATT_KEEPALIVE_TX, IKE_IN, IKE_OUT, DROP_ESP_TOO_BIG, cnt, saCnt, setEspInner, setEspInSa,
  SA_PAIR, SA_DIR, SA_PEER, DIR_IN, DIR_OUT, ST_FREE, K_SA_PAIR, K_SA_LIMIT, SA_SEQ_LIMIT, SA_SEQ_WARN,
  SA_D_SEQ_LIMIT, SA_D_POLICY, SAF_GRE_ONLY, EV_SEQ_LOW, DROP_SEQ_LIMIT, DROP_ESP_POLICY, LAST_SRC_ESP_POLICY, lastSource,
} from './defs';

const SA_NEEDED_INTERVAL_MS: u32 = 1000;
/** ESP length of the last packet sent (benchmarks). */
export let lastEspLen: u32 = 0;

/** Moves n bytes from src up to dst (dst > src, may overlap). */
function memmoveUp(dst: usize, src: usize, n: u32): void {
  let i = n;
  while (i >= 16) { i -= 16; v128.store(dst + i, v128.load(src + i)); }
  while (i > 0) { i--; store<u8>(dst + i, load<u8>(src + i)); }
}

/**
 * Commits a GRE packet (outer IPv4 of `outer` bytes at slot + 16, reserved in nbmaTx with producer
 * state `st`) to NBMA `nbma`, through ESP if it has an outbound SA. False = dropped (counted).
 */
export function greCommit(st: usize, slot: usize, outer: u32, nbma: u32, sa: u32 = 0): bool {
  let v: u32 = 0;
  if (espReady) {
    // `sa` (outbound SA index + 1, from the peer entry or NHRP_OUT aux) picks the SA of one tunnel
    // peer when several share an NBMA address (spokes behind one NAT); else the newest SA for nbma.
    if (sa != 0 && sa <= saCap) {
      const e = saEntry(sa - 1);
      if (load<u32>(e, SA_STATE) != ST_FREE && load<u32>(e, SA_DIR) == DIR_OUT && load<u32>(e, SA_PEER) == nbma) v = sa;
    }
    if (v == 0) v = idxFind(outIndex, nbma);
  }
  if (v == 0) {
    if ((cfg.flags & FLAG_PROTECTED) != 0) { cnt(DROP_NO_SA); saNeeded(nbma); return false; }
    prodCommit(st, slot, outer, 47, nbma, 0);
    return true;
  }
  return espSend(saEntry(v - 1), st, slot, outer, nbma);
}

/** SA_NEEDED (ctlRx kind 5, addr = NBMA), at most once per NBMA per second. */
function saNeeded(nbma: u32): void {
  const e = scratch + SCR_ESP_NEEDED + (<usize>((nbma * 0x9e3779b1) >>> 24) << 3);
  if (load<u32>(e) == nbma && nowMs - load<u32>(e, 4) < SA_NEEDED_INTERVAL_MS) return;
  const st = scratch + SCR_PROD_CTLRX;
  const slot = prodReserve(st);
  if (slot == 0) return;
  store<u32>(e, nbma);
  store<u32>(e, nowMs, 4);
  store<u32>(slot + SLOT_HEADER, nbma);
  prodCommit(st, slot, 4, CTL_SA_NEEDED, nbma, 0);
  cnt(SA_NEEDED_SENT);
}

function espSend(e: usize, st: usize, slot: usize, outer: u32, nbma: u32): bool {
  if (load<u32>(e, SA_STATE) != ST_ACTIVE) { saExpiredDrop(e); return false; }
  const fl = load<u32>(e, SA_FLAGS);
  const esn = (fl & SAF_ESN) != 0;
  const last = load<u64>(e, SA_SEQ);
  if (last >= (esn ? <u64>0xffffffffffffffff : <u64>0xffffffff)) { // never wraps
    store<u32>(e, ST_EXPIRED, SA_STATE); saEventOnce(e, EV_SEQ); saExpiredDrop(e); return false;
  }
  // Persisted reservation used up (the supervisor has not raised the limit yet): never send a
  // number that a restart could hand out again. The request for the next block is repeated.
  if (last >= load<u64>(e, SA_SEQ_LIMIT)) {
    saCnt(e, SA_D_SEQ_LIMIT); cnt(DROP_SEQ_LIMIT); saEventOnce(e, EV_SEQ_LOW); return false;
  }
  const d = slot + SLOT_HEADER;
  const tunnel = (fl & SAF_TUNNEL) != 0;
  const src = tunnel ? d : d + 20;
  const plen = tunnel ? outer : outer - 20;
  const ivLen = load<u32>(e, SA_IVLEN);
  const icvLen = load<u32>(e, SA_ICVLEN);
  const blk = load<u32>(e, SA_BLOCK);
  const padded = (plen + 2 + blk - 1) & ~(blk - 1);
  const padLen = padded - plen - 2;
  const hdr: u32 = 8 + ivLen;
  const espLen = hdr + padded + icvLen;
  const udp = (fl & SAF_UDP) != 0;
  const tos = ipTos(d);
  const df = ipFragField(d) & IP_DF;
  let out: usize;
  let uslot: usize = 0;
  const ust = scratch + SCR_ESP_PROD_UDPTX;
  if (udp) {
    if (udpTx == 0 || espLen > slotDataMax(udpTx)) { cnt(DROP_ESP_TOO_BIG); return false; }
    uslot = prodReserve(ust);
    if (uslot == 0) return false;
    out = uslot + SLOT_HEADER;
    if (out == d) memory.copy(out + hdr, src, plen); // benchmark mode: one buffer for every ring
    else copyBytes(out + hdr, src, plen);
  } else {
    if (<u32>20 + espLen > slotDataMax(nbmaTx)) { cnt(DROP_ESP_TOO_BIG); return false; }
    out = d + 20;
    memmoveUp(out + hdr, src, plen);
  }
  const seq = last + 1;
  store<u64>(e, seq, SA_SEQ);
  if (seq >= load<u64>(e, SA_SEQ_WARN)) saEventOnce(e, EV_SEQ_LOW);
  const spiBe = bswap<u32>(load<u32>(e, SA_SPI));
  store<u32>(out, spiBe);
  store<u32>(out, bswap<u32>(<u32>seq), 4);
  const pay = out + hdr;
  const tr = pay + plen;
  for (let i: u32 = 0; i < padLen; i++) store<u8>(tr + i, <u8>(i + 1));
  store<u8>(tr + padLen, <u8>padLen);
  store<u8>(tr + padLen + 1, tunnel ? 4 : 47);
  const icv = pay + padded;
  const enc = load<u32>(e, SA_ENC);
  const ctx = e + SA_CTX;
  if (enc <= ENC_CHACHA) {
    store<u64>(out + 8, bswap<u64>(seq)); // IV = 64-bit sequence number (unique per key)
    const nonce = scratch + SCR_ESP_NONCE;
    store<u32>(nonce, load<u32>(e, SA_SALT));
    store<u64>(nonce, bswap<u64>(seq), 4);
    let aad = out;
    let aadLen: i32 = 8;
    if (esn) {
      aad = scratch + SCR_ESP_AAD;
      store<u32>(aad, spiBe); store<u64>(aad, bswap<u64>(seq), 4); aadLen = 12;
    }
    if (enc == ENC_CHACHA) chachaPolySeal(ctx, nonce, aad, aadLen, pay, <i32>padded, icv, 1);
    else gcmSeal(ctx, nonce, aad, aadLen, pay, <i32>padded, icv, <i32>icvLen);
  } else {
    if (enc != ENC_NULL) {
      const iv = out + 8;
      const t = scratch + SCR_ESP_IV;
      v128.store(t, v128.load(e + SA_IV_SEED));
      store<u64>(t, load<u64>(t, 8) ^ bswap<u64>(seq), 8);
      aesEncryptBlock(ctx, t, iv);
      aesCbcEncrypt(ctx, iv, pay, <i32>padded);
    }
    const integ = load<u32>(e, SA_INTEG);
    if (integ != INTEG_NONE) {
      let mlen = hdr + padded;
      if (esn) { store<u32>(icv, bswap<u32>(<u32>(seq >> 32))); mlen += 4; } // ICV covers seq high
      const m = scratch + SCR_ESP_ICV;
      if (integ == INTEG_SHA1) hmacSha1(e + SA_HMAC, out, <i32>mlen, m);
      else hmacSha256(e + SA_HMAC, out, <i32>mlen, m);
      copyBytes(icv, m, icvLen);
    }
  }
  lastEspLen = espLen;
  if (udp) {
    prodCommit(ust, uslot, espLen, 17, nbma, load<u32>(e, SA_PORTS));
    cnt(ESP_TX_PACKETS); cnt(ESP_TX_BYTES, espLen);
  } else {
    const tot = 20 + espLen;
    if (tunnel) writeIpv4(d, tot, tos, df, cfg.ttl, 50, cfg.source, nbma);
    else {
      store<u8>(d, 50, 9);
      store<u16>(d, bswap<u16>(<u16>tot), 2);
      setHeaderChecksum(d, 20);
    }
    prodCommit(st, slot, tot, 50, nbma, 0);
    cnt(ESP_TX_PACKETS); cnt(ESP_TX_BYTES, tot);
  }
  saAccount(e, plen);
  if (seq == (esn ? <u64>0xffffffffffffffff : <u64>0xffffffff)) {
    store<u32>(e, ST_EXPIRED, SA_STATE); // the last number is used: stop and ask for a rekey
    saEventOnce(e, EV_SEQ);
  }
  return true;
}

/**
 * One received slot: kind 50 (`p` = whole IPv4 packet, `src` = outer source) or kind 17 (`p` = UDP
 * payload, `src` = source, `aux` = srcPort<<16|dstPort). The slot is ours until released: up to 12
 * bytes before `p` (its slot header) may be overwritten.
 */
export function espInput(kind: u32, src: u32, aux: u32, p: usize, len: u32): void {
  if (!espReady) { count(DROP_BAD_KIND); return; }
  if (!cfg.configured) { count(DROP_NO_TUNNEL); return; }
  let esp: usize;
  let elen: u32;
  if (kind == 50) {
    const tot = ipv4Check(p, len, false);
    if (tot == 0 || ipProto(p) != 50) { count(DROP_BAD_IP); return; }
    if ((ipFragField(p) & (IP_MF | IP_OFFMASK)) != 0) { count(DROP_OUTER_FRAGMENT); return; }
    if (ipDst(p) != cfg.source) { count(DROP_NOT_FOR_US); return; }
    src = ipSrc(p);
    const hl = ipHl(p);
    esp = p + hl;
    elen = tot - hl;
  } else if (kind == 17) {
    esp = p; elen = len;
    if (elen == 1 && load<u8>(p) == 0xff) { cnt(NATT_KEEPALIVE_RX); return; } // RFC 3948 2.3
    if (elen >= 4 && load<u32>(p) == 0) { ikeIn(src, aux, p + 4, elen - 4); return; } // non-ESP marker
  } else { count(DROP_BAD_KIND); return; }
  cnt(ESP_RX_PACKETS); cnt(ESP_RX_BYTES, elen);
  if (elen < 8) { cnt(DROP_ESP_MALFORMED); return; }
  const v = idxFind(spiIndex, bswap<u32>(load<u32>(esp)));
  if (v == 0) { cnt(DROP_UNKNOWN_SPI); return; }
  const e = saEntry(v - 1);
  if (load<u32>(e, SA_STATE) != ST_ACTIVE) { saExpiredDrop(e); return; }
  const ivLen = load<u32>(e, SA_IVLEN);
  const icvLen = load<u32>(e, SA_ICVLEN);
  const blk = load<u32>(e, SA_BLOCK);
  const enc = load<u32>(e, SA_ENC);
  const hdr: u32 = 8 + ivLen;
  if (elen < hdr + icvLen + 2) { malformed(e); return; }
  const ctLen = elen - hdr - icvLen;
  if (blk == 16 && (ctLen & 15) != 0) { malformed(e); return; }
  // The SA is found by SPI and checked against its addresses (RFC 4301 4.4.2): the destination is
  // our tunnel source (checked above for raw ESP; the UDP socket is bound to it), and the source
  // must be the SA's peer, before any crypto work is spent. Selectors: docs/security.md.
  const peer = load<u32>(e, SA_PEER);
  if (peer != 0 && src != peer) { policyDrop(e, src); return; }
  const s = replayCheck(e, bswap<u32>(load<u32>(esp, 4)));
  if (s == 0) return;
  const fl = load<u32>(e, SA_FLAGS);
  const esn = (fl & SAF_ESN) != 0;
  const pay = esp + hdr;
  const icv = pay + ctLen;
  const ctx = e + SA_CTX;
  let ok: i32 = 1;
  if (enc <= ENC_CHACHA) {
    const nonce = scratch + SCR_ESP_NONCE;
    store<u32>(nonce, load<u32>(e, SA_SALT));
    store<u64>(nonce, load<u64>(esp, 8), 4);
    let aad = esp;
    let aadLen: i32 = 8;
    if (esn) {
      aad = scratch + SCR_ESP_AAD;
      store<u32>(aad, load<u32>(esp)); store<u32>(aad, bswap<u32>(<u32>(s >> 32)), 4); store<u32>(aad, load<u32>(esp, 4), 8);
      aadLen = 12;
    }
    if (enc == ENC_CHACHA) ok = chachaPolyOpen(ctx, nonce, aad, aadLen, pay, <i32>ctLen, icv, 1);
    else ok = gcmOpen(ctx, nonce, aad, aadLen, pay, <i32>ctLen, icv, <i32>icvLen);
  } else {
    const integ = load<u32>(e, SA_INTEG);
    if (integ != INTEG_NONE) {
      const theirs = scratch + SCR_ESP_ICV + 32;
      copyBytes(theirs, icv, icvLen);
      let mlen = hdr + ctLen;
      if (esn) { store<u32>(icv, bswap<u32>(<u32>(s >> 32))); mlen += 4; }
      const m = scratch + SCR_ESP_ICV;
      if (integ == INTEG_SHA1) hmacSha1(e + SA_HMAC, esp, <i32>mlen, m);
      else hmacSha256(e + SA_HMAC, esp, <i32>mlen, m);
      ok = ctEqual(m, theirs, <i32>icvLen);
    }
    if (ok != 0 && enc != ENC_NULL) aesCbcDecrypt(ctx, esp + 8, pay, <i32>ctLen);
  }
  if (ok == 0) { saCnt(e, SA_D_AUTH); cnt(DROP_ESP_AUTH); return; }
  replayUpdate(e, s);
  if (kind == 17) portFloat(e, aux);
  const padLen = <u32>load<u8>(pay + ctLen - 2);
  const nh = <u32>load<u8>(pay + ctLen - 1);
  if (padLen + 2 > ctLen) { saCnt(e, SA_D_BAD_PAD); cnt(DROP_ESP_INVALID); return; }
  const plen = ctLen - 2 - padLen;
  let bad: u32 = 0;
  for (let i: u32 = 0; i < padLen; i++) bad |= <u32>load<u8>(pay + plen + i) ^ (i + 1);
  if (bad != 0) { saCnt(e, SA_D_BAD_PAD); cnt(DROP_ESP_INVALID); return; }
  if (nh == 47) {
    saAccount(e, plen);
    // Give inbound() an outer header in front of the GRE packet (over the ESP header/IV, or for
    // UDP at most 12 bytes of this slot's own header).
    const h = pay - 20;
    store<u32>(h, 0x45 | (<u32>bswap<u16>(<u16>(20 + plen)) << 16));
    store<u32>(h, 0, 4);
    store<u32>(h, 64 | (47 << 8), 8);
    store<u32>(h, bswap<u32>(src), 12);
    store<u32>(h, bswap<u32>(cfg.source), 16);
    setEspInner(true); setEspInSa(v);
    inbound(47, src, h, 20 + plen);
    setEspInner(false); setEspInSa(0);
    return;
  }
  if (nh == 4 && plen >= 20 && ipv4Check(pay, plen, true) != 0) {
    const itot = ipv4Check(pay, plen, true);
    if (ipProto(pay) == 47 && ipDst(pay) == cfg.source) { // GRE in tunnel mode
      // the inner source is the peer too, except behind NAT (ESP in UDP): then it is the peer's
      // pre-NAT address, which manual keying cannot know; the outer source was checked above.
      if (peer != 0 && kind != 17 && ipSrc(pay) != peer) { policyDrop(e, ipSrc(pay)); return; }
      saAccount(e, plen);
      setEspInner(true); setEspInSa(v);
      inbound(47, ipSrc(pay), pay, itot);
      setEspInner(false); setEspInSa(0);
      return;
    }
    if ((fl & SAF_GRE_ONLY) != 0) { policyDrop(e, ipSrc(pay)); return; }
    if ((fl & SAF_TUNNEL) != 0) { saAccount(e, plen); toTun(pay, itot); return; }
  } else if ((fl & SAF_GRE_ONLY) != 0) { policyDrop(e, src); return; }
  else if (nh == 41 && (fl & SAF_TUNNEL) != 0 && plen >= 40 && (load<u8>(pay) >> 4) == 6) {
    const itot: u32 = 40 + <u32>bswap<u16>(load<u16>(pay, 4));
    if (itot <= plen) { saAccount(e, plen); toTun(pay, itot); return; }
  }
  saCnt(e, SA_D_BAD_NH); cnt(DROP_ESP_INVALID);
}

/**
 * NAT-T port floating: an authenticated ESP-in-UDP packet on inbound SA `e` came from source port
 * `aux >> 16`; the paired outbound SA (SA_PAIR) sends to that port from now on.
 */
function portFloat(e: usize, aux: u32): void {
  const pair = load<u32>(e, SA_PAIR);
  if (pair == 0 || pair > saCap) return;
  const o = saEntry(pair - 1);
  if (load<u32>(o, SA_STATE) == ST_FREE || load<u32>(o, SA_DIR) != DIR_OUT || (load<u32>(o, SA_FLAGS) & SAF_UDP) == 0) return;
  const ports = load<u32>(o, SA_PORTS);
  const sport = aux >>> 16;
  if (sport == 0 || (ports & 0xffff) == sport) return;
  atomic.store<u32>(o, (ports & 0xffff0000) | sport, SA_PORTS);
}

/** Authenticated, decrypted, but not what the SA protects: counted per SA and globally. */
function policyDrop(e: usize, src: u32): void { saCnt(e, SA_D_POLICY); cnt(DROP_ESP_POLICY); lastSource(LAST_SRC_ESP_POLICY, src); }

function malformed(e: usize): void { saCnt(e, SA_D_MALFORMED); cnt(DROP_ESP_MALFORMED); }

function toTun(p: usize, n: u32): void {
  if (n > slotDataMax(tunTx)) { count(DROP_BAD_IP); return; }
  const st = scratch + SCR_PROD_TUNTX;
  const slot = prodReserve(st);
  if (slot == 0) return;
  copyBytes(slot + SLOT_HEADER, p, n);
  prodCommit(st, slot, n, 0, 0, 0);
  countPkt(TUN_TX_PACKETS, n);
}

/** IKE on port 4500 (non-ESP marker stripped) -> ctlRx IKE_IN (addr = source, aux = ports). */
function ikeIn(src: u32, aux: u32, p: usize, n: u32): void {
  if (n > slotDataMax(ctlRx)) { count(DROP_CTL_TOO_BIG); return; }
  const st = scratch + SCR_PROD_CTLRX;
  const slot = prodReserve(st);
  if (slot == 0) return;
  copyBytes(slot + SLOT_HEADER, p, n);
  prodCommit(st, slot, n, CTL_IKE_IN, src, aux);
  cnt(IKE_IN);
}

/** Writes `n` bytes (with `marker` zero bytes first) to udpTx for dst/ports. */
function udpSend(dst: u32, ports: u32, p: usize, n: u32, marker: u32): bool {
  if (udpTx == 0 || n + marker > slotDataMax(udpTx)) return false;
  const st = scratch + SCR_ESP_PROD_UDPTX;
  const slot = prodReserve(st);
  if (slot == 0) return false;
  const d = slot + SLOT_HEADER;
  if (marker != 0) store<u32>(d, 0);
  copyBytes(d + marker, p, n);
  prodCommit(st, slot, n + marker, 17, dst, ports);
  return true;
}

/** ctlTx kinds 26..31. */
export function espCommand(kind: u32, d: usize, len: u32): bool {
  if (kind == K_SA_ADD) return saAdd(d, len);
  if (kind == K_SA_DEL) {
    if (len < 4 || !espReady || load<u32>(d) >= saCap) return false;
    saRemove(load<u32>(d));
    return true;
  }
  if (kind == K_KEEPALIVE) { // {nbma, ports}: one 0xFF byte (RFC 3948 2.3)
    if (len < 8) return false;
    store<u8>(scratch + SCR_ESP_IV, 0xff);
    if (!udpSend(load<u32>(d), load<u32>(d, 4), scratch + SCR_ESP_IV, 1, 0)) return false;
    cnt(NATT_KEEPALIVE_TX);
    return true;
  }
  if (kind == K_SA_LIMIT) return saLimit(d, len);
  if (kind == K_SA_PAIR) { // {inbound index, outbound index}: port floating follows the inbound SA
    if (len < 8 || !espReady) return false;
    const i = load<u32>(d), o = load<u32>(d, 4);
    if (i >= saCap || o >= saCap) return false;
    const ie = saEntry(i);
    if (load<u32>(ie, SA_STATE) == ST_FREE || load<u32>(ie, SA_DIR) != DIR_IN) return false;
    store<u32>(ie, o + 1, SA_PAIR);
    return true;
  }
  if (kind == K_IKE_OUT) { // {dst, ports, IKE message}: sent after a non-ESP marker
    if (len < 8) return false;
    if (!udpSend(load<u32>(d), load<u32>(d, 4), d + 8, len - 8, 4)) return false;
    cnt(IKE_OUT);
    return true;
  }
  return false;
}

// ---- rings ----

@inline function pending(r: usize): bool {
  return r != 0 && atomic.load<u32>(r, RING_HEAD) != atomic.load<u32>(r, RING_TAIL);
}
export function espPending(): bool { return pending(espRxRing) || pending(udpRxRing); }
export function espPublish(): void { if (udpTx != 0) prodPublish(scratch + SCR_ESP_PROD_UDPTX); }

export { ipTtl, CMD_BAD };
