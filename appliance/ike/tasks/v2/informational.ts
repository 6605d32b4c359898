// INFORMATIONAL (RFC 7296 1.4, 2.4): Delete of the IKE SA or of Child SAs, and the empty request that
// checks liveness (DPD). The responder of a Child SA delete answers with the SPIs of its own halves of
// the same pairs (1.4.1); an IKE SA delete is answered empty and the SA closed.
import { ProtocolV2, PayloadV2, NotifyV2 } from '../../encoding/constants-v2.js';
import type { DeleteBodyV2, PayloadBodyV2, PayloadV2Decoded } from '../../encoding/payloads-v2.js';
import { notifiesV2 } from '../../encoding/payloads-v2.js';
import { spiNumber } from './child.js';

const spiBytes = (n: number) => new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);

export const deleteIkeRequest = (): PayloadBodyV2[] => [{ type: PayloadV2.Delete, protocol: ProtocolV2.IKE, spiSize: 0, spis: [] }];

/** A delete of our inbound SPIs (the peer sends on them). */
export const deleteChildRequest = (inbound: readonly number[]): PayloadBodyV2[] =>
  [{ type: PayloadV2.Delete, protocol: ProtocolV2.ESP, spiSize: 4, spis: inbound.map(spiBytes) }];

export interface InformationalOutcome {
  reply: PayloadBodyV2[];
  deleteIke: boolean;
  /** Child SA pairs the peer deleted, by our outbound SPI (the one it named) and our inbound. */
  deletedChildren: Array<{ spiOut: number; spiIn: number }>;
  /** Error notifies the peer sent, for the log. */
  errors: number[];
}

/** `inboundFor`: our inbound SPI of the pair whose outbound SPI is the one given, if we hold it. */
export function respondInformational(ps: readonly PayloadV2Decoded[], inboundFor: (spiOut: number) => number | undefined): InformationalOutcome {
  const out: InformationalOutcome = { reply: [], deleteIke: false, deletedChildren: [], errors: notifiesV2(ps).filter((n) => n.notifyType < 16384).map((n) => n.notifyType) };
  for (const p of ps) {
    if (p.type !== PayloadV2.Delete || 'unknown' in p) continue;
    const d = p as DeleteBodyV2;
    if (d.protocol === ProtocolV2.IKE) out.deleteIke = true;
    else if (d.protocol === ProtocolV2.ESP && d.spiSize === 4) {
      for (const s of d.spis) {
        const spiOut = spiNumber(s), spiIn = inboundFor(spiOut);
        if (spiIn !== undefined) out.deletedChildren.push({ spiOut, spiIn });
      }
    }
  }
  // an IKE SA delete takes its Child SAs with it and is answered empty (1.4.1)
  if (!out.deleteIke && out.deletedChildren.length) out.reply = deleteChildRequest(out.deletedChildren.map((c) => c.spiIn));
  return out;
}

export const isAuthFailedNotify = (ps: readonly PayloadV2Decoded[]) => notifiesV2(ps).some((n) => n.notifyType === NotifyV2.AuthenticationFailed);
