// Helpers around the requester of a forwarded request: where to answer it (NAT-aware) and the
// forward/reverse transit NHS records used for loop detection (RFC 2332 5.3.4/5.3.5).
import type { NhrpContext } from './context.js';
import { NhrpExtType } from './types.js';
import type { NhrpCie, NhrpMessage } from './types.js';

export const hasExt = (m: NhrpMessage, type: number) => m.extensions.find((e) => e.type === type);

/**
 * NBMA address to answer the requester at. Behind NAT the address in the packet is the inside one:
 * the first NHS records the outside address in the Cisco NAT extension (as FRR does when it
 * forwards); if we are that first hop (no transit record yet) the packet's outer source is it.
 */
export function requesterNbma(m: NhrpMessage, outerSrc: string): string {
  const nat = hasExt(m, NhrpExtType.NatAddress)?.cies?.find((c) => c.proto === m.srcProto && c.nbma);
  if (nat?.nbma) return nat.nbma;
  const fwd = hasExt(m, NhrpExtType.ForwardTransitNhs)?.cies ?? [];
  return fwd.length === 0 ? outerSrc : m.srcNbma;
}

export function selfTransitCie(ctx: NhrpContext): NhrpCie {
  return { code: 0, prefixLen: 0, mtu: ctx.mtu, holdingTime: ctx.holdtime, preference: 0,
    nbma: ctx.selfNbma, proto: ctx.selfIp };
}

/** Are we already on this record? Then the packet went round in a circle. */
export function inTransit(ctx: NhrpContext, m: NhrpMessage, type: number): boolean {
  return (hasExt(m, type)?.cies ?? []).some((c) => c.proto === ctx.selfIp || c.nbma === ctx.selfNbma);
}
