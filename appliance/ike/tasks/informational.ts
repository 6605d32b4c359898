// Informational exchanges of an established ISAKMP SA (RFC 2409 5.7): [HASH(1), N or D], HASH(1) =
// prf(SKEYID_a, M-ID | N/D). Only authenticated ones act: a delete of the ISAKMP SA or of a Child SA, a
// notify logged, and DPD R-U-THERE (RFC 3706) answered with R-U-THERE-ACK. Before phase 1 is done an
// informational message cannot be authenticated and is only logged by the caller.
import { randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../crypto/compare.js';
import { DOI_IPSEC, ExchangeV1, NotifyV1, PayloadV1, ProtocolId } from '../encoding/constants.js';
import { asDelete, asNotify, dataOf, encodeChain, type PayloadBodyV1 } from '../encoding/payloads-v1.js';
import { infoHash } from '../keymat/ikev1.js';
import type { IkeSaV1, InboundV1 } from '../sa/ike-sa-v1.js';
import { spiNumber } from './phase2-proposal.js';

export type InfoResult =
  | { ok: false; error: string }
  | { ok: true; deleteIke: boolean; deleteSpis: number[]; notifies: number[]; connectedSpis: number[]; reply?: Uint8Array };

const concat = (parts: Uint8Array[]) => { const o = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let i = 0; for (const p of parts) { o.set(p, i); i += p.length; } return o; };

export function processInformational(sa: IkeSaV1, m: InboundV1): InfoResult {
  const p = m.payloads;
  if (!(m.header.flags & 1) || !sa.keys) return { ok: false, error: 'unauthenticated informational' };
  if (p.length < 2 || p[0].type !== PayloadV1.Hash) return { ok: false, error: 'informational without HASH first' };
  const mid = m.header.messageId;
  const expected = infoHash(sa.policy!.hash, sa.keys.skeyidA, mid, concat(p.slice(1).map((x) => x.raw)));
  if (!constantTimeEqual(dataOf(p[0])!, expected)) return { ok: false, error: 'informational HASH(1) mismatch' };
  m.commitIv();
  const res: { deleteIke: boolean; deleteSpis: number[]; notifies: number[]; connectedSpis: number[]; reply?: Uint8Array } =
    { deleteIke: false, deleteSpis: [], notifies: [], connectedSpis: [] };
  for (const x of p.slice(1)) {
    const d = asDelete(x);
    if (d?.protocol === ProtocolId.ISAKMP && d.spis.some((s) => s.length === 16 && equal(s.subarray(0, 8), sa.ispi) && equal(s.subarray(8), sa.rspi))) res.deleteIke = true;
    if (d?.protocol === ProtocolId.ESP) res.deleteSpis.push(...d.spis.filter((s) => s.length === 4).map(spiNumber));
    const n = asNotify(x);
    if (!n) continue;
    res.notifies.push(n.notifyType);
    // CONNECTED (commit bit, RFC 2408 3.1): the peer installed the inbound ESP SA with this SPI
    if (n.notifyType === NotifyV1.Connected && n.protocol === ProtocolId.ESP && n.spi.length === 4) res.connectedSpis.push(spiNumber(n.spi));
    if (n.notifyType === NotifyV1.DpdRUThere && n.data.length === 4) {
      res.reply = informational(sa, [{ type: PayloadV1.Notify, doi: DOI_IPSEC, protocol: ProtocolId.ISAKMP, spi: concat([sa.ispi, sa.rspi]),
        notifyType: NotifyV1.DpdRUThereAck, data: n.data }]);
    }
  }
  return { ok: true, ...res };
}

/** An informational message of ours: fresh random message ID, HASH(1) first. */
export function informational(sa: IkeSaV1, body: PayloadBodyV1[]): Uint8Array {
  const mid = randomBytes(4).readUInt32BE(0) || 1;
  const hash = infoHash(sa.policy!.hash, sa.keys!.skeyidA, mid, encodeChain(body).bytes);
  const msg = sa.message(ExchangeV1.Informational, mid, [{ type: PayloadV1.Hash, data: hash }, ...body], true);
  sa.crypter!.forget(mid);
  return msg;
}

/** CONNECTED for our inbound SPI `spi`: our half of a commit-bit quick mode is installed. */
export const connected = (sa: IkeSaV1, spi: Uint8Array) =>
  informational(sa, [{ type: PayloadV1.Notify, doi: DOI_IPSEC, protocol: ProtocolId.ESP, spi, notifyType: NotifyV1.Connected, data: new Uint8Array(0) }]);

/** Delete of the ISAKMP SA (sent when we clear it). */
export const deleteIke = (sa: IkeSaV1) => informational(sa, [{ type: PayloadV1.Delete, doi: DOI_IPSEC, protocol: ProtocolId.ISAKMP, spiSize: 16, spis: [concat([sa.ispi, sa.rspi])] }]);

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
