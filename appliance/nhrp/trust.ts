// Who may ask us to resolve, and whom we may learn from (issue 8, security hole 3). NHRP has no
// per-peer authentication (the group password is cleartext), so the outer source address is all we
// can check; against a spoofed one only IPsec helps (docs/security.md).
//  - A request straight from its requester (empty Forward Transit NHS record) is accepted only when
//    we already bind its source protocol address to the NBMA address it came from: at an NHS that is
//    the spoke's registration, at a spoke a peer it resolved or a static map. So nobody can claim
//    another router's tunnel address, and an NHS never forwards such a claim to the owner.
//  - A request forwarded by an NHS must come from an NBMA address we know: our own NHS (which checked
//    the requester's registration) or, at a hub, a lower-level hub registered with us.
//  - From an accepted request the answerer learns source protocol -> NBMA only inside the tunnel
//    subnet, and a top-level hub not at all (its bindings come from registrations).
import type { NhrpContext } from './context.js';
import { hasExt } from './transit.js';
import { NhrpExtType } from './types.js';
import type { NhrpMessage } from './types.js';

export type RequestTrust = { ok: true; learn: boolean } | { ok: false; why: string };

export function trustRequest(ctx: NhrpContext, req: NhrpMessage, outerSrc: string): RequestTrust {
  const forwarded = (hasExt(req, NhrpExtType.ForwardTransitNhs)?.cies ?? []).length > 0;
  const learn = ctx.inTunnel(req.srcProto) && !ctx.topLevelHub;
  if (ctx.isNhs(outerSrc)) return { ok: true, learn };
  if (!forwarded) {
    const bound = ctx.cache.get(req.srcProto);
    if (bound?.nbma === outerSrc && bound.type !== 'incomplete' && bound.type !== 'negative') return { ok: true, learn };
    return { ok: false, why: bound?.nbma
      ? `${req.srcProto} is bound to NBMA ${bound.nbma}, not to the sender`
      : `${req.srcProto} is not registered here nor a known peer` };
  }
  if (ctx.knownNbma(outerSrc)) return { ok: true, learn };
  return { ok: false, why: 'forwarded by an NBMA address that is neither our NHS nor a registered peer' };
}
