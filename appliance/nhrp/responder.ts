// Answering a Resolution Request (RFC 2332 5.2.1/5.2.2), on a hub and on a spoke:
//  - the address is ours (tunnel address or a local network): we answer directly to the requester
//    with the covering prefix and our NBMA (IOS Phase 3: the destination spoke answers itself), and
//    learn the requester so the spoke-to-spoke tunnel is usable in both directions;
//  - a client registered with us owns that exact address: we answer authoritatively from the cache;
//  - otherwise the request goes one hop further along the route to the address (a spoke behind us
//    for a prefix behind it, or another NHS), or, with no route, an Error Indication
//    "protocol address unreachable" goes back.
import type { NhrpContext, OwnedPrefix } from './context.js';
import { ORIGIN_HOP_COUNT } from './context.js';
import { buildErrorIndication } from './error.js';
import { forwardRequest } from './forward.js';
import { cieLen } from './prefix.js';
import { networkOf } from '../net/ipv4.js';
import { hasExt, ownNatCies, requesterNbma } from './transit.js';
import { trustRequest } from './trust.js';
import {
  ErrorCode, FLAG_RES_A, FLAG_RES_D, FLAG_RES_Q, FLAG_RES_S, NhrpExtType, NhrpType,
} from './types.js';
import type { NhrpCie, NhrpExtension, NhrpMessage } from './types.js';

export interface ResponderHooks {
  /** we answered for one of our prefixes: remember the requester for purges (IOS "local" entry) */
  answered(owned: OwnedPrefix, requesterIp: string, requesterNbma: string): void;
  /** NHS: a registered client's binding went to a requester (answered from our cache, or the request
   *  forwarded to the client, who answers directly): purged there if the client moves (holders.ts) */
  handedOut?(clientIp: string, clientNbma: string, requesterIp: string, requesterNbma: string): void;
}

export type RequestOutcome = 'answered-owner' | 'answered-cache' | 'forwarded' | 'unreachable' | 'dropped' | 'refused';

function replyExtensions(ctx: NhrpContext, req: NhrpMessage, natCies: NhrpCie[]): NhrpExtension[] {
  const out: NhrpExtension[] = [];
  for (const e of req.extensions) {
    if (e.type === NhrpExtType.ResponderAddress) {
      out.push({ ...e, cies: [{ code: 0, prefixLen: 0, mtu: ctx.mtu, holdingTime: ctx.holdtime, preference: 0,
        nbma: ctx.selfNbma, proto: ctx.selfIp }] });
    } else if (e.type === NhrpExtType.NatAddress) {
      // The request's NAT CIEs describe the requester; the reply's describe the answer (FRR).
      out.push({ ...e, cies: natCies });
    } else if (e.type !== NhrpExtType.Authentication) {
      out.push(e); // transit records copied: the reply travels straight back, adding nothing
    }
  }
  if (ctx.auth) out.push(ctx.auth);
  return out;
}

function reply(ctx: NhrpContext, req: NhrpMessage, cie: NhrpCie, natCies: NhrpCie[]): NhrpMessage {
  return {
    type: NhrpType.ResolutionReply, hopCount: ORIGIN_HOP_COUNT,
    // Source fields stay the requester's, the destination the address asked for (RFC 2332 5.2.2).
    srcNbma: req.srcNbma, srcProto: req.srcProto, dstProto: req.dstProto,
    flags: (req.flags & (FLAG_RES_Q | FLAG_RES_S)) | FLAG_RES_A | FLAG_RES_D,
    requestId: req.requestId, cies: [cie], extensions: replyExtensions(ctx, req, natCies),
  };
}

function answerAsOwner(ctx: NhrpContext, req: NhrpMessage, outerSrc: string, owned: OwnedPrefix,
  hooks: ResponderHooks, learn: boolean): void {
  // The requester's outside address when it is behind NAT (NAT extension / outer source).
  const to = requesterNbma(req, outerSrc);
  const reqCie = req.cies[0];
  const hold = reqCie?.holdingTime || ctx.holdtime;
  const old = ctx.cache.get(req.srcProto);
  // Learn the requester (IOS "implicit" entry), unless configuration or a registration owns it or
  // the request is not one we may learn from (trust.ts).
  if (learn && req.srcProto !== ctx.selfIp && !(old && (old.type === 'static' || old.flags.registered))) {
    ctx.cache.set({
      tunnelIp: req.srcProto, prefixLen: 32, type: 'dynamic', nbma: to,
      claimedNbma: to !== req.srcNbma ? req.srcNbma : undefined,
      flags: { router: (req.flags & FLAG_RES_Q) !== 0, implicit: true, nat: to !== req.srcNbma, used: old?.flags.used },
      mtu: reqCie?.mtu || undefined, holdtime: hold,
    }, hold);
  }
  hooks.answered(owned, req.srcProto, to);
  // The CIE carries the address we have; if an NHS told us we are behind NAT, the NAT extension
  // carries the one the requester must use (Cisco; FRR nhrp_handle_resolution_req).
  const cie: NhrpCie = { code: 0, prefixLen: owned.len, mtu: ctx.mtu, holdingTime: ctx.holdtime, preference: 0,
    nbma: ctx.selfNbma, proto: ctx.selfIp };
  // A NAT-ed requester has sent nothing to us yet, so its NAT has no mapping for us: a packet from
  // us to its outside address would be dropped there and, worse, leave a conntrack entry that makes
  // the NAT drop the requester's own first packet to us (its reply to our request) as a clash. So
  // the reply goes back through the NHS that forwarded the request, which reaches the requester
  // through the mapping of its registration; the requester's first direct packet opens the path.
  const relay = to !== req.srcNbma && to !== outerSrc && hasExt(req, NhrpExtType.ReverseTransitNhs) !== undefined;
  ctx.log('debug', `NHRP: answering resolution of ${req.dstProto} for ${req.srcProto} with ${owned.prefix}/${owned.len}` +
    (relay ? ` (requester behind NAT at ${to}: reply via NHS ${outerSrc})` : ''));
  ctx.send(relay ? outerSrc : to, reply(ctx, req, cie, ownNatCies(ctx)));
}

