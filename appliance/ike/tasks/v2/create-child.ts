// CREATE_CHILD_SA (RFC 7296 1.3, 2.8, 2.17, 2.18): a new or rekeyed Child SA (N(REKEY_SA) names the
// SA being replaced by its sender's inbound SPI; a KE payload when the profile sets PFS, KEYMAT =
// prf+(SK_d, g^ir (new) | Ni | Nr)), and the rekey of the IKE SA itself (an IKE proposal carrying the
// new SPI, fresh nonces and KE; SKEYSEED = prf_old(SK_d (old), g^ir (new) | Ni | Nr), message IDs from 0).
import { randomBytes } from 'node:crypto';
import type { IkeSuite, IkeV2Policy } from '../../config-v2.js';
import { suiteOf } from '../../config-v2.js';
import { keExchange } from '../../crypto/ke.js';
import type { DhExchange } from '../../crypto/dh.js';
import { encKeyLen, integKeyLen } from '../../crypto/sk.js';
import { NotifyV2, PayloadV2, ProtocolV2, SPI_LEN } from '../../encoding/constants-v2.js';
import { findV2, notify, notifiesV2, type KeBodyV2, type PayloadBodyV2, type PayloadV2Decoded, type SaBodyV2, type TsBodyV2 } from '../../encoding/payloads-v2.js';
import { ikeKeys, skeyseedRekey } from '../../keymat/ikev2.js';
import type { ChildSaKeys } from '../../sa/child-sa.js';
import { IkeSaV2 } from '../../sa/ike-sa-v2.js';
import { answerFits, childSaKeys, greSelector, narrow, newSpi, spiNumber } from './child.js';
import { NONCE_LEN } from './ike-init.js';
import { checkIkeAnswer, espAnswer, espOffer, ikeOffer, selectEsp, selectIke, suiteProposal } from './proposals.js';

const spiBytes = (n: number) => new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
const nonceOf = (ps: readonly PayloadV2Decoded[]) => {
  const n = findV2<{ type: PayloadV2.Nonce; data: Uint8Array }>(ps, PayloadV2.Nonce)?.data;
  return n && n.length >= 16 && n.length <= 256 ? n : undefined;
};

export type ChildOutcome = { ok: true; child: ChildSaKeys; ni: Uint8Array; nr: Uint8Array } | { ok: false; error: string };

/** Our CREATE_CHILD_SA request for a Child SA; `rekeyInbound`: our inbound SPI of the pair it replaces. */
export class ChildCreateInitiator {
  readonly spi = newSpi();
  readonly ni = new Uint8Array(randomBytes(NONCE_LEN));
  private readonly ke?: DhExchange;
  constructor(private readonly sa: IkeSaV2, private readonly policy: IkeV2Policy, readonly rekeyInbound?: number) {
    if (policy.pfsGroup !== undefined) this.ke = keExchange(policy.pfsGroup);
  }

  build(): PayloadBodyV2[] {
    const { sa, policy } = this;
    const out: PayloadBodyV2[] = [];
    if (this.rekeyInbound !== undefined) out.push(notify(NotifyV2.RekeySa, undefined, ProtocolV2.ESP, spiBytes(this.rekeyInbound)));
    if (policy.esp[0].mode === 'transport') out.push(notify(NotifyV2.UseTransportMode));
    out.push({ type: PayloadV2.SA, proposals: espOffer(policy.esp, this.spi, this.ke?.group) }, { type: PayloadV2.Nonce, data: this.ni });
    if (this.ke) out.push({ type: PayloadV2.KE, group: this.ke.group, data: this.ke.publicKey });
    out.push({ type: PayloadV2.TSi, selectors: [greSelector(sa.local)] }, { type: PayloadV2.TSr, selectors: [greSelector(sa.remote)] });
    return out;
  }

  process(ps: readonly PayloadV2Decoded[]): ChildOutcome {
    const { sa, policy } = this;
    const ns = notifiesV2(ps);
    const err = ns.find((n) => n.notifyType < 16384);
    if (err) return { ok: false, error: `peer refused with notify ${err.notifyType}` };
    const saP = findV2<SaBodyV2>(ps, PayloadV2.SA), nr = nonceOf(ps), tsi = findV2<TsBodyV2>(ps, PayloadV2.TSi), tsr = findV2<TsBodyV2>(ps, PayloadV2.TSr);
    if (!saP || !nr || !tsi || !tsr) return { ok: false, error: 'CREATE_CHILD_SA response without SA, nonce or selectors' };
    const choice = saP.proposals.length === 1 ? selectEsp(saP.proposals, policy.esp, this.ke?.group) : null;
    if (!choice) return { ok: false, error: 'peer chose an ESP proposal we did not offer' };
    let gir: Uint8Array | undefined;
    if (this.ke) {
      const ke = findV2<KeBodyV2>(ps, PayloadV2.KE);
      if (!ke || ke.group !== this.ke.group) return { ok: false, error: 'PFS: no KE of our group in the answer' };
      gir = this.ke.secret(ke.data) ?? undefined;
      if (!gir) return { ok: false, error: 'PFS: invalid KE value' };
    }
    if (!answerFits(tsi.selectors, sa.local, sa.nat) || !answerFits(tsr.selectors, sa.remote, sa.nat)) return { ok: false, error: 'selectors narrowed to something other than GRE between us' };
    const mode = ns.some((n) => n.notifyType === NotifyV2.UseTransportMode) ? 'transport' : 'tunnel';
    return { ok: true, ni: this.ni, nr, child: childSaKeys(sa, choice.proposal, mode, this.spi, choice.peerSpi, this.ni, nr, true, gir, this.ke?.group) };
  }
}

