// NHRP registration server (NHS side): turns a Registration Request into dynamic cache entries and
// the Registration Reply, following what FRR nhrpd and IOS put on the wire: the request's CIEs are
// echoed with their code set, Unique/NAT flags and the request id copied, the Responder Address
// extension filled with our own record, transit records copied, the Cisco NAT extension answered
// with the address the packet really came from.
import type { NhrpCache } from './cache.js';
import type { LogFn } from '../log/log.js';
import { CieCode, FLAG_CISCO_NAT, FLAG_REG_UNIQUE, NhrpExtType, NhrpType, cieCodeName } from './types.js';
import type { NhrpCie, NhrpExtension, NhrpMessage } from './types.js';
import { inPrefix } from '../net/ipv4.js';

export interface NhsServerContext {
  cache: NhrpCache;
  selfTunnelIp: string;
  tunnelPrefixLen: number;
  selfNbma: string;
  /** our `ip nhrp holdtime`, used when a CIE carries holding time 0 and in our responder record */
  holdtime: number;
  mtu: number;
  auth?: NhrpExtension;
  log: LogFn;
  /** a registration refused: counted under `reason`, logged (rate limited) */
  refuse(reason: string, text: string): void;
  /** a registration was accepted: proto is bound to nbma now (the engine purges holders of an older binding) */
  registered?(proto: string, nbma: string): void;
  /** identity-bound NHRP (supervisor/nhrp-identity.ts): who may register an address, and whether a
   *  unique registration from a new NBMA address comes from its owner (then it replaces the entry at
   *  once instead of being refused with code 14 until it expires). Absent: the unique rule holds. */
  ownership?: NhrpOwnership;
}

/** Registrations bound to who sent them: `check` says why this packet may not claim `tunnelIp`. */
export interface NhrpOwnership {
  check(tunnelIp: string): string | undefined;
  bind(tunnelIp: string): void;
  /** the current packet comes from the identity `tunnelIp` is bound to (its NBMA address may have moved) */
  isOwner(tunnelIp: string): boolean;
}

const HOST_PREFIX = 32;

/** Decide one CIE: install/refresh the binding and return the code for the reply. */
function registerCie(ctx: NhsServerContext, req: NhrpMessage, outerSrc: string, cie: NhrpCie): number {
  let prefix = cie.prefixLen;
  if (prefix === 0 || prefix >= HOST_PREFIX) prefix = HOST_PREFIX; // 0xff = "unique host" (RFC 5.2.1)
  if (prefix !== HOST_PREFIX) return CieCode.AdministrativelyProhibited; // subnet registrations unsupported (FRR too)

  const unique = (req.flags & FLAG_REG_UNIQUE) !== 0;
  const proto = cie.proto ?? req.srcProto;
  const claimed = cie.nbma ?? req.srcNbma;
  // The outer source differs from the NBMA address in the packet when the spoke is behind NAT;
  // we must send to the outside address.
  const natted = req.srcNbma !== outerSrc;
  const nbma = natted ? outerSrc : claimed;

  if (!inPrefix(proto, ctx.selfTunnelIp, ctx.tunnelPrefixLen)) {
    ctx.refuse('registration-subnet', `registration of ${proto} from NBMA ${nbma} refused: not in tunnel subnet ` +
      `${ctx.selfTunnelIp}/${ctx.tunnelPrefixLen}`);
    return CieCode.AdministrativelyProhibited;
  }
  const notOwner = ctx.ownership?.check(proto);
  if (notOwner) {
    ctx.refuse('registration-identity', `registration of ${proto} from NBMA ${nbma} refused: ${notOwner}`);
    return CieCode.AdministrativelyProhibited;
  }
  const old = ctx.cache.get(proto);
  if (old && (old.type === 'static' || old.type === 'local')) {
    if (old.nbma === nbma) return CieCode.Success; // matches configuration: nothing to learn
    ctx.refuse('registration-static', `registration of ${proto} from NBMA ${nbma} refused: ${old.type} entry maps it to ${old.nbma}`);
    return CieCode.AdministrativelyProhibited;
  }
  const moved = old && old.type === 'dynamic' && old.nbma !== nbma;
  const sameOwner = moved && old.flags.unique && ctx.ownership?.isOwner(proto) === true;
  if (moved && old.flags.unique && !sameOwner) {
    // RFC 2332 5.2.3 / IOS: a unique binding is not replaced by another NBMA address until it expires.
    ctx.refuse('registration-unique', `registration of ${proto} from NBMA ${nbma} refused (code 14, ` +
      `${cieCodeName(CieCode.UniqueAddressRegistered)}): already registered uniquely by NBMA ${old.nbma}`);
    return CieCode.UniqueAddressRegistered;
  }
  if (moved) {
    ctx.log('info', `NHRP: ${proto} moved from NBMA ${old.nbma} to ${nbma} ` +
      `(${sameOwner ? 'unique registration of the same owner' : 'non-unique registration'} replaced)`);
  }
  const holdtime = cie.holdingTime || ctx.holdtime;
  ctx.cache.set({
    tunnelIp: proto, prefixLen: HOST_PREFIX, type: 'dynamic', nbma,
    claimedNbma: natted ? claimed : undefined,
    flags: { unique, registered: true, nat: natted, used: old?.flags.used },
    mtu: cie.mtu || undefined, holdtime,
  }, holdtime);
  ctx.ownership?.bind(proto);
  ctx.registered?.(proto, nbma);
  return CieCode.Success;
}