function answerFromCache(ctx: NhrpContext, req: NhrpMessage, outerSrc: string): boolean {
  const e = ctx.cache.get(req.dstProto);
  if (!e || !e.nbma || !e.flags.registered || e.type !== 'dynamic') return false;
  // Never promise the binding for longer than the registration itself lasts.
  const left = e.expires === undefined ? ctx.holdtime : Math.max(1, Math.ceil((e.expires - ctx.clock.now()) / 1000));
  const claimed = e.claimedNbma ?? e.nbma;
  const cie: NhrpCie = { code: 0, prefixLen: 32, mtu: e.mtu ?? ctx.mtu, holdingTime: left, preference: 0,
    nbma: claimed, proto: req.dstProto };
  // A NAT-ed client: the CIE carries what it claimed, the NAT extension where it really is (Cisco).
  const nat: NhrpCie[] = e.flags.nat
    ? [{ code: 0, prefixLen: 32, mtu: e.mtu ?? ctx.mtu, holdingTime: left, preference: 0, nbma: e.nbma, proto: req.dstProto }]
    : [];
  ctx.send(requesterNbma(req, outerSrc), reply(ctx, req, cie, nat));
  return true;
}

export function handleResolutionRequest(ctx: NhrpContext, req: NhrpMessage, bytes: Uint8Array, outerSrc: string,
  hooks: ResponderHooks): RequestOutcome {
  if (req.srcProto === ctx.selfIp) { ctx.drop('own-request'); return 'dropped'; }
  const trust = trustRequest(ctx, req, outerSrc);
  if (!trust.ok) {
    ctx.refuse('resolution-request', `resolution request for ${req.dstProto} claiming ${req.srcProto} from NBMA ` +
      `${outerSrc} refused: ${trust.why}`);
    return 'refused';
  }
  const owned = ctx.owned(req.dstProto);
  if (owned) {
    answerAsOwner(ctx, req, outerSrc, { prefix: networkOf(owned.prefix, owned.len), len: cieLen(owned.len) }, hooks,
      trust.learn);
    return 'answered-owner';
  }
  if (answerFromCache(ctx, req, outerSrc)) {
    hooks.handedOut?.(req.dstProto, ctx.cache.get(req.dstProto)!.nbma!, req.srcProto, requesterNbma(req, outerSrc));
    return 'answered-cache';
  }
  const hop = ctx.nextHop(req.dstProto) ?? (ctx.cache.get(req.dstProto)?.nbma ? req.dstProto : undefined);
  const nbma = hop !== undefined ? ctx.cache.get(hop)?.nbma : undefined;
  const usable = hop !== undefined && nbma !== undefined && !['incomplete', 'negative'].includes(ctx.cache.get(hop)!.type);
  if (!usable || hop === req.srcProto) {
    ctx.log('info', `NHRP: resolution of ${req.dstProto} for ${req.srcProto}: no route via the tunnel`);
    ctx.send(requesterNbma(req, outerSrc),
      buildErrorIndication(ctx, ErrorCode.ProtocolAddressUnreachable, bytes, req.srcProto));
    return 'unreachable';
  }
  if (forwardRequest(ctx, req, bytes, outerSrc, nbma!) !== 'forwarded') return 'dropped';
  // the client answers the requester directly, and learns it from the request when it may
  const to = requesterNbma(req, outerSrc), client = ctx.cache.get(hop)!, requester = ctx.cache.get(req.srcProto);
  if (client.flags.registered) hooks.handedOut?.(hop, nbma!, req.srcProto, to);
  if (trust.learn && requester?.flags.registered && requester.nbma) hooks.handedOut?.(req.srcProto, requester.nbma, hop, nbma!);
  return 'forwarded';
}