export interface ChildResponse { reply: PayloadBodyV2[]; child?: ChildSaKeys; ni?: Uint8Array; nr?: Uint8Array; rekeyedSpiOut?: number; error?: string }

/** The responder's half for a Child SA; `holds(spiOut)`: whether we have a pair with that outbound SPI (REKEY_SA). */
export function respondCreateChild(sa: IkeSaV2, policy: IkeV2Policy, ps: readonly PayloadV2Decoded[], holds: (spiOut: number) => boolean): ChildResponse {
  const ns = notifiesV2(ps);
  const rekey = ns.find((n) => n.notifyType === NotifyV2.RekeySa);
  let rekeyedSpiOut: number | undefined;
  if (rekey) {
    if (rekey.spi.length !== 4 || !holds(spiNumber(rekey.spi))) return { reply: [notify(NotifyV2.ChildSaNotFound, undefined, ProtocolV2.ESP, rekey.spi)], error: 'REKEY_SA for a Child SA we do not hold' };
    rekeyedSpiOut = spiNumber(rekey.spi);
  }
  const saP = findV2<SaBodyV2>(ps, PayloadV2.SA), ni = nonceOf(ps), tsi = findV2<TsBodyV2>(ps, PayloadV2.TSi), tsr = findV2<TsBodyV2>(ps, PayloadV2.TSr);
  if (!saP || !ni || !tsi || !tsr) return { reply: [notify(NotifyV2.InvalidSyntax)], error: 'CREATE_CHILD_SA without SA, nonce or selectors' };
  const ke = findV2<KeBodyV2>(ps, PayloadV2.KE);
  const choice = selectEsp(saP.proposals, policy.esp, policy.pfsGroup);
  if (!choice) return { reply: [notify(NotifyV2.NoProposalChosen)], error: 'no acceptable ESP proposal (or PFS group)' };
  let gir: Uint8Array | undefined, ours: DhExchange | undefined;
  if (policy.pfsGroup !== undefined) {
    if (!ke || ke.group !== policy.pfsGroup) return { reply: [notify(NotifyV2.InvalidKePayload, new Uint8Array([policy.pfsGroup >> 8, policy.pfsGroup & 0xff]))], error: `PFS: KE for group ${ke?.group}` };
    ours = keExchange(policy.pfsGroup);
    gir = ours.secret(ke.data) ?? undefined;
    if (!gir) return { reply: [notify(NotifyV2.InvalidSyntax)], error: 'PFS: invalid KE value' };
  }
  const i = narrow(tsi.selectors, sa.remote, sa.nat), r = narrow(tsr.selectors, sa.local, false);
  if (!i || !r) return { reply: [notify(NotifyV2.TsUnacceptable)], error: 'traffic selectors do not cover GRE between us' };
  const transport = ns.some((n) => n.notifyType === NotifyV2.UseTransportMode) && choice.proposal.mode === 'transport';
  const ourSpi = newSpi(), nr = new Uint8Array(randomBytes(NONCE_LEN));
  const reply: PayloadBodyV2[] = [];
  if (transport) reply.push(notify(NotifyV2.UseTransportMode));
  reply.push({ type: PayloadV2.SA, proposals: [espAnswer(choice, ourSpi)] }, { type: PayloadV2.Nonce, data: nr });
  if (ours) reply.push({ type: PayloadV2.KE, group: ours.group, data: ours.publicKey });
  reply.push({ type: PayloadV2.TSi, selectors: [i] }, { type: PayloadV2.TSr, selectors: [r] });
  const child = childSaKeys(sa, choice.proposal, transport ? 'transport' : 'tunnel', ourSpi, choice.peerSpi, ni, nr, false, gir, ours?.group);
  return { reply, child, ni, nr, rekeyedSpiOut };
}

/** The IKE SA that replaces `old` after a rekey; `weInitiated`: we sent the CREATE_CHILD_SA request. */
function rekeyedSa(old: IkeSaV2, weInitiated: boolean, spii: Uint8Array, spir: Uint8Array, suite: IkeSuite, gir: Uint8Array, ni: Uint8Array, nr: Uint8Array, connId: number): IkeSaV2 {
  const sa = new IkeSaV2(weInitiated, old.local, old.remote, spii, spir, connId);
  Object.assign(sa, { localPort: old.localPort, remotePort: old.remotePort, natLocal: old.natLocal, natRemote: old.natRemote, peerId: old.peerId, peerCertAddresses: old.peerCertAddresses, peerCert: old.peerCert, peerKeyType: old.peerKeyType, ni, nr, suite });
  // the rekeying exchange belongs to the old SA, so its PRF makes SKEYSEED (RFC 7296 2.18)
  const seed = skeyseedRekey(old.suite!.prf.prf, old.keys!.skD, gir, ni, nr);
  const s = suiteOf(suite);
  sa.keys = ikeKeys(suite.prf.prf, seed, ni, nr, spii, spir, encKeyLen(s), integKeyLen(s));
  sa.rekeyedFrom = old.name;
  sa.state = 'READY';
  sa.establishedAt = Date.now();
  return sa;
}

