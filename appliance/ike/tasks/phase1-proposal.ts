// Phase 1 SA payloads: the initiator offers one transform per ISAKMP policy (IOS order: by priority);
// the responder picks the first offered transform that one of its policies matches exactly and
// answers with that transform alone (RFC 2409 5: the responder returns the chosen transform).
import type { Phase1Policy } from '../config.js';
import { attr, type SaAttribute } from '../encoding/attributes.js';
import {
  AUTH_PRE_SHARED, DOI_IPSEC, KEY_IKE, LIFE_SECONDS, PayloadV1, Phase1Attr, Phase1Encr, ProtocolId, SIT_IDENTITY_ONLY,
} from '../encoding/constants.js';
import type { PayloadBodyV1, ProposalV1, TransformV1 } from '../encoding/payloads-v1.js';

export function policyAttributes(p: Phase1Policy, lifetime = p.lifetime): SaAttribute[] {
  return [
    { type: Phase1Attr.Encryption, value: p.encrId },
    ...(p.encrId === Phase1Encr.AES ? [{ type: Phase1Attr.KeyLength, value: p.keyBits ?? 128 }] : []),
    { type: Phase1Attr.Hash, value: p.hashId },
    { type: Phase1Attr.AuthMethod, value: AUTH_PRE_SHARED },
    { type: Phase1Attr.Group, value: p.group },
    { type: Phase1Attr.LifeType, value: LIFE_SECONDS },
    { type: Phase1Attr.LifeDuration, value: lifetime },
  ];
}

export function offerSa(policies: readonly Phase1Policy[]): PayloadBodyV1 {
  const transforms: TransformV1[] = policies.map((p, i) => ({ number: i + 1, id: KEY_IKE, attributes: policyAttributes(p) }));
  return { type: PayloadV1.SA, doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY,
    proposals: [{ number: 1, protocol: ProtocolId.ISAKMP, spi: new Uint8Array(0), transforms }] };
}

function matches(p: Phase1Policy, t: TransformV1): boolean {
  const a = t.attributes;
  if (t.id !== KEY_IKE) return false;
  if (attr(a, Phase1Attr.Encryption) !== p.encrId || attr(a, Phase1Attr.Hash) !== p.hashId) return false;
  if (attr(a, Phase1Attr.AuthMethod) !== AUTH_PRE_SHARED || attr(a, Phase1Attr.Group) !== p.group) return false;
  const keyLen = attr(a, Phase1Attr.KeyLength);
  if (p.encrId === Phase1Encr.AES ? keyLen !== (p.keyBits ?? 128) : keyLen !== undefined) return false;
  const lifeType = attr(a, Phase1Attr.LifeType);
  return lifeType === undefined || lifeType === LIFE_SECONDS; // kilobyte lifetimes are not offered by IOS
}

/** The lifetime both ends keep: the shorter of the offer's and ours (IOS behaviour). */
function agreedLifetime(p: Phase1Policy, t: TransformV1): number {
  const offered = attr(t.attributes, Phase1Attr.LifeDuration);
  return offered && offered < p.lifetime ? offered : p.lifetime;
}

export interface Phase1Choice { policy: Phase1Policy; proposal: ProposalV1; transform: TransformV1 }

/** Responder: our policies in priority order against the offered transforms. */
export function choosePolicy(ours: readonly Phase1Policy[], proposals: readonly ProposalV1[]): Phase1Choice | null {
  for (const p of ours) {
    for (const prop of proposals) {
      if (prop.protocol !== ProtocolId.ISAKMP) continue;
      for (const t of prop.transforms) {
        if (matches(p, t)) return { policy: { ...p, lifetime: agreedLifetime(p, t) }, proposal: prop, transform: t };
      }
    }
  }
  return null;
}

/** The responder's SA payload: the chosen transform as offered. */
export function acceptSa(c: Phase1Choice): PayloadBodyV1 {
  return { type: PayloadV1.SA, doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY,
    proposals: [{ number: c.proposal.number, protocol: ProtocolId.ISAKMP, spi: c.proposal.spi, transforms: [c.transform] }] };
}

/** Initiator: the responder's answer must be exactly one of the transforms we offered. */
export function acceptedPolicy(ours: readonly Phase1Policy[], proposals: readonly ProposalV1[]): Phase1Policy | null {
  if (proposals.length !== 1 || proposals[0].transforms.length !== 1) return null;
  return choosePolicy(ours, proposals)?.policy ?? null;
}
