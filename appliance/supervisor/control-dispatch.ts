// Hands the worker's control messages (ctlRx: NHRP in, no-entry and traffic-indication notices, ESP
// events) to their JS handlers. A handler that throws must not wedge the ring: the slot is released
// like any other (otherwise the same message would be replayed on every doorbell, forever), the
// failure is counted, and logged with the error at most once per interval.
import { CTL_IN, CTL_KIND_WORD } from '../dataplane/layout.js';
import { u32ToIp } from '../net/ipv4.js';
import type { LogFn } from '../log/log.js';
import type { Ring } from '../dataplane/ring.js';
import { decodeEspControl, type EspControlMessage } from '../dataplane/sa.js';

export interface DataplaneEvents {
  /** `inSa`: index + 1 of the inbound SA the packet came through (0 = cleartext). */
  nhrpIn(srcNbma: string, dstNbma: string, packet: Uint8Array, inSa: number): void;
  noEntry(nextHop: string, destination: string): void;
  trafficIndication(srcNbma: string, destination: string, packetHead: Uint8Array): void;
  esp(msg: EspControlMessage): void;
}

/** At most one log line about failing handlers per this many ms. */
export const HANDLER_ERROR_LOG_MS = 10_000;
const KIND_NAMES = Object.fromEntries(Object.entries(CTL_IN).map(([k, v]) => [v, k]));

export class ControlDispatcher {
  /** Control messages whose handler threw (each one was dropped). */
  handlerErrors = 0;
  private lastLogAt = -Infinity;
  private unlogged = 0;

  constructor(private readonly ring: Ring, private readonly events: DataplaneEvents,
    private readonly log: LogFn, private readonly now: () => number = Date.now) {}

  /** Dispatches every pending message and frees their slots. Returns messages handled. */
  drain(): number {
    return this.ring.drain((kindWord, addr, aux, data) => {
      try {
        this.dispatch(kindWord, addr, aux, data);
      } catch (e) {
        this.failed(kindWord & CTL_KIND_WORD.KIND_MASK, addr, e as Error);
      }
    });
  }

  private dispatch(kindWord: number, addr: number, aux: number, data: Uint8Array): void {
    const kind = kindWord & CTL_KIND_WORD.KIND_MASK; // NHRP_IN through ESP: bits 16.. = inbound SA index + 1
    if (kind === CTL_IN.NHRP_IN) this.events.nhrpIn(u32ToIp(addr), u32ToIp(aux), data.slice(), kindWord >>> CTL_KIND_WORD.SA_SHIFT);
    else if (kind === CTL_IN.NO_ENTRY) this.events.noEntry(u32ToIp(addr), u32ToIp(aux));
    else if (kind === CTL_IN.SA_EVENT || kind === CTL_IN.SA_NEEDED || kind === CTL_IN.IKE_IN) {
      const msg = decodeEspControl(kind, addr, aux, data);
      if (msg) this.events.esp(msg);
    }
    else if (kind === CTL_IN.TRAFFIC_INDICATION) this.events.trafficIndication(u32ToIp(addr), u32ToIp(aux), data.slice());
  }

  private failed(kind: number, addr: number, e: Error): void {
    this.handlerErrors++;
    const t = this.now();
    if (t - this.lastLogAt < HANDLER_ERROR_LOG_MS) { this.unlogged++; return; }
    const more = this.unlogged ? ` (${this.unlogged} more failures since the last report)` : '';
    this.lastLogAt = t;
    this.unlogged = 0;
    const frame = e.stack?.split('\n')[1]?.trim() ?? '';
    this.log('warn', `control message ${KIND_NAMES[kind] ?? `kind ${kind}`} (addr ${u32ToIp(addr)}) dropped: its handler threw ${e.name}: ${e.message}${frame ? ` ${frame}` : ''}${more}`);
  }
}
