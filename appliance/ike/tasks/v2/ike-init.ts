// IKE_SA_INIT (RFC 7296 1.2, 2.6, 2.7, 2.23): initiator and responder. The initiator offers its
// proposals with a KE payload for its preferred group, a nonce and NAT-D hashes; it follows a COOKIE or
// INVALID_KE_PAYLOAD answer once each. The responder picks a proposal, and either answers with its KE,
// nonce and NAT-D, or with the error notify alone (keeping no state). Both ends then derive the keys.
import { randomBytes } from 'node:crypto';
import type { IkeSuite, IkeV2Proposal } from '../../config-v2.js';
import { suiteOf } from '../../config-v2.js';
import { keExchange } from '../../crypto/ke.js';
import type { DhExchange } from '../../crypto/dh.js';
import { encKeyLen, integKeyLen } from '../../crypto/sk.js';
import { ExchangeV2, FLAG_I, FLAG_R, NotifyV2, PayloadV2 } from '../../encoding/constants-v2.js';
import { encodeMessageV2, type HeaderV2 } from '../../encoding/message-v2.js';
import { findV2, notify, notifiesV2, type KeBodyV2, type PayloadBodyV2, type PayloadV2Decoded, type SaBodyV2 } from '../../encoding/payloads-v2.js';
import { ikeKeys, skeyseed } from '../../keymat/ikev2.js';
import type { IkeSaV2 } from '../../sa/ike-sa-v2.js';
import { natCheck, natNotifies } from './nat-detection.js';
import { checkIkeAnswer, ikeOffer, selectIke, suiteProposal } from './proposals.js';

export const NONCE_LEN = 32;
/** RFC 7427 4 / RFC 8420: we verify and make SHA2-256, SHA2-384, SHA2-512 and Identity (Ed25519) signatures. */
const SIGNATURE_HASHES = notify(NotifyV2.SignatureHashAlgorithms, new Uint8Array([0, 2, 0, 3, 0, 4, 0, 5]));
const MIN_NONCE = 16, MAX_NONCE = 256;

export type InitResult =
  | { ok: true; reply?: Uint8Array }
  | { ok: false; error: string; retry?: Uint8Array; reply?: Uint8Array };

/** Derives SKEYSEED and the SK_* keys into the SA (both roles, once both nonces and g^ir exist). */
export function deriveIkeKeys(sa: IkeSaV2, suite: IkeSuite, gir: Uint8Array): void {
  const s = suiteOf(suite);
  sa.suite = suite;
  sa.keys = ikeKeys(suite.prf.prf, skeyseed(suite.prf.prf, sa.ni!, sa.nr!, gir), sa.ni!, sa.nr!, sa.ispi, sa.rspi, encKeyLen(s), integKeyLen(s));
}

function nonceOf(ps: readonly PayloadV2Decoded[]): Uint8Array | undefined {
  const n = findV2<{ type: PayloadV2.Nonce; data: Uint8Array }>(ps, PayloadV2.Nonce)?.data;
  return n && n.length >= MIN_NONCE && n.length <= MAX_NONCE ? n : undefined;
}

export class IkeInitInitiator {
  private ke: DhExchange;
  private cookie?: Uint8Array;
  private retries = 0;

  constructor(private readonly sa: IkeSaV2, private readonly proposals: readonly IkeV2Proposal[], private readonly fragmentation: boolean,
    private readonly signatures = false) {
    this.ke = keExchange(proposals[0].groups[0]);
    sa.ni = new Uint8Array(randomBytes(NONCE_LEN));
  }

  build(): Uint8Array {
    const { sa } = this;
    const payloads: PayloadBodyV2[] = [];
    if (this.cookie) payloads.push(notify(NotifyV2.Cookie, this.cookie));
    payloads.push(
      { type: PayloadV2.SA, proposals: ikeOffer(this.proposals, undefined, this.ke.group) },
      { type: PayloadV2.KE, group: this.ke.group, data: this.ke.publicKey },
      { type: PayloadV2.Nonce, data: sa.ni! },
      ...natNotifies(sa.ispi, sa.rspi, sa.local, sa.localPort, sa.remote, sa.remotePort),
    );
    if (this.fragmentation) payloads.push(notify(NotifyV2.FragmentationSupported));
    if (this.signatures) payloads.push(SIGNATURE_HASHES);
    const m = encodeMessageV2({ ispi: sa.ispi, rspi: new Uint8Array(8), exchange: ExchangeV2.IkeSaInit, flags: FLAG_I, messageId: 0 }, payloads);
    sa.ourInit = m;
    return m;
  }

