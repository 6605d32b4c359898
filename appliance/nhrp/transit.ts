// Helpers around the requester of a forwarded request: where to answer it (NAT-aware) and the
// forward/reverse transit NHS records used for loop detection (RFC 2332 5.3.4/5.3.5).
import type { NhrpContext } from './context.js';
import { NhrpExtType } from './types.js';
import type { NhrpCie, NhrpMessage } from './types.js';

export const hasExt = (m: NhrpMessage, type: number) => m.extensions.find((e) => e.type === type);

/**
 * NBMA address to answer the requester at. Behind NAT the address in the packet is the inside one:
 * if we are the first hop (no transit record yet) the packet's outer source is the outside one;
 * further on, the Cisco NAT extension names it (put there by the NATed requester itself, which
 * learnt it from its registration reply, and corrected by the first NHS, which saw it).
 */
export function requesterNbma(m: NhrpMessage, outerSrc: string): string {
  // Straight from the requester (no NHS on its forward transit record): where it came from is the truth.
  const fwd = hasExt(m, NhrpExtType.ForwardTransitNhs)?.cies ?? [];
  if (fwd.length === 0) return outerSrc;
  return natCieFor(m, m.srcProto)?.nbma ?? m.srcNbma;
}

/** The Cisco NAT extension CIE naming `proto`'s outside NBMA address, if the message carries one. */
export function natCieFor(m: NhrpMessage, proto: string): NhrpCie | undefined {
  return hasExt(m, NhrpExtType.NatAddress)?.cies?.find((c) => c.proto === proto && c.nbma);
}

/** A NAT extension CIE: `proto` is reached at the outside address `nbma` (FRR/IOS put one per address). */
export function natCie(ctx: NhrpContext, nbma: string, proto: string, holdingTime = 0): NhrpCie {
  return { code: 0, prefixLen: 32, mtu: ctx.mtu, holdingTime, preference: 0, nbma, proto };
}

/** Our own NAT CIE for requests and replies we originate, when an NHS told us we are behind NAT. */
export function ownNatCies(ctx: NhrpContext): NhrpCie[] {
  const nat = ctx.natNbma();
  return nat ? [natCie(ctx, nat, ctx.selfIp)] : [];
}

/** Did this reply come straight from its responder? Every NHS relaying a reply appends itself to
 *  the Reverse Transit NHS record (RFC 2332 5.3.5), so an empty record means the outer source is
 *  the responder itself (seen through whatever NAT is in between). */
export function cameDirect(m: NhrpMessage): boolean {
  return (hasExt(m, NhrpExtType.ReverseTransitNhs)?.cies ?? []).length === 0;
}

export function selfTransitCie(ctx: NhrpContext): NhrpCie {
  return { code: 0, prefixLen: 0, mtu: ctx.mtu, holdingTime: ctx.holdtime, preference: 0,
    nbma: ctx.selfNbma, proto: ctx.selfIp };
}

/** Are we already on this record? Then the packet went round in a circle. */
export function inTransit(ctx: NhrpContext, m: NhrpMessage, type: number): boolean {
  return (hasExt(m, type)?.cies ?? []).some((c) => c.proto === ctx.selfIp || c.nbma === ctx.selfNbma);
}