export class IkeRekeyInitiator {
  readonly ni = new Uint8Array(randomBytes(NONCE_LEN));
  private readonly ke: DhExchange;
  constructor(private readonly sa: IkeSaV2, private readonly policy: IkeV2Policy, readonly newSpi: Uint8Array) {
    this.ke = keExchange(sa.suite!.group);
  }

  build(): PayloadBodyV2[] {
    return [{ type: PayloadV2.SA, proposals: ikeOffer(this.policy.proposals, this.newSpi, this.ke.group) }, { type: PayloadV2.Nonce, data: this.ni },
      { type: PayloadV2.KE, group: this.ke.group, data: this.ke.publicKey }];
  }

  process(ps: readonly PayloadV2Decoded[], connId: number): { ok: true; sa: IkeSaV2; nr: Uint8Array } | { ok: false; error: string } {
    const err = notifiesV2(ps).find((n) => n.notifyType < 16384);
    if (err) return { ok: false, error: `peer refused the IKE SA rekey with notify ${err.notifyType}` };
    const saP = findV2<SaBodyV2>(ps, PayloadV2.SA), nr = nonceOf(ps), ke = findV2<KeBodyV2>(ps, PayloadV2.KE);
    if (!saP || !nr || !ke) return { ok: false, error: 'IKE rekey answer without SA, nonce or KE' };
    const suite = checkIkeAnswer(saP.proposals, this.policy.proposals);
    const spir = saP.proposals[0]?.spi;
    if (!suite || !spir || spir.length !== SPI_LEN || spir.every((b) => b === 0)) return { ok: false, error: 'IKE rekey answer with a proposal or SPI we cannot use' };
    if (ke.group !== this.ke.group || suite.group !== ke.group) return { ok: false, error: 'IKE rekey answer: KE group mismatch' };
    const gir = this.ke.secret(ke.data);
    if (!gir) return { ok: false, error: 'IKE rekey: invalid KE value' };
    return { ok: true, nr, sa: rekeyedSa(this.sa, true, this.newSpi, spir, suite, gir, this.ni, nr, connId) };
  }
}

export function respondIkeRekey(old: IkeSaV2, policy: IkeV2Policy, ps: readonly PayloadV2Decoded[], ourSpi: Uint8Array, connId: number):
  { reply: PayloadBodyV2[]; sa?: IkeSaV2; ni?: Uint8Array; error?: string } {
  const saP = findV2<SaBodyV2>(ps, PayloadV2.SA), ni = nonceOf(ps), ke = findV2<KeBodyV2>(ps, PayloadV2.KE);
  if (!saP || !ni || !ke) return { reply: [notify(NotifyV2.InvalidSyntax)], error: 'IKE rekey without SA, nonce or KE' };
  const chosen = selectIke(saP.proposals, policy.proposals, ke.group);
  if (!chosen || chosen.spi.length !== SPI_LEN || chosen.spi.every((b) => b === 0)) return { reply: [notify(NotifyV2.NoProposalChosen)], error: 'no acceptable IKE proposal for the rekey' };
  if (chosen.suite.group !== ke.group) return { reply: [notify(NotifyV2.InvalidKePayload, new Uint8Array([chosen.suite.group >> 8, chosen.suite.group & 0xff]))], error: 'IKE rekey: KE group' };
  const ours = keExchange(chosen.suite.group);
  const gir = ours.secret(ke.data);
  if (!gir) return { reply: [notify(NotifyV2.InvalidSyntax)], error: 'IKE rekey: invalid KE value' };
  const nr = new Uint8Array(randomBytes(NONCE_LEN));
  const sa = rekeyedSa(old, false, chosen.spi, ourSpi, chosen.suite, gir, ni, nr, connId);
  return { reply: [{ type: PayloadV2.SA, proposals: [suiteProposal(chosen.suite, chosen.number, ourSpi)] }, { type: PayloadV2.Nonce, data: nr }, { type: PayloadV2.KE, group: ours.group, data: ours.publicKey }], sa, ni };
}

/** RFC 7296 2.8.1: of two simultaneous rekeys, the one whose exchange holds the lowest nonce is redundant. */
export function lowestNonceIsOurs(ours: { ni: Uint8Array; nr: Uint8Array }, theirs: { ni: Uint8Array; nr: Uint8Array }): boolean {
  const min = (a: Uint8Array, b: Uint8Array) => (Buffer.compare(a, b) <= 0 ? a : b);
  return Buffer.compare(min(ours.ni, ours.nr), min(theirs.ni, theirs.nr)) < 0;
}
