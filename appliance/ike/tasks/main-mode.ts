// Main mode (identity protection exchange) with pre-shared keys, RFC 2409 5 and 5.4:
//   1 I->R  SA                2 R->I  SA
//   3 I->R  KE, Ni            4 R->I  KE, Nr
//   5 I->R  [ID_ii, HASH_I]   6 R->I  [ID_ir, HASH_R]        ([] = encrypted)
// One task object per IKE SA, for either role, in the libcharon shape: the initiator builds a request
// and processes the response, the responder processes a request and builds the response. A message that
// does not fit the state, or fails a check, gives { error } and changes nothing.
import { randomBytes } from 'node:crypto';
import type { Phase1Policy } from '../config.js';
import { constantTimeEqual } from '../crypto/compare.js';
import { dhExchange, type DhExchange } from '../crypto/dh.js';
import { ExchangeV1, IdType, NAT_T_PORT, NotifyV1, PayloadV1, ProtocolId, DOI_IPSEC, VID_RFC3947 } from '../encoding/constants.js';
import { hash } from '../crypto/prf.js';
import { asId, asSa, dataOf, encodeBody, single, type PayloadBodyV1 } from '../encoding/payloads-v1.js';
import { encryptionKey, hashI, hashR, phase1Iv, phase1Keys, type AuthInputs } from '../keymat/ikev1.js';
import { CrypterV1 } from '../sa/crypt-v1.js';
import type { IkeSaV1, InboundV1 } from '../sa/ike-sa-v1.js';
import { acceptSa, acceptedPolicy, choosePolicy, offerSa } from './phase1-proposal.js';
import { ipv4ToBytes } from '../../net/ipv4.js';

export const NONCE_LEN = 32;

export interface MainModeConfig {
  policies: readonly Phase1Policy[];
  /** The pre-shared key for the peer address; absent means no key configured for it. */
  psk: Uint8Array | undefined;
  /** Send INITIAL-CONTACT in message 5 (IOS does when it has no other SA with the peer). */
  initialContact: boolean;
  /** Offer and accept RFC 3947 NAT traversal (IOS: on unless `no crypto ipsec nat-transparency udp-encapsulation`). */
  natT: boolean;
}

export type Step = { ok: true; reply?: Uint8Array; established?: boolean } | { ok: false; error: string };

const ipString = (b: Uint8Array) => Array.from(b).join('.');

const only = (m: InboundV1, type: number) => single(m.payloads, type);

export class MainMode {
  private dh?: DhExchange;
  private nonce?: Uint8Array;
  private peerNonce?: Uint8Array;
  private peerPublic?: Uint8Array;
  private saiB?: Uint8Array; // the initiator's SA payload body, as it went on the wire
  private step = 0; // the last message number sent or accepted

  constructor(private readonly sa: IkeSaV1, private readonly cfg: MainModeConfig) {}

  // ---------- initiator ----------

  /** Message 1. */
  start(): Uint8Array {
    if (!this.sa.initiator || this.step !== 0) throw new Error('main mode: start is for a fresh initiator');
    const offer = offerSa(this.cfg.policies);
    this.saiB = encodeBody(offer);
    this.step = 1;
    return this.sa.message(ExchangeV1.IdentityProtection, 0, [offer, ...this.vendorIds()], false);
  }

  process(m: InboundV1): Step {
    if (m.header.exchange !== ExchangeV1.IdentityProtection || m.header.messageId !== 0) return { ok: false, error: 'not a main mode message' };
    return this.sa.initiator ? this.processResponse(m) : this.processRequest(m);
  }

