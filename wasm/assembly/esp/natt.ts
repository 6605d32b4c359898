// NAT traversal (RFC 3948): IKE on port 4500 up to the supervisor, IKE and NAT-keepalives out through
// udpTx, and port floating of an outbound SA after its paired inbound SA saw a new source port.
import {
  scratch, slotDataMax, SLOT_DATA, SCRATCH_ESP_PROD_UDP_TX, NBMA_KIND_UDP, CTL_IN_IKE_IN, SA_ENTRY_PAIR,
  SA_ENTRY_STATE, SA_ENTRY_DIR, SA_ENTRY_FLAGS, SA_ENTRY_PORTS, SA_STATE_FREE, SA_DIR_OUT, SA_FLAG_UDP,
  COUNTER_IKE_IN, COUNTER_IKE_IN_DROPPED,
} from '../core/layout';
import { count } from '../core/counters';
import { copyBytes } from '../core/mem';
import { prodReserve, prodCommit } from '../io/ring';
import { ctlSend } from '../io/ctl';
import { udpTx, saCap, saEntry } from './sa';
import { portsSrc } from './defs';

/** IKE on port 4500 (non-ESP marker stripped) -> ctlRx IKE_IN (addr = source, aux = ports). */
export function ikeIn(src: u32, ports: u32, p: usize, n: u32): void {
  if (ctlSend(CTL_IN_IKE_IN, src, ports, p, n)) count(COUNTER_IKE_IN);
  else count(COUNTER_IKE_IN_DROPPED); // ctlRx full (or too big, also dropCtlTooBig): never silent
}

/** Writes `n` bytes (after `marker` zero bytes) to udpTx for dst/ports. */
export function udpSend(dst: u32, ports: u32, p: usize, n: u32, marker: u32): bool {
  if (udpTx == 0 || n + marker > slotDataMax(udpTx)) return false;
  const st = scratch + SCRATCH_ESP_PROD_UDP_TX;
  const slot = prodReserve(st);
  if (slot == 0) return false;
  const d = slot + SLOT_DATA;
  if (marker != 0) store<u32>(d, 0);
  copyBytes(d + marker, p, n);
  prodCommit(st, slot, n + marker, NBMA_KIND_UDP, dst, ports);
  return true;
}

/**
 * Port floating: an authenticated ESP-in-UDP packet on inbound SA `e` came from source port
 * `portsSrc(ports)`; the paired outbound SA (SA_ENTRY_PAIR) sends to that port from now on.
 */
export function portFloat(e: usize, ports: u32): void {
  const pair = load<u32>(e, SA_ENTRY_PAIR);
  if (pair == 0 || pair > saCap) return;
  const o = saEntry(pair - 1);
  if (load<u32>(o, SA_ENTRY_STATE) == SA_STATE_FREE || load<u32>(o, SA_ENTRY_DIR) != SA_DIR_OUT ||
      (load<u32>(o, SA_ENTRY_FLAGS) & SA_FLAG_UDP) == 0) return;
  const cur = load<u32>(o, SA_ENTRY_PORTS);
  const sport = portsSrc(ports);
  if (sport == 0 || (cur & 0xffff) == sport) return;
  atomic.store<u32>(o, (cur & 0xffff0000) | sport, SA_ENTRY_PORTS);
}
