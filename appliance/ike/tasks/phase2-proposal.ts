// Quick mode SA payloads for ESP (RFC 2407 4.4.4, 4.5): one proposal per transform set, each carrying our
// inbound SPI; the responder answers with the matching proposal alone, carrying its own inbound SPI.
import { encapsulationMode, type Phase2Proposal } from '../config.js';
import { attr, type SaAttribute } from '../encoding/attributes.js';
import { DOI_IPSEC, EspTransform, LIFE_KILOBYTES, LIFE_SECONDS, PayloadV1, Phase2Attr, ProtocolId, SIT_IDENTITY_ONLY } from '../encoding/constants.js';
import type { PayloadBodyV1, ProposalV1 } from '../encoding/payloads-v1.js';

export function espAttributes(p: Phase2Proposal, udp: boolean, lifetime = p.lifetime, group = p.pfsGroup, kilobytes = p.lifetimeKilobytes): SaAttribute[] {
  return [
    { type: Phase2Attr.LifeType, value: LIFE_SECONDS },
    { type: Phase2Attr.LifeDuration, value: lifetime },
    ...(kilobytes ? [{ type: Phase2Attr.LifeType, value: LIFE_KILOBYTES }, { type: Phase2Attr.LifeDuration, value: kilobytes }] : []),
    ...(group ? [{ type: Phase2Attr.Group, value: group }] : []),
    { type: Phase2Attr.EncapsulationMode, value: encapsulationMode(p.mode, udp) },
    // an AEAD (AES-GCM, RFC 4106 8.4) carries no authentication algorithm attribute
    ...(p.auth ? [{ type: Phase2Attr.AuthAlgorithm, value: p.auth.id }] : []),
    ...(hasKeyLength(p) ? [{ type: Phase2Attr.KeyLength, value: p.keyBits ?? 128 }] : []),
  ];
}

/** AES-CBC (RFC 3602) and AES-GCM (RFC 4106) have variable key lengths: the attribute is required. */
const hasKeyLength = (p: Phase2Proposal) => p.espId === EspTransform.AES || p.espId === EspTransform.AesGcm16;

export function spiBytes(spi: number): Uint8Array {
  return new Uint8Array([(spi >>> 24) & 0xff, (spi >>> 16) & 0xff, (spi >>> 8) & 0xff, spi & 0xff]);
}
export const spiNumber = (b: Uint8Array) => ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];

export function offerEsp(proposals: readonly Phase2Proposal[], spi: number, udp: boolean): PayloadBodyV1 {
  return { type: PayloadV1.SA, doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY,
    proposals: proposals.filter((p) => p.espId !== undefined).map((p, i) => ({ number: i + 1, protocol: ProtocolId.ESP, spi: spiBytes(spi),
      transforms: [{ number: 1, id: p.espId!, attributes: espAttributes(p, udp) }] })) };
}

export interface EspChoice { proposal: Phase2Proposal; offered: ProposalV1; lifetime: number; lifetimeKilobytes?: number; group?: number; peerSpi: number }

/**
 * The lifetimes of a transform (RFC 2407 4.5: each Life Type is followed by its Life Duration; one pair
 * per type). undefined when the pairs are malformed: a duration without a type, a type twice, a
 * duration of 0, or an unknown type.
 */
export function lifetimesOf(a: readonly SaAttribute[]): { seconds?: number; kilobytes?: number } | undefined {
  const out: { seconds?: number; kilobytes?: number } = {};
  let type: number | undefined;
  for (const x of a) {
    if (x.type === Phase2Attr.LifeType) {
      if (type !== undefined || (x.value !== LIFE_SECONDS && x.value !== LIFE_KILOBYTES)) return undefined;
      type = x.value;
    } else if (x.type === Phase2Attr.LifeDuration) {
      const key = type === LIFE_SECONDS ? 'seconds' : type === LIFE_KILOBYTES ? 'kilobytes' : undefined;
      if (!key || out[key] !== undefined || x.value === 0) return undefined;
      out[key] = x.value;
      type = undefined;
    }
  }
  return type === undefined ? out : undefined;
}

/** The smaller of two limits, either of which may be absent (no limit). */
const smaller = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/**
 * Our transform sets in order against the offered ESP proposals (single-protocol proposals only: an
 * ESP+AH bundle, or ESP with IPComp, is not something the seeds configure). The group attribute must
 * equal ours when we require PFS, and must be absent when we do not.
 */
export function chooseEsp(ours: readonly Phase2Proposal[], offered: readonly ProposalV1[], udp: boolean): EspChoice | null {
  const numbers = offered.map((o) => o.number);
  for (const p of ours) {
    for (const o of offered) {
      if (numbers.filter((n) => n === o.number).length !== 1) continue; // a bundle: same number twice
      if (o.protocol !== ProtocolId.ESP || o.spi.length !== 4) continue;
      for (const t of o.transforms) {
        const a = t.attributes;
        if (p.espId === undefined || t.id !== p.espId || attr(a, Phase2Attr.AuthAlgorithm) !== p.auth?.id) continue;
        if (hasKeyLength(p) ? attr(a, Phase2Attr.KeyLength) !== (p.keyBits ?? 128) : attr(a, Phase2Attr.KeyLength) !== undefined) continue;
        if ((attr(a, Phase2Attr.EncapsulationMode) ?? 1) !== encapsulationMode(p.mode, udp)) continue;
        if (attr(a, Phase2Attr.Group) !== p.pfsGroup) continue;
        const life = lifetimesOf(a);
        if (!life) continue;
        // each limit the smaller of theirs and ours (IOS and strongSwan as responders do the same)
        const lifetime = smaller(life.seconds, p.lifetime)!;
        const lifetimeKilobytes = smaller(life.kilobytes, p.lifetimeKilobytes);
        return { proposal: p, offered: { ...o, transforms: [t] }, lifetime, ...(lifetimeKilobytes ? { lifetimeKilobytes } : {}), group: p.pfsGroup, peerSpi: spiNumber(o.spi) };
      }
    }
  }
  return null;
}

export function acceptEsp(c: EspChoice, ourSpi: number, udp: boolean): PayloadBodyV1 {
  const t = c.offered.transforms[0];
  return { type: PayloadV1.SA, doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY,
    proposals: [{ number: c.offered.number, protocol: ProtocolId.ESP, spi: spiBytes(ourSpi),
      transforms: [{ number: t.number, id: t.id, attributes: espAttributes(c.proposal, udp, c.lifetime, c.group, c.lifetimeKilobytes) }] }] };
}
