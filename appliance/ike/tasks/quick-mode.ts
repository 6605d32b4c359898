// Quick mode (RFC 2409 5.5), one task per exchange (message ID), inside an established ISAKMP SA:
//   1 I->R  [HASH(1), SA, Ni, [KE], IDci, IDcr]
//   2 R->I  [HASH(2), SA, Nr, [KE], IDci, IDcr]
//   3 I->R  [HASH(3)]
// Our message 2 sets the commit bit (RFC 2408 3.1): once message 3 is verified and our inbound SA is
// installed we send CONNECTED (an informational notify naming that SPI), and an initiator that sees the
// bit sends on the new SA only after CONNECTED. That replaces guessing how long the responder needs.
// The IDs select GRE (protocol 47) between the two IKE addresses, as a DMVPN tunnel protection needs.
// The result is an ESP SA pair keyed from SKEYID_d (KEYMAT, with g(qm)^xy under PFS).
import { randomBytes, randomInt } from 'node:crypto';
import type { Phase2Proposal } from '../config.js';
import { constantTimeEqual } from '../crypto/compare.js';
import { dhExchange, type DhExchange } from '../crypto/dh.js';
import { ExchangeV1, FLAG_COMMIT, IdType, PayloadV1, ProtocolId } from '../encoding/constants.js';
import { asId, asSa, dataOf, encodeChain, single, type IdPayloadV1, type PayloadBodyV1 } from '../encoding/payloads-v1.js';
import { qmHash1, qmHash2, qmHash3, quickModeKeymat } from '../keymat/ikev1.js';
import { cipherName, integrityName, keymatLen, splitKeymat, type ChildSaKeys } from '../sa/child-sa.js';
import type { IkeSaV1, InboundV1 } from '../sa/ike-sa-v1.js';
import { acceptEsp, chooseEsp, offerEsp, spiBytes, type EspChoice } from './phase2-proposal.js';
import { NONCE_LEN } from './main-mode.js';
import { ipv4ToBytes } from '../../net/ipv4.js';

export const GRE_PROTOCOL = 47;

/** `connected`: the responder's step 3; the manager sends CONNECTED for `child.inbound.spi` after the `child` event. */
export type QuickStep = { ok: true; reply?: Uint8Array; child?: ChildSaKeys; connected?: boolean } | { ok: false; error: string };

const concat = (parts: Uint8Array[]) => { const o = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let i = 0; for (const p of parts) { o.set(p, i); i += p.length; } return o; };

/** A fresh inbound SPI: random, above the reserved range 1-255 (RFC 4303 2.1). */
export const newSpi = () => randomInt(256, 0xffffffff);

export class QuickMode {
  private readonly spi = newSpi(); // our inbound SPI
  private readonly nonce = new Uint8Array(randomBytes(NONCE_LEN));
  private dh?: DhExchange;
  private peerNonce?: Uint8Array;
  private choice?: EspChoice;
  private gxy?: Uint8Array;
  private step = 0;
  /** initiator: message 2 carried the commit bit */
  private peerCommits = false;

  constructor(private readonly sa: IkeSaV1, private readonly proposals: readonly Phase2Proposal[], readonly messageId: number,
    private readonly initiator: boolean) {}

  private get prf() { return this.sa.policy!.hash; }
  private get skeyidA() { return this.sa.keys!.skeyidA; }

  private ids(): PayloadBodyV1[] {
    const [ci, cr] = this.initiator ? [this.sa.local, this.sa.remote] : [this.sa.remote, this.sa.local];
    return [ci, cr].map((a) => ({ type: PayloadV1.ID, idType: IdType.IPv4Addr, protocol: GRE_PROTOCOL, port: 0, data: ipv4ToBytes(a) }));
  }

  /** Message 1 (initiator). */
  start(): Uint8Array {
    const pfs = this.proposals[0]?.pfsGroup;
    if (pfs) this.dh = dhExchange(pfs);
    const rest: PayloadBodyV1[] = [offerEsp(this.proposals, this.spi, this.sa.natDetected), { type: PayloadV1.Nonce, data: this.nonce },
      ...(this.dh ? [{ type: PayloadV1.KE, data: this.dh.publicKey } as PayloadBodyV1] : []), ...this.ids()];
    const hash = qmHash1(this.prf, this.skeyidA, this.messageId, encodeChain(rest).bytes);
    this.step = 1;
    return this.sa.message(ExchangeV1.QuickMode, this.messageId, [{ type: PayloadV1.Hash, data: hash }, ...rest], true);
  }

