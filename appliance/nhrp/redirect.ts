// Phase 3 redirect (Cisco Traffic Indication, NHRP type 8). A hub with `ip nhrp redirect` that
// forwarded a packet in and out of the same tunnel tells the sending spoke there is a better path:
// the indication carries the packet (as FRR's nhrp_peer_send_indication does; Wireshark dissects
// it as the "packet causing indication"), is addressed to the packet's source, hop count 1.
// IOS `ip nhrp redirect timeout` (default 2 s) limits indications per source/destination pair.
import type { NhrpContext } from './context.js';
import { ipv4PacketAddrs } from '../net/ipv4.js';
import { NhrpType } from './types.js';
import type { NhrpMessage } from './types.js';

export const REDIRECT_TIMEOUT_S = 2;
/** Fixed header + mandatory part of a Traffic Indication, and room for the auth extension. */
const TI_OVERHEAD = 20 + 20 + 4 + 16;
/** Bound the rate-limit memory: stale pairs are swept when the table grows past this. */
const MAX_PAIRS = 4096;

export type RedirectOutcome = 'sent' | 'rate-limited' | 'not-ipv4' | 'disabled';

export class Redirector {
  private readonly last = new Map<string, number>(); // "srcNbma|innerDst" -> ms

  constructor(private readonly ctx: NhrpContext, private readonly enabled: boolean) {}

  indicate(srcNbma: string, srcTunnelIp: string | undefined, inner: Uint8Array): RedirectOutcome {
    if (!this.enabled) return 'disabled';
    const a = ipv4PacketAddrs(inner);
    if (!a) return 'not-ipv4';
    const now = this.ctx.clock.now();
    const key = `${srcNbma}|${a.dst}`;
    const prev = this.last.get(key);
    if (prev !== undefined && now - prev < REDIRECT_TIMEOUT_S * 1000) return 'rate-limited';
    if (this.last.size >= MAX_PAIRS) {
      for (const [k, t] of this.last) if (now - t >= REDIRECT_TIMEOUT_S * 1000) this.last.delete(k);
    }
    this.last.set(key, now);
    const payload = inner.subarray(0, Math.max(28, this.ctx.mtu - TI_OVERHEAD));
    const msg: NhrpMessage = {
      type: NhrpType.TrafficIndication, hopCount: 1,
      srcNbma: this.ctx.selfNbma, srcProto: this.ctx.selfIp, dstProto: a.src,
      flags: 0, requestId: 0, cies: [], trafficCode: 0, payload: payload.slice(),
      extensions: this.ctx.auth ? [this.ctx.auth] : [],
    };
    this.ctx.log('debug', `NHRP: traffic indication to ${srcTunnelIp ?? a.src} (NBMA ${srcNbma}) about ${a.src} -> ${a.dst}`);
    this.ctx.send(srcNbma, msg);
    return 'sent';
  }

  reset(): void {
    this.last.clear();
  }
}

/** Destination of the packet a Traffic Indication is about: what a shortcut spoke resolves. */
export function indicatedDestination(msg: NhrpMessage): string | undefined {
  return msg.payload ? ipv4PacketAddrs(msg.payload)?.dst : undefined;
}
