// The ESP ctlTx commands: SA_ADD, SA_DEL, KEEPALIVE, IKE_OUT, SA_PAIR, SA_LIMIT (records in core/layout.ts).
import {
  scratch, SCRATCH_ESP_IV, CTL_OUT_SA_ADD, CTL_OUT_SA_DEL, CTL_OUT_KEEPALIVE, CTL_OUT_IKE_OUT, CTL_OUT_SA_PAIR,
  CTL_OUT_SA_LIMIT, SA_DEL_INDEX, SA_DEL_SIZE, KEEPALIVE_NBMA, KEEPALIVE_PORTS, KEEPALIVE_SIZE, IKE_OUT_DST,
  IKE_OUT_PORTS, IKE_OUT_MESSAGE, SA_PAIR_IN_INDEX, SA_PAIR_OUT_INDEX, SA_PAIR_SIZE, SA_ENTRY_STATE,
  SA_ENTRY_DIR, SA_ENTRY_PAIR, SA_STATE_FREE, SA_DIR_IN, COUNTER_NATT_KEEPALIVE_TX, COUNTER_IKE_OUT,
} from '../core/layout';
import { count } from '../core/counters';
import { espReady, saCap, saEntry, saAdd, saDelete, saLimit } from './sa';
import { udpSend } from './natt';
import { NATT_KEEPALIVE_BYTE, NON_ESP_MARKER_LEN } from './defs';

/** True if `kind` is one of the ESP commands. */
@inline export function isEspCommand(kind: u32): bool { return kind >= CTL_OUT_SA_ADD && kind <= CTL_OUT_SA_LIMIT; }

/** Applies ESP command `kind` (`len` bytes at `d`). False for a bad or refused command. */
export function espCommand(kind: u32, d: usize, len: u32): bool {
  if (kind == CTL_OUT_SA_ADD) return saAdd(d, len);
  if (kind == CTL_OUT_SA_DEL) {
    if (len < SA_DEL_SIZE || !espReady || load<u32>(d, SA_DEL_INDEX) >= saCap) return false;
    return saDelete(load<u32>(d, SA_DEL_INDEX)); // false with saPending: applied again on the next poll
  }
  if (kind == CTL_OUT_KEEPALIVE) {
    if (len < KEEPALIVE_SIZE) return false;
    const b = scratch + SCRATCH_ESP_IV;
    store<u8>(b, NATT_KEEPALIVE_BYTE);
    if (!udpSend(load<u32>(d, KEEPALIVE_NBMA), load<u32>(d, KEEPALIVE_PORTS), b, 1, 0)) return false;
    count(COUNTER_NATT_KEEPALIVE_TX);
    return true;
  }
  if (kind == CTL_OUT_SA_LIMIT) return saLimit(d, len);
  if (kind == CTL_OUT_SA_PAIR) { // port floating follows the inbound SA
    if (len < SA_PAIR_SIZE || !espReady) return false;
    const i = load<u32>(d, SA_PAIR_IN_INDEX), o = load<u32>(d, SA_PAIR_OUT_INDEX);
    if (i >= saCap || o >= saCap) return false;
    const ie = saEntry(i);
    if (load<u32>(ie, SA_ENTRY_STATE) == SA_STATE_FREE || load<u32>(ie, SA_ENTRY_DIR) != SA_DIR_IN) return false;
    store<u32>(ie, o + 1, SA_ENTRY_PAIR);
    return true;
  }
  if (kind == CTL_OUT_IKE_OUT) { // sent after a non-ESP marker
    if (len < <u32>IKE_OUT_MESSAGE) return false;
    if (!udpSend(load<u32>(d, IKE_OUT_DST), load<u32>(d, IKE_OUT_PORTS), d + IKE_OUT_MESSAGE, len - <u32>IKE_OUT_MESSAGE, NON_ESP_MARKER_LEN)) return false;
    count(COUNTER_IKE_OUT);
    return true;
  }
  return false;
}
