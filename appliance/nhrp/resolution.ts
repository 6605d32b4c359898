// Resolution client (RFC 2332 5.2.1/5.2.2, FRR nhrp_shortcut.c): resolves
//  - Phase 2: the tunnel next hop the data plane had no binding for (`noEntry`): an incomplete
//    cache entry while asking, a dynamic one from the reply, a negative one after failure;
//  - Phase 3: the destination of a redirected packet (`shortcut`): the owner answers with its
//    covering prefix, which becomes a shortcut route via the owner's tunnel address.
// Requests go to the best responding NHS (re-chosen on every retransmission, so a dead primary is
// left at once) and are retransmitted with backoff. Bindings still in use are re-resolved at 2/3
// of their holding time so they never lapse under traffic.
import type { NhrpContext } from './context.js';
import { ORIGIN_HOP_COUNT } from './context.js';
import { errorName } from './error.js';
import { cieLen } from './prefix.js';
import { networkOf } from '../net/ipv4.js';
import type { ShortcutTable } from './shortcut.js';
import type { TimerHandle } from './clock.js';
import { cameDirect, hasExt, natCieFor, ownNatCies } from './transit.js';
import {
  FLAG_CISCO_NAT, FLAG_RES_A, FLAG_RES_Q, FLAG_RES_S, NhrpExtType, NhrpType, cieCodeName,
} from './types.js';
import type { NhrpMessage } from './types.js';

/** First retransmission after 1 s, doubling; after RES_RETRIES retransmissions the request fails. */
export const RES_RETRY_INITIAL_S = 1;
export const RES_RETRIES = 3;
/** Negative entries are short-lived: the data plane keeps forwarding via the hub meanwhile. */
export const NEGATIVE_HOLD_S = 10;

const responderNbma = (m: NhrpMessage) => hasExt(m, NhrpExtType.ResponderAddress)?.cies?.[0]?.nbma;

type Kind = 'nexthop' | 'shortcut';

interface Pending {
  target: string;
  kind: Kind;
  /** re-resolution of a binding that still works: failure must not replace it with a negative */
  refresh: boolean;
  ids: Set<number>;
  /** NBMA addresses of the NHSes the request went to (one per transmission): they may answer */
  sentTo: Set<string>;
  attempt: number;
  timer?: TimerHandle;
}

export class Resolver {
  private readonly pending = new Map<string, Pending>(); // by target
  private readonly byId = new Map<number, Pending>();
  private readonly refreshTimers = new Map<string, TimerHandle>();
  private readonly recentlyUsed = new Set<string>();
  private readonly suppressed = new Map<string, number>(); // shortcut target -> until (ms)

  constructor(private readonly ctx: NhrpContext, private readonly shortcuts: ShortcutTable) {}

  /** Phase 2: resolve tunnel address nextHop (destination is the packet's, for the log only). */
  resolveNextHop(nextHop: string, destination: string): void {
    if (this.ctx.cache.get(nextHop) || this.pending.has(nextHop)) return; // known, resolving, or negative
    this.ctx.cache.set({ tunnelIp: nextHop, prefixLen: 32, type: 'incomplete', flags: {} });
    this.ctx.log('debug', `NHRP: resolving ${nextHop} (packet for ${destination})`);
    this.start(nextHop, 'nexthop', false);
  }

  /** Phase 3: resolve the destination of a redirected packet. */
  resolveShortcut(target: string): void {
    if (this.pending.has(target) || this.shortcuts.covering(target)) return;
    if ((this.suppressed.get(target) ?? 0) > this.ctx.clock.now()) return;
    this.start(target, 'shortcut', false);
  }

  /** Shortcut aging asks for a refresh of a used shortcut. */
  refreshShortcut(target: string): void {
    if (!this.pending.has(target)) this.start(target, 'shortcut', true);
  }

  markUsed(tunnelIp: string): void {
    this.recentlyUsed.add(tunnelIp);
  }

  owns(requestId: number): boolean {
    return this.byId.has(requestId);
  }