  private processResponse(m: InboundV1): Step {
    if (this.step === 1) {
      const sa = asSa(only(m, PayloadV1.SA));
      if (!sa) return { ok: false, error: 'message 2 without one SA payload' };
      const policy = acceptedPolicy(this.cfg.policies, sa.proposals);
      if (!policy) return { ok: false, error: 'message 2 chose a transform we did not offer' };
      this.sa.policy = policy;
      this.sa.rspi = m.header.rspi;
      this.sa.natT = this.cfg.natT && this.peerSaysNatT(m);
      this.dh = dhExchange(policy.group);
      this.nonce = new Uint8Array(randomBytes(NONCE_LEN));
      this.step = 3;
      this.sa.state = 'MM_SA_SETUP';
      return { ok: true, reply: this.sa.message(ExchangeV1.IdentityProtection, 0, this.keyExchange(), false) };
    }
    if (this.step === 3) {
      const err = this.takeKeyExchange(m);
      if (err) return { ok: false, error: `message 4: ${err}` };
      this.sa.state = 'MM_KEY_EXCH';
      if (this.sa.natDetected) { this.sa.localPort = NAT_T_PORT; this.sa.remotePort = NAT_T_PORT; } // float (RFC 3947 4)
      const id = this.idPayload();
      const payloads: PayloadBodyV1[] = [id, { type: PayloadV1.Hash, data: hashI(this.authInputs(), idBody(id)) }];
      if (this.cfg.initialContact) {
        payloads.push({ type: PayloadV1.Notify, doi: DOI_IPSEC, protocol: ProtocolId.ISAKMP,
          spi: concat(this.sa.ispi, this.sa.rspi), notifyType: NotifyV1.InitialContact, data: new Uint8Array(0) });
      }
      this.step = 5;
      return { ok: true, reply: this.sa.message(ExchangeV1.IdentityProtection, 0, payloads, true) };
    }
    if (this.step === 5) {
      const err = this.checkPeerAuth(m, hashR);
      if (err) return { ok: false, error: `message 6: ${err}` };
      m.commitIv();
      this.sa.crypter!.finishPhase1();
      this.step = 6;
      this.sa.state = 'QM_IDLE';
      return { ok: true, established: true };
    }
    return { ok: false, error: `unexpected response after message ${this.step}` };
  }

  // ---------- responder ----------

  private processRequest(m: InboundV1): Step {
    if (this.step === 0) {
      if (!this.cfg.psk) return { ok: false, error: 'no pre-shared key for this peer' };
      const sa = asSa(only(m, PayloadV1.SA));
      if (!sa) return { ok: false, error: 'message 1 without one SA payload' };
      const choice = choosePolicy(this.cfg.policies, sa.proposals);
      if (!choice) return { ok: false, error: 'no acceptable ISAKMP proposal' };
      this.sa.policy = choice.policy;
      this.saiB = sa.body;
      this.sa.natT = this.cfg.natT && this.peerSaysNatT(m);
      this.step = 2;
      this.sa.state = 'MM_SA_SETUP';
      return { ok: true, reply: this.sa.message(ExchangeV1.IdentityProtection, 0, [acceptSa(choice), ...this.vendorIds()], false) };
    }
    if (this.step === 2) {
      this.dh = dhExchange(this.sa.policy!.group);
      this.nonce = new Uint8Array(randomBytes(NONCE_LEN));
      const err = this.takeKeyExchange(m);
      if (err) { this.dh = undefined; this.nonce = undefined; return { ok: false, error: `message 3: ${err}` }; }
      this.step = 4;
      this.sa.state = 'MM_KEY_EXCH';
      return { ok: true, reply: this.sa.message(ExchangeV1.IdentityProtection, 0, this.keyExchange(), false) };
    }
    if (this.step === 4) {
      const err = this.checkPeerAuth(m, hashI);
      if (err) return { ok: false, error: `message 5: ${err}` };
      m.commitIv();
      const id = this.idPayload();
      const reply = this.sa.message(ExchangeV1.IdentityProtection, 0, [id, { type: PayloadV1.Hash, data: hashR(this.authInputs(), idBody(id)) }], true);
      this.sa.crypter!.finishPhase1();
      this.step = 6;
      this.sa.state = 'QM_IDLE';
      return { ok: true, reply, established: true };
    }
    return { ok: false, error: `unexpected request after message ${this.step}` };
  }

  // ---------- shared ----------

  private keyExchange(): PayloadBodyV1[] {
    const natD: PayloadBodyV1[] = this.sa.natT
      ? [{ type: PayloadV1.NatD, data: this.natHash(this.sa.remote, this.sa.remotePort) }, { type: PayloadV1.NatD, data: this.natHash(this.sa.local, this.sa.localPort) }]
      : [];
    return [{ type: PayloadV1.KE, data: this.dh!.publicKey }, { type: PayloadV1.Nonce, data: this.nonce! }, ...natD];
  }

  private vendorIds(): PayloadBodyV1[] {
    return this.cfg.natT && (this.sa.initiator || this.sa.natT) ? [{ type: PayloadV1.VendorId, data: VID_RFC3947 }] : [];
  }

  private peerSaysNatT(m: InboundV1): boolean {
    return m.payloads.some((p) => { const d = p.type === PayloadV1.VendorId ? dataOf(p) : undefined; return !!d && d.length === 16 && d.every((x, i) => x === VID_RFC3947[i]); });
  }