  /** The response; on COOKIE or INVALID_KE_PAYLOAD, `retry` is the request to send instead. */
  process(h: HeaderV2, ps: readonly PayloadV2Decoded[], raw: Uint8Array, fromPort: number): InitResult & { fragmentation?: boolean } {
    const { sa } = this;
    const ns = notifiesV2(ps);
    const cookie = ns.find((n) => n.notifyType === NotifyV2.Cookie);
    if (cookie) {
      if (this.retries++ >= 2 || cookie.data.length < 1 || cookie.data.length > 64) return { ok: false, error: 'cookie demanded again' };
      this.cookie = cookie.data;
      return { ok: false, error: 'responder demands a cookie', retry: this.build() };
    }
    const invalidKe = ns.find((n) => n.notifyType === NotifyV2.InvalidKePayload);
    if (invalidKe) {
      const g = invalidKe.data.length === 2 ? (invalidKe.data[0] << 8) | invalidKe.data[1] : -1;
      if (this.retries++ >= 2 || !this.proposals.some((p) => p.groups.includes(g))) return { ok: false, error: `responder wants DH group ${g}, not one we offer` };
      this.ke = keExchange(g);
      return { ok: false, error: `responder wants DH group ${g}`, retry: this.build() };
    }
    const err = ns.find((n) => n.notifyType < 16384);
    if (err) return { ok: false, error: `responder refused with notify ${err.notifyType}` };
    const saP = findV2<SaBodyV2>(ps, PayloadV2.SA), ke = findV2<KeBodyV2>(ps, PayloadV2.KE), nr = nonceOf(ps);
    if (!saP || !ke || !nr) return { ok: false, error: 'IKE_SA_INIT response without SA, KE or a valid nonce' };
    if (h.rspi.every((b) => b === 0)) return { ok: false, error: 'zero responder SPI' };
    const suite = checkIkeAnswer(saP.proposals, this.proposals);
    if (!suite) return { ok: false, error: 'responder chose a proposal we did not offer' };
    if (ke.group !== suite.group || ke.group !== this.ke.group) return { ok: false, error: `KE group ${ke.group} does not match` };
    const gir = this.ke.secret(ke.data);
    if (!gir) return { ok: false, error: 'invalid KE value' };
    sa.rspi = h.rspi;
    sa.nr = nr;
    sa.peerInit = raw;
    const nat = natCheck(ns, sa.ispi, sa.rspi, sa.remote, fromPort, sa.local, sa.localPort);
    sa.natLocal = nat.natLocal;
    sa.natRemote = nat.natRemote;
    deriveIkeKeys(sa, suite, gir);
    return { ok: true, fragmentation: ns.some((n) => n.notifyType === NotifyV2.FragmentationSupported) };
  }
}

/** Stateless error answers of a responder (RFC 7296 2.6/1.2): the notify alone, SPIr zero. */
export function initError(h: HeaderV2, type: NotifyV2, data?: Uint8Array): Uint8Array {
  return encodeMessageV2({ ispi: h.ispi, rspi: new Uint8Array(8), exchange: ExchangeV2.IkeSaInit, flags: FLAG_R, messageId: 0 }, [notify(type, data)]);
}

/** The responder's half: checks the request; `reply` always set (the answer, or the error notify). */
export function respondInit(sa: IkeSaV2, proposals: readonly IkeV2Proposal[], h: HeaderV2, ps: readonly PayloadV2Decoded[], raw: Uint8Array, fragmentation: boolean, certReq?: PayloadBodyV2):
  InitResult & { fragmentation?: boolean } {
  const saP = findV2<SaBodyV2>(ps, PayloadV2.SA), ke = findV2<KeBodyV2>(ps, PayloadV2.KE), ni = nonceOf(ps);
  if (!saP || !ke || !ni) return { ok: false, error: 'IKE_SA_INIT without SA, KE or a valid nonce', reply: initError(h, NotifyV2.InvalidSyntax) };
  const chosen = selectIke(saP.proposals, proposals, ke.group);
  if (!chosen) return { ok: false, error: 'no acceptable IKE proposal', reply: initError(h, NotifyV2.NoProposalChosen) };
  if (chosen.spi.length !== 0) return { ok: false, error: 'IKE proposal with an SPI in IKE_SA_INIT', reply: initError(h, NotifyV2.InvalidSyntax) };
  if (ke.group !== chosen.suite.group) {
    return { ok: false, error: `KE for group ${ke.group}, we chose ${chosen.suite.group}`, reply: initError(h, NotifyV2.InvalidKePayload, new Uint8Array([chosen.suite.group >> 8, chosen.suite.group & 0xff])) };
  }
  const ours = keExchange(chosen.suite.group);
  const gir = ours.secret(ke.data);
  if (!gir) return { ok: false, error: 'invalid KE value', reply: initError(h, NotifyV2.InvalidSyntax) };
  const ns = notifiesV2(ps);
  // the request's NAT-D hashes were made with a zero responder SPI
  const nat = natCheck(ns, sa.ispi, new Uint8Array(8), sa.remote, sa.remotePort, sa.local, sa.localPort);
  sa.natLocal = nat.natLocal;
  sa.natRemote = nat.natRemote;
  sa.ni = ni;
  sa.nr = new Uint8Array(randomBytes(NONCE_LEN));
  sa.peerInit = raw;
  const peerFrag = ns.some((n) => n.notifyType === NotifyV2.FragmentationSupported);
  const payloads: PayloadBodyV2[] = [
    { type: PayloadV2.SA, proposals: [suiteProposal(chosen.suite, chosen.number)] },
    { type: PayloadV2.KE, group: ours.group, data: ours.publicKey },
    { type: PayloadV2.Nonce, data: sa.nr },
  ];
  if (nat.supported) payloads.push(...natNotifies(sa.ispi, sa.rspi, sa.local, sa.localPort, sa.remote, sa.remotePort));
  if (peerFrag && fragmentation) payloads.push(notify(NotifyV2.FragmentationSupported));
  // with certificates: ask for the peer's (CERTREQ, else an IOS or strongSwan peer may not send it) and offer RFC 7427
  if (certReq) payloads.push(certReq);
  if (certReq && ns.some((n) => n.notifyType === NotifyV2.SignatureHashAlgorithms)) payloads.push(SIGNATURE_HASHES);
  const reply = encodeMessageV2({ ispi: sa.ispi, rspi: sa.rspi, exchange: ExchangeV2.IkeSaInit, flags: FLAG_R, messageId: 0 }, payloads);
  sa.ourInit = reply;
  deriveIkeKeys(sa, chosen.suite, gir);
  return { ok: true, reply, fragmentation: peerFrag && fragmentation };
}
