// Forwarding a request one NHS further towards the owner of its destination (RFC 2332 5.3.4,
// FRR nhrp_peer_forward): hop count decremented, ourselves appended to the Forward Transit NHS
// record, a request that already lists us is a loop and is answered with an Error Indication
// instead, as is one whose hop count runs out.
import type { NhrpContext } from './context.js';
import { buildErrorIndication } from './error.js';
import { hasExt, inTransit, natCie, requesterNbma, selfTransitCie } from './transit.js';
import { ErrorCode, NhrpExtType } from './types.js';
import type { NhrpExtension, NhrpMessage } from './types.js';

export type ForwardResult = 'forwarded' | 'loop' | 'hop-count' | 'next-hop-in-transit';

export function forwardRequest(ctx: NhrpContext, msg: NhrpMessage, bytes: Uint8Array, outerSrc: string,
  nextNbma: string): ForwardResult {
  const errorTo = requesterNbma(msg, outerSrc);
  if (inTransit(ctx, msg, NhrpExtType.ForwardTransitNhs)) {
    ctx.log('warn', `NHRP: loop detected forwarding request ${msg.requestId} from ${msg.srcProto} for ` +
      `${msg.dstProto}: we are already on its forward transit record`);
    ctx.send(errorTo, buildErrorIndication(ctx, ErrorCode.LoopDetected, bytes, msg.srcProto));
    return 'loop';
  }
  if (msg.hopCount <= 1) {
    ctx.log('warn', `NHRP: hop count exceeded forwarding request ${msg.requestId} from ${msg.srcProto} for ${msg.dstProto}`);
    ctx.send(errorTo, buildErrorIndication(ctx, ErrorCode.HopCountExceeded, bytes, msg.srcProto));
    return 'hop-count';
  }
  // FRR also refuses to send to an NHS the request already passed through (it would loop back).
  if ((hasExt(msg, NhrpExtType.ForwardTransitNhs)?.cies ?? []).some((c) => c.nbma === nextNbma)) {
    ctx.log('warn', `NHRP: not forwarding request ${msg.requestId} for ${msg.dstProto} back to ${nextNbma} (in transit record)`);
    ctx.send(errorTo, buildErrorIndication(ctx, ErrorCode.LoopDetected, bytes, msg.srcProto));
    return 'next-hop-in-transit';
  }
  const firstHop = (hasExt(msg, NhrpExtType.ForwardTransitNhs)?.cies ?? []).length === 0;
  const extensions: NhrpExtension[] = [];
  for (const e of msg.extensions) {
    if (e.type === NhrpExtType.ForwardTransitNhs) {
      extensions.push({ ...e, cies: [...(e.cies ?? []), selfTransitCie(ctx)] });
    } else if (e.type === NhrpExtType.NatAddress) {
      // First hop of a NAT-ed requester: record the outside address we saw (Cisco/FRR), replacing
      // whatever the requester itself advertised, so the responder (which only sees us as the outer
      // source) knows where the requester really is.
      let cies = [...(e.cies ?? [])];
      if (firstHop && outerSrc !== msg.srcNbma) {
        cies = [...cies.filter((c) => c.proto !== msg.srcProto), natCie(ctx, outerSrc, msg.srcProto)];
      }
      extensions.push({ ...e, cies });
    } else if (e.type === NhrpExtType.Authentication) {
      continue; // authentication is hop by hop: ours is appended below
    } else {
      extensions.push(e); // Responder Address, Reverse Transit, unknown non-compulsory: copied (RFC 2332 5.3)
    }
  }
  if (ctx.auth) extensions.push(ctx.auth);
  ctx.send(nextNbma, { ...msg, hopCount: msg.hopCount - 1, extensions });
  return 'forwarded';
}

export type ReplyForwardResult = 'forwarded' | 'loop' | 'hop-count' | 'no-binding';

/**
 * Relay a Resolution Reply towards its requester (RFC 2332 5.3.5: NHSs on the way back append
 * themselves to the Reverse Transit NHS record). Used when an owner answering a NAT-ed requester
 * sends its reply through us: we reach the requester at the address its registration came from.
 */
export function forwardReply(ctx: NhrpContext, msg: NhrpMessage): ReplyForwardResult {
  if (inTransit(ctx, msg, NhrpExtType.ReverseTransitNhs)) {
    ctx.log('warn', `NHRP: loop detected relaying reply ${msg.requestId} to ${msg.srcProto}: already on its reverse transit record`);
    return 'loop';
  }
  if (msg.hopCount <= 1) {
    ctx.log('warn', `NHRP: hop count exceeded relaying reply ${msg.requestId} to ${msg.srcProto}`);
    return 'hop-count';
  }
  const e = ctx.cache.get(msg.srcProto);
  const to = e?.nbma && e.type !== 'incomplete' && e.type !== 'negative' ? e.nbma : undefined;
  if (!to) {
    ctx.log('info', `NHRP: reply ${msg.requestId} for ${msg.srcProto} not relayed: no binding for the requester`);
    return 'no-binding';
  }
  const extensions: NhrpExtension[] = [];
  for (const x of msg.extensions) {
    if (x.type === NhrpExtType.ReverseTransitNhs) extensions.push({ ...x, cies: [...(x.cies ?? []), selfTransitCie(ctx)] });
    else if (x.type !== NhrpExtType.Authentication) extensions.push(x);
  }
  if (ctx.auth) extensions.push(ctx.auth);
  ctx.send(to, { ...msg, hopCount: msg.hopCount - 1, extensions });
  return 'forwarded';
}