  process(m: InboundV1): QuickStep {
    const p = m.payloads;
    if (!p.length || p[0].type !== PayloadV1.Hash) return { ok: false, error: 'first payload is not HASH' };
    if (!(m.header.flags & 1)) return { ok: false, error: 'not encrypted' };
    const got = dataOf(p[0])!;
    const rest = concat(p.slice(1).map((x) => x.raw));

    if (this.initiator && this.step === 1) {
      const nonce = dataOf(single(p, PayloadV1.Nonce));
      if (!nonce) return { ok: false, error: 'message 2 without one nonce' };
      if (!constantTimeEqual(got, qmHash2(this.prf, this.skeyidA, this.messageId, this.nonce, rest))) return { ok: false, error: 'HASH(2) mismatch' };
      const sa = asSa(single(p, PayloadV1.SA));
      if (!sa || sa.proposals.length !== 1 || sa.proposals[0].transforms.length !== 1) return { ok: false, error: 'message 2 needs one SA with one proposal and one transform' };
      const choice = chooseEsp(this.proposals, sa.proposals, this.sa.natDetected);
      if (!choice) return { ok: false, error: 'message 2 chose a transform we did not offer' };
      const err = this.checkIds(p) ?? this.takeKe(p, choice.group);
      if (err) return { ok: false, error: `message 2: ${err}` };
      m.commitIv();
      this.choice = choice;
      this.peerNonce = nonce;
      this.peerCommits = (m.header.flags & FLAG_COMMIT) !== 0;
      const reply = this.sa.message(ExchangeV1.QuickMode, this.messageId,
        [{ type: PayloadV1.Hash, data: qmHash3(this.prf, this.skeyidA, this.messageId, this.nonce, nonce) }], true);
      this.step = 3;
      return { ok: true, reply, child: this.keys() };
    }
    if (!this.initiator && this.step === 0) {
      const nonce = dataOf(single(p, PayloadV1.Nonce));
      if (!nonce || nonce.length < 8 || nonce.length > 256) return { ok: false, error: 'message 1 without one valid nonce' };
      if (!constantTimeEqual(got, qmHash1(this.prf, this.skeyidA, this.messageId, rest))) return { ok: false, error: 'HASH(1) mismatch' };
      const sa = asSa(single(p, PayloadV1.SA));
      if (!sa) return { ok: false, error: 'message 1 without one SA payload' };
      const choice = chooseEsp(this.proposals, sa.proposals, this.sa.natDetected);
      if (!choice) return { ok: false, error: 'no acceptable transform set' };
      if (choice.group) this.dh = dhExchange(choice.group);
      const err = this.checkIds(p) ?? this.takeKe(p, choice.group);
      if (err) return { ok: false, error: `message 1: ${err}` };
      m.commitIv();
      this.choice = choice;
      this.peerNonce = nonce;
      const out: PayloadBodyV1[] = [acceptEsp(choice, this.spi, this.sa.natDetected), { type: PayloadV1.Nonce, data: this.nonce },
        ...(this.dh ? [{ type: PayloadV1.KE, data: this.dh.publicKey } as PayloadBodyV1] : []), ...this.ids()];
      const hash = qmHash2(this.prf, this.skeyidA, this.messageId, nonce, encodeChain(out).bytes);
      this.step = 2;
      return { ok: true, reply: this.sa.message(ExchangeV1.QuickMode, this.messageId, [{ type: PayloadV1.Hash, data: hash }, ...out], true, FLAG_COMMIT) };
    }
    if (!this.initiator && this.step === 2) {
      if (p.length !== 1) return { ok: false, error: 'message 3 carries more than HASH(3)' };
      if (!constantTimeEqual(got, qmHash3(this.prf, this.skeyidA, this.messageId, this.peerNonce!, this.nonce))) return { ok: false, error: 'HASH(3) mismatch' };
      m.commitIv();
      this.step = 3;
      return { ok: true, child: this.keys(), connected: true };
    }
    return { ok: false, error: `unexpected message after step ${this.step}` };
  }

  get done(): boolean { return this.step === 3; }

  /** IDci/IDcr must be GRE between the two IKE addresses (what `tunnel protection` protects). */
  private checkIds(p: InboundV1['payloads']): string | undefined {
    const ids = p.filter((x) => x.type === PayloadV1.ID).map((x) => asId(x)!);
    if (ids.length !== 2) return 'needs IDci and IDcr (GRE between the peers)';
    const [ci, cr] = this.initiator ? [this.sa.local, this.sa.remote] : [this.sa.remote, this.sa.local];
    // Behind a NAT (RFC 3947 5.2) an end names its own pre-NAT address, and the end behind it may name
    // the other by an address it never sees: with a NAT detected, each must still be one IPv4 host with
    // GRE (the data plane binds the SA to the IKE peer's outer address either way).
    const nat = this.sa.natDetected;
    const is = (id: IdPayloadV1, a: string) => id.idType === IdType.IPv4Addr && id.protocol === GRE_PROTOCOL && id.port === 0
      && id.data.length === 4 && (nat || id.data.join('.') === a);
    if (!is(ids[0], ci) || !is(ids[1], cr)) return `selectors are not GRE ${ci} -> ${cr}`;
    return undefined;
  }

  private takeKe(p: InboundV1['payloads'], group: number | undefined): string | undefined {
    const ke = dataOf(single(p, PayloadV1.KE));
    if (!group) return ke ? 'KE without PFS' : undefined;
    if (!ke || !this.dh) return 'PFS negotiated but no KE';
    const gxy = this.dh.secret(ke);
    if (!gxy) return 'KE is not a valid public value of the group';
    this.gxy = gxy;
    return undefined;
  }

  private keys(): ChildSaKeys {
    const c = this.choice!, prop = c.proposal;
    const [ni, nr] = this.initiator ? [this.nonce, this.peerNonce!] : [this.peerNonce!, this.nonce];
    const material = (spi: number) => {
      const k = quickModeKeymat(this.prf, this.sa.keys!.skeyidD, ProtocolId.ESP, spiBytes(spi), ni, nr, keymatLen(prop), this.gxy);
      return { spi, ...splitKeymat(prop, k) };
    };
    const child: ChildSaKeys = {
      local: this.sa.local, remote: this.sa.remote, protocol: GRE_PROTOCOL, mode: prop.mode, cipher: cipherName(prop),
      keyBits: prop.cipher.keyLen * 8, integrity: integrityName(prop), lifetime: c.lifetime, pfsGroup: c.group,
      ...(c.lifetimeKilobytes ? { lifetimeKilobytes: c.lifetimeKilobytes } : {}),
      inbound: material(this.spi), outbound: material(c.peerSpi), ...(this.peerCommits ? { peerCommits: true } : {}),
      ...(this.sa.natDetected ? { udpEncap: { localPort: this.sa.localPort, remotePort: this.sa.remotePort } } : {}),
    };
    this.gxy?.fill(0);
    return child;
  }
}
