// SA payload proposals for IKEv2 (RFC 7296 2.7, 3.3): what we offer for the IKE SA and for ESP, how a
// responder picks one transform of each type from the initiator's offer, and how an initiator checks
// that the answer is one of its offers. A proposal naming a transform type we do not know is skipped.
import type { Phase2Proposal } from '../../config.js';
import { encrById, espEncrId, espIntegId, integById, isAeadEncr, prfById, type IkeSuite, type IkeV2Proposal } from '../../config-v2.js';
import { EncrId, ProtocolV2, TransformType } from '../../encoding/constants-v2.js';
import type { ProposalV2, TransformV2 } from '../../encoding/payloads-v2.js';

const KNOWN_TYPES = new Set<number>([TransformType.ENCR, TransformType.PRF, TransformType.INTEG, TransformType.DH, TransformType.ESN]);

const encrTransform = (id: number, keyBits: number): TransformV2 =>
  ({ type: TransformType.ENCR, id, keyLength: id === EncrId.ChaCha20Poly1305 || id === EncrId.TripleDES ? undefined : keyBits });

export function ikeOffer(ours: readonly IkeV2Proposal[], spi: Uint8Array = new Uint8Array(0), firstGroup?: number): ProposalV2[] {
  return ours.map((p, i) => ({
    number: i + 1, protocol: ProtocolV2.IKE, spi,
    transforms: [
      ...p.encr.map((e) => encrTransform(e.id, e.keyBits)),
      ...p.prf.map((f) => ({ type: TransformType.PRF, id: f.id })),
      ...p.integ.map((x) => ({ type: TransformType.INTEG, id: x.id })),
      // the group our KE payload carries goes first, so a responder taking the first acceptable one matches it
      ...[...p.groups].sort((a, b) => Number(b === firstGroup) - Number(a === firstGroup)).map((g) => ({ type: TransformType.DH, id: g })),
    ],
  }));
}

export function suiteProposal(s: IkeSuite, number: number, spi: Uint8Array = new Uint8Array(0)): ProposalV2 {
  return {
    number, protocol: ProtocolV2.IKE, spi,
    transforms: [encrTransform(s.encr.id, s.encr.keyBits), { type: TransformType.PRF, id: s.prf.id },
      ...(s.integ ? [{ type: TransformType.INTEG, id: s.integ.id }] : []), { type: TransformType.DH, id: s.group }],
  };
}

const ofType = (p: ProposalV2, t: TransformType) => p.transforms.filter((x) => x.type === t);

/** The first peer proposal (in its order) that one of ours accepts; `preferGroup` is the group its KE payload used. */
export function selectIke(peer: readonly ProposalV2[], ours: readonly IkeV2Proposal[], preferGroup?: number): { number: number; suite: IkeSuite; spi: Uint8Array } | null {
  for (const pp of peer) {
    if (pp.protocol !== ProtocolV2.IKE || pp.transforms.some((t) => !KNOWN_TYPES.has(t.type) || t.type === TransformType.ESN)) continue;
    for (const o of ours) {
      const encr = ofType(pp, TransformType.ENCR).map((t) => encrById(t.id, t.keyLength)).find((e) => e && o.encr.some((x) => x.id === e.id && x.keyBits === e.keyBits));
      const prf = ofType(pp, TransformType.PRF).map((t) => prfById(t.id)).find((f) => f && o.prf.some((x) => x.id === f.id));
      const groups = ofType(pp, TransformType.DH).map((t) => t.id).filter((g) => o.groups.includes(g));
      const group = preferGroup !== undefined && groups.includes(preferGroup) ? preferGroup : groups[0];
      if (!encr || !prf || group === undefined) continue;
      const integs = ofType(pp, TransformType.INTEG).filter((t) => t.id !== 0);
      let integ;
      if (isAeadEncr(encr)) { if (integs.length) continue; } else {
        integ = integs.map((t) => integById(t.id)).find((i) => i && o.integ.some((x) => x.id === i.id));
        if (!integ) continue;
      }
      return { number: pp.number, suite: { encr, prf, integ, group }, spi: pp.spi };
    }
  }
  return null;
}

/** The responder's answer must be exactly one transform of each type, and acceptable to us. */
export function checkIkeAnswer(answer: readonly ProposalV2[], ours: readonly IkeV2Proposal[]): IkeSuite | null {
  if (answer.length !== 1) return null;
  const p = answer[0];
  for (const t of [TransformType.ENCR, TransformType.PRF, TransformType.DH]) if (ofType(p, t).length !== 1) return null;
  if (ofType(p, TransformType.INTEG).length > 1) return null;
  return selectIke(answer, ours)?.suite ?? null;
}

export function espOffer(ours: readonly Phase2Proposal[], spi: Uint8Array, pfsGroup?: number): ProposalV2[] {
  return ours.map((p, i) => ({ number: i + 1, protocol: ProtocolV2.ESP, spi, transforms: espTransforms(p, pfsGroup) }));
}

/** An AEAD (AES-GCM-16, ChaCha20-Poly1305) proposal has no integrity transform (RFC 7296 3.3). */
function espTransforms(p: Phase2Proposal, pfsGroup?: number): TransformV2[] {
  return [encrTransform(espEncrId(p), p.cipher.keyLen * 8), ...(p.auth ? [{ type: TransformType.INTEG, id: espIntegId(p) }] : []),
    ...(pfsGroup !== undefined ? [{ type: TransformType.DH, id: pfsGroup }] : []), { type: TransformType.ESN, id: 0 }];
}

export interface EspChoice { number: number; proposal: Phase2Proposal; peerSpi: Uint8Array; group?: number }

/**
 * The first peer ESP proposal one of our transform sets matches. `pfsGroup`: the DH group a CREATE_CHILD_SA
 * must carry (undefined in IKE_AUTH, where DH transforms are ignored, RFC 7296 1.2).
 */
export function selectEsp(peer: readonly ProposalV2[], ours: readonly Phase2Proposal[], pfsGroup?: number): EspChoice | null {
  for (const pp of peer) {
    if (pp.protocol !== ProtocolV2.ESP || pp.spi.length !== 4 || pp.transforms.some((t) => !KNOWN_TYPES.has(t.type) || t.type === TransformType.PRF)) continue;
    const esn = ofType(pp, TransformType.ESN);
    if (esn.length && !esn.some((t) => t.id === 0)) continue; // we do not do extended sequence numbers
    const dh = ofType(pp, TransformType.DH).map((t) => t.id);
    if (pfsGroup !== undefined && !dh.includes(pfsGroup)) continue;
    for (const o of ours) {
      const encr = ofType(pp, TransformType.ENCR).some((t) => t.id === espEncrId(o) && (t.keyLength ?? o.cipher.keyLen * 8) === o.cipher.keyLen * 8);
      const integs = ofType(pp, TransformType.INTEG).filter((t) => t.id !== 0);
      // an AEAD goes only with no integrity transform (or NONE); a CBC cipher needs ours among them
      const integ = o.auth ? integs.some((t) => t.id === espIntegId(o)) : integs.length === 0;
      if (encr && integ) return { number: pp.number, proposal: o, peerSpi: pp.spi, group: pfsGroup };
    }
  }
  return null;
}

export function espAnswer(c: EspChoice, ourSpi: Uint8Array): ProposalV2 {
  return { number: c.number, protocol: ProtocolV2.ESP, spi: ourSpi, transforms: espTransforms(c.proposal, c.group) };
}