  /** A Resolution Reply to one of our requests; outerSrc is where the packet came from. It must
   *  match an outstanding request (unguessable id, same target), bind the target itself (Phase 2) and
   *  come from an NHS the request went to or, answered directly, from the NBMA address it binds. */
  onReply(msg: NhrpMessage, outerSrc: string): void {
    const p = this.byId.get(msg.requestId);
    const refuse = (why: string) => this.ctx.refuse('resolution-reply', `resolution reply ${msg.requestId} for ` +
      `${msg.dstProto} from NBMA ${outerSrc} refused: ${why}`);
    if (!p) return refuse('no request of ours has that id');
    if (msg.dstProto !== p.target) return refuse(`we asked for ${p.target}`);
    const fromNhs = p.sentTo.has(outerSrc);
    const cie = msg.cies[0];
    if (!cie || cie.code !== 0) {
      // A NAK turns into a negative entry: only an NHS we asked may say so.
      if (!fromNhs) return refuse('negative answer not from the NHS we asked');
      this.finish(p);
      return this.failed(p, `NAK code ${cie?.code ?? -1} (${cie ? cieCodeName(cie.code) : 'no CIE'})`);
    }
    const proto = cie.proto ?? msg.dstProto;
    if (!this.ctx.inTunnel(proto)) return refuse(`next hop ${proto} is outside the tunnel subnet`);
    if (p.kind === 'nexthop' && proto !== p.target) return refuse(`it binds ${proto}, we asked for ${p.target}`);
    // Where the answering router really is: the Cisco NAT extension names its outside address (it
    // learnt it from its NHS, or the NHS answering for it knows it); failing that, a reply that came
    // straight from the router it describes was seen coming from that address (FRR natoa).
    const responder = hasExt(msg, NhrpExtType.ResponderAddress)?.cies?.[0]?.proto;
    const direct = cameDirect(msg) && responder === proto ? outerSrc : undefined;
    const nbma = natCieFor(msg, proto)?.nbma ?? direct ?? cie.nbma;
    if (!nbma) { this.finish(p); return this.failed(p, 'reply without NBMA address'); }
    // Sent straight to us, it must come from the router the request was forwarded to: the owner
    // (it binds itself: nbma is the sender) or, in a hierarchy, the NHS holding the owner's
    // registration (it names itself at the sender's address in the Responder Address extension).
    const forwardedTo = hasExt(msg, NhrpExtType.ForwardTransitNhs)?.cies?.length && responderNbma(msg) === outerSrc;
    if (!fromNhs && nbma !== outerSrc && !forwardedTo) {
      return refuse(`it binds ${proto} to ${nbma}, and neither an NHS we asked nor the responder it names sent it`);
    }
    this.finish(p);
    const natted = cie.nbma !== undefined && nbma !== cie.nbma;
    const hold = cie.holdingTime || this.ctx.holdtime;
    const old = this.ctx.cache.get(proto);
    if (!(old && (old.type === 'static' || old.flags.registered))) {
      this.ctx.cache.set({
        tunnelIp: proto, prefixLen: 32, type: 'dynamic', nbma,
        claimedNbma: natted ? cie.nbma : undefined,
        flags: { router: true, nhop: true, nat: natted, used: old?.flags.used },
        mtu: cie.mtu || undefined, holdtime: hold,
      }, hold);
    }
    const len = cieLen(cie.prefixLen);
    if (p.kind === 'shortcut' && !(len === 32 && proto === p.target)) {
      this.shortcuts.install(networkOf(p.target, len), len, proto, hold, p.target, nbma);
    } else if (p.kind === 'nexthop') {
      this.scheduleRefresh(proto, hold);
    }
    this.ctx.log('info', `NHRP: resolved ${p.target}: ${networkOf(p.target, len)}/${len} via ${proto} at NBMA ${nbma}` +
      `${natted ? ` (NAT, claimed ${cie.nbma})` : ''} (holding time ${hold} s)`);
  }

  /** An Error Indication about one of our requests: fail it now instead of waiting for timeouts. */
  onError(requestId: number, code: number | undefined, from: string): boolean {
    const p = this.byId.get(requestId);
    if (!p) return false;
    this.finish(p);
    this.failed(p, `error indication from ${from}: ${errorName(code)}`);
    return true;
  }