  /** NAT-D (RFC 3947 3.2): HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash. */
  private natHash(ip: string, port: number): Uint8Array {
    return hash(this.sa.policy!.hash, this.sa.ispi, this.sa.rspi, ipv4ToBytes(ip), new Uint8Array([port >> 8, port & 0xff]));
  }

  /** The first NAT-D is how the peer sees us, the others how it sees itself; any mismatch is a NAT. */
  private detectNat(m: InboundV1): void {
    if (!this.sa.natT) return;
    const hashes = m.payloads.filter((p) => p.type === PayloadV1.NatD).map((p) => dataOf(p)!);
    if (hashes.length < 2) return;
    const us = this.natHash(this.sa.local, this.sa.localPort), them = this.natHash(this.sa.remote, this.sa.remotePort);
    const weBehind = !constantTimeEqual(hashes[0], us);
    const theyBehind = !hashes.slice(1).some((h) => constantTimeEqual(h, them));
    this.sa.natDetected = weBehind || theyBehind;
  }

  /** KE and nonce of the peer; derives every phase-1 key. */
  private takeKeyExchange(m: InboundV1): string | undefined {
    const ke = dataOf(only(m, PayloadV1.KE));
    const nonce = dataOf(only(m, PayloadV1.Nonce));
    if (!ke || !nonce) return 'needs one KE and one nonce payload';
    if (nonce.length < 8 || nonce.length > 256) return `nonce of ${nonce.length} bytes`;
    if (!this.cfg.psk) return 'no pre-shared key for this peer';
    const gxy = this.dh!.secret(ke);
    if (!gxy) return 'KE is not a valid public value of the group';
    this.peerPublic = ke;
    this.peerNonce = nonce;
    this.detectNat(m);
    const p = this.sa.policy!;
    const [ni, nr] = this.sa.initiator ? [this.nonce!, nonce] : [nonce, this.nonce!];
    this.sa.keys = phase1Keys({ prf: p.hash, psk: this.cfg.psk, ni, nr, gxy, ckyI: this.sa.ispi, ckyR: this.sa.rspi });
    gxy.fill(0);
    const key = encryptionKey(p.hash, this.sa.keys.skeyidE, p.cipher.keyLen);
    const [gxi, gxr] = this.publics();
    this.sa.crypter = new CrypterV1(p.cipher, key, p.hash, phase1Iv(p.hash, gxi, gxr, p.cipher.blockLen));
    return undefined;
  }

  private publics(): [Uint8Array, Uint8Array] {
    return this.sa.initiator ? [this.dh!.publicKey, this.peerPublic!] : [this.peerPublic!, this.dh!.publicKey];
  }

  private authInputs(): AuthInputs {
    const [gxi, gxr] = this.publics();
    return { prf: this.sa.policy!.hash, skeyid: this.sa.keys!.skeyid, gxi, gxr, ckyI: this.sa.ispi, ckyR: this.sa.rspi, saiB: this.saiB! };
  }

  /** Our identity: the IKE address (IOS `crypto isakmp identity address`), UDP/500 as IOS sends it. */
  private idPayload(): PayloadBodyV1 {
    return { type: PayloadV1.ID, idType: IdType.IPv4Addr, protocol: 17, port: 500, data: ipv4ToBytes(this.sa.local) };
  }

  private checkPeerAuth(m: InboundV1, expected: (x: AuthInputs, idB: Uint8Array) => Uint8Array): string | undefined {
    if (!(m.header.flags & 1)) return 'not encrypted';
    const id = asId(only(m, PayloadV1.ID));
    const h = dataOf(only(m, PayloadV1.Hash));
    if (!id || !h) return 'needs one ID and one HASH payload';
    if (!constantTimeEqual(h, expected(this.authInputs(), id.body))) return 'hash mismatch (wrong pre-shared key?)';
    if (id.idType === IdType.IPv4Addr && id.data.length === 4) this.sa.peerId = ipString(id.data);
    else this.sa.peerId = `id-type-${id.idType}`;
    return undefined;
  }

  /** The first message this task sent (for the initiator's retransmission) has been answered. */
  get lastStep(): number { return this.step; }
}

const idBody = (p: PayloadBodyV1) => {
  if (p.type !== PayloadV1.ID || !('idType' in p)) throw new Error('not an ID payload');
  return concat(new Uint8Array([p.idType, p.protocol, p.port >> 8, p.port & 0xff]), p.data);
};

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