function selfRecord(ctx: NhsServerContext): NhrpCie {
  return {
    code: 0, prefixLen: 0, mtu: ctx.mtu, holdingTime: ctx.holdtime, preference: 0,
    nbma: ctx.selfNbma, proto: ctx.selfTunnelIp,
  };
}

/** Echo the request's extensions into the reply the way FRR's nhrp_ext_reply does. */
function replyExtensions(ctx: NhsServerContext, req: NhrpMessage, outerSrc: string): NhrpExtension[] {
  const out: NhrpExtension[] = [];
  const natted = req.srcNbma !== outerSrc;
  for (const e of req.extensions) {
    switch (e.type) {
      case NhrpExtType.ResponderAddress:
        out.push({ type: e.type, compulsory: e.compulsory, cies: [selfRecord(ctx)] });
        break;
      case NhrpExtType.NatAddress: {
        // Keep what the client sent; when we see a different source, add what we saw (Cisco/FRR).
        const cies = [...(e.cies ?? [])];
        if (natted) {
          cies.push({ code: 0, prefixLen: HOST_PREFIX, mtu: ctx.mtu, holdingTime: 0, preference: 0,
            nbma: outerSrc, proto: req.srcProto });
        }
        out.push({ type: e.type, compulsory: e.compulsory, cies });
        break;
      }
      case NhrpExtType.Authentication:
        break; // never reflect the peer's secret; ours is appended below when configured
      default:
        // Forward/Reverse Transit records and anything else are copied (RFC 2332 5.3).
        out.push(e);
    }
  }
  if (ctx.auth) out.push(ctx.auth);
  return out;
}

export function handleRegistrationRequest(ctx: NhsServerContext, outerSrc: string, req: NhrpMessage): NhrpMessage {
  const cies = req.cies.map((c) => ({ ...c, code: registerCie(ctx, req, outerSrc, c) }));
  return {
    type: NhrpType.RegistrationReply,
    hopCount: 64,
    // A reply keeps the requester's source fields; dst proto names the responding NHS (FRR/IOS).
    srcNbma: req.srcNbma,
    srcProto: req.srcProto,
    dstProto: ctx.selfTunnelIp,
    flags: req.flags & (FLAG_REG_UNIQUE | FLAG_CISCO_NAT),
    requestId: req.requestId,
    cies,
    extensions: replyExtensions(ctx, req, outerSrc),
  };
}