  stop(): void {
    for (const p of [...this.pending.values()]) this.finish(p);
    for (const h of this.refreshTimers.values()) this.ctx.clock.timers.clearTimeout(h);
    this.refreshTimers.clear();
    this.recentlyUsed.clear();
    this.suppressed.clear();
  }

  private start(target: string, kind: Kind, refresh: boolean): void {
    const p: Pending = { target, kind, refresh, ids: new Set(), sentTo: new Set(), attempt: 0 };
    this.pending.set(target, p);
    this.transmit(p);
  }

  private transmit(p: Pending): void {
    const nhs = this.ctx.bestNhs();
    if (!nhs) {
      this.finish(p);
      return this.failed(p, 'no NHS configured');
    }
    const id = this.ctx.allocRequestId();
    p.ids.add(id);
    p.sentTo.add(nhs.nbma);
    this.byId.set(id, p);
    const wait = RES_RETRY_INITIAL_S * 2 ** p.attempt;
    p.timer = this.ctx.clock.timers.setTimeout(() => {
      p.timer = undefined;
      if (p.attempt >= RES_RETRIES) {
        this.finish(p);
        return this.failed(p, `${p.attempt + 1} requests unanswered`);
      }
      p.attempt++;
      this.transmit(p);
    }, wait * 1000);
    this.ctx.send(nhs.nbma, this.request(p.target, id));
  }

  /** As FRR sends it: Q|A|S + Cisco NAT flags, one CIE with our holding time, the usual extensions. */
  private request(target: string, requestId: number): NhrpMessage {
    const c = this.ctx;
    return {
      type: NhrpType.ResolutionRequest, hopCount: ORIGIN_HOP_COUNT,
      srcNbma: c.selfNbma, srcProto: c.selfIp, dstProto: target,
      flags: FLAG_RES_Q | FLAG_RES_A | FLAG_RES_S | FLAG_CISCO_NAT, requestId,
      cies: [{ code: 0, prefixLen: 0xff, mtu: c.mtu, holdingTime: c.holdtime, preference: 0 }],
      extensions: [
        { type: NhrpExtType.ForwardTransitNhs, compulsory: true, cies: [] },
        { type: NhrpExtType.ReverseTransitNhs, compulsory: true, cies: [] },
        { type: NhrpExtType.ResponderAddress, compulsory: true, cies: [] },
        // Cisco/FRR: behind NAT we advertise the outside address our NHS saw, so the owner can
        // answer (and reach) us there; the first NHS corrects it if it sees otherwise.
        { type: NhrpExtType.NatAddress, compulsory: false, cies: ownNatCies(c) },
        ...(c.auth ? [c.auth] : []),
      ],
    };
  }

  private finish(p: Pending): void {
    if (p.timer !== undefined) this.ctx.clock.timers.clearTimeout(p.timer);
    p.timer = undefined;
    for (const id of p.ids) this.byId.delete(id);
    if (this.pending.get(p.target) === p) this.pending.delete(p.target);
  }

  private failed(p: Pending, why: string): void {
    this.ctx.log('warn', `NHRP: resolution of ${p.target} failed: ${why}`);
    if (p.refresh) return; // the binding we have stays until it expires
    if (p.kind === 'nexthop') {
      this.ctx.cache.set({ tunnelIp: p.target, prefixLen: 32, type: 'negative', flags: {} }, NEGATIVE_HOLD_S);
    } else {
      this.suppressed.set(p.target, this.ctx.clock.now() + NEGATIVE_HOLD_S * 1000);
    }
  }

  private scheduleRefresh(tunnelIp: string, hold: number): void {
    const old = this.refreshTimers.get(tunnelIp);
    if (old !== undefined) this.ctx.clock.timers.clearTimeout(old);
    this.recentlyUsed.delete(tunnelIp);
    this.refreshTimers.set(tunnelIp, this.ctx.clock.timers.setTimeout(() => {
      this.refreshTimers.delete(tunnelIp);
      const e = this.ctx.cache.get(tunnelIp);
      if (e?.type === 'dynamic' && this.recentlyUsed.has(tunnelIp) && !this.pending.has(tunnelIp)) {
        this.start(tunnelIp, 'nexthop', true);
      }
    }, (hold * 1000 * 2) / 3));
  }
}
