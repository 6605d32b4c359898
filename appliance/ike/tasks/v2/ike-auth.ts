// IKE_AUTH (RFC 7296 1.2, 2.15, 1.3.1 for the piggybacked Child SA) with pre-shared keys: each side
// sends its identity and AUTH = prf(prf(key, "Key Pad for IKEv2"), its IKE_SA_INIT message | the peer's
// nonce | prf(SK_p, its ID body)), and the first Child SA (ESP, GRE between the peers, tunnel unless
// USE_TRANSPORT_MODE is agreed). A Child SA that fails leaves the IKE SA up (RFC 7296 2.21.2).
import type { IkeV2Policy } from '../../config-v2.js';
import { keyFor } from '../../config-v2.js';
import { constantTimeEqual } from '../../crypto/compare.js';
import { AuthMethod, IdTypeV2, NotifyV2, PayloadV2 } from '../../encoding/constants-v2.js';
import { encodeBodyV2, findV2, notify, notifiesV2, type AuthBodyV2, type IdBodyV2, type PayloadBodyV2, type PayloadV2Decoded, type SaBodyV2, type TsBodyV2 } from '../../encoding/payloads-v2.js';
import { pskAuth, signedOctets } from '../../keymat/ikev2.js';
import { certPayload, certRequest, signatureAuth, verifySignatureAuth, type CertIdentity } from './cert-auth.js';
import { isDnsName } from '../../../net/dns-name.js';
import type { ChildSaKeys } from '../../sa/child-sa.js';
import type { IkeSaV2 } from '../../sa/ike-sa-v2.js';
import { answerFits, childSaKeys, greSelector, narrow, newSpi } from './child.js';
import { espAnswer, espOffer, selectEsp } from './proposals.js';
import { ipv4Bytes } from '../../../net/ipv4.js';
import type { X509Certificate } from 'node:crypto';

export type AuthResult =
  | { ok: true; child?: ChildSaKeys; childError?: string; reply?: PayloadBodyV2[] }
  | { ok: false; error: string; reply?: PayloadBodyV2[]; /** the peer's AUTH (or certificate) was refused */ peerRefused?: true };

const enc = new TextEncoder();

/** Our ID payload: ID_FQDN when the profile says `identity local fqdn NAME` (an enrolled spoke's device
 *  name: behind NAT its address is not one the hub could know or certify), else our address. */
export function ourId(sa: IkeSaV2, policy: IkeV2Policy, type: PayloadV2.IDi | PayloadV2.IDr): IdBodyV2 {
  if (policy.localFqdn !== undefined) return { type, idType: IdTypeV2.Fqdn, data: enc.encode(policy.localFqdn) };
  return { type, idType: IdTypeV2.IPv4Addr, data: ipv4Bytes(sa.local) ?? new Uint8Array(4) };
}

/** The identity a certificate must carry for ID payload `id`, or why an identity of its kind is refused:
 *  an IPv4 address, or an FQDN that is a DNS name (compared in lower case, as DNS compares names, so
 *  one device is one identity however it spells its name). */
function certIdentity(id: IdBodyV2): CertIdentity | string {
  if (id.idType === IdTypeV2.IPv4Addr && id.data.length === 4) return { kind: 'ipv4', address: [...id.data].join('.') };
  if (id.idType === IdTypeV2.Fqdn) {
    const name = Buffer.from(id.data).toString('latin1');
    return isDnsName(name) ? { kind: 'fqdn', name: name.toLowerCase() } : 'an ID_FQDN that is not a DNS name';
  }
  return `certificate identity of type ${id.idType}: only IPv4 address and FQDN identities are bound`;
}

export function idString(id: IdBodyV2): string {
  if (id.idType === IdTypeV2.IPv4Addr && id.data.length === 4) return [...id.data].join('.');
  if (id.idType === IdTypeV2.Fqdn || id.idType === IdTypeV2.Rfc822) return new TextDecoder().decode(id.data).replace(/[^\x20-\x7e]/g, '?');
  return `id${id.idType}:${Buffer.from(id.data).toString('hex')}`;
}

/** AUTH for the side that is (or is not) the original initiator, over its ID payload body. */
function authData(sa: IkeSaV2, psk: string, signerIsInitiator: boolean, idBody: Uint8Array): Uint8Array {
  const h = sa.suite!.prf.prf;
  const signerInit = signerIsInitiator === sa.initiator ? sa.ourInit! : sa.peerInit!;
  return pskAuth(h, enc.encode(psk), signerInit, signerIsInitiator ? sa.nr! : sa.ni!, signerIsInitiator ? sa.keys!.skPi : sa.keys!.skPr, idBody);
}

/** What a verified AUTH tells about the peer. */
interface PeerFacts { id: string; certAddresses?: string[]; keyType?: string; cert?: X509Certificate }

function verify(sa: IkeSaV2, policy: IkeV2Policy, ps: readonly PayloadV2Decoded[], idType: PayloadV2.IDi | PayloadV2.IDr): ({ ok: true } & PeerFacts) | { ok: false; error: string; peerRefused: true } {
  const r = verifyPeer(sa, policy, ps, idType);
  return r.ok ? r : { ...r, peerRefused: true };
}

/** What the peer's verified AUTH tells about it, kept on its SA (identity-bound NHRP, show crypto ikev2 sa). */
function verified(sa: IkeSaV2, v: PeerFacts): void {
  sa.peerId = v.id;
  sa.peerCertAddresses = v.certAddresses;
  sa.peerKeyType = v.keyType;
  sa.peerCert = v.cert;
}

function verifyPeer(sa: IkeSaV2, policy: IkeV2Policy, ps: readonly PayloadV2Decoded[], idType: PayloadV2.IDi | PayloadV2.IDr): ({ ok: true } & PeerFacts) | { ok: false; error: string } {
  const id = findV2<IdBodyV2>(ps, idType), auth = findV2<AuthBodyV2>(ps, PayloadV2.Auth);
  if (!id || !auth) return { ok: false, error: 'IKE_AUTH without ID or AUTH' };
  const peerId = idString(id);
  if (auth.method === AuthMethod.DigitalSignature) {
    if (!policy.credentials) return { ok: false, error: `${peerId} signs, we have no trusted CA configured` };
    const ci = certIdentity(id);
    if (typeof ci === 'string') return { ok: false, error: `${peerId}: ${ci}` };
    const signerIsInitiator = idType === PayloadV2.IDi;
    const octets = signedOctets(sa.suite!.prf.prf, signerIsInitiator === sa.initiator ? sa.ourInit! : sa.peerInit!, signerIsInitiator ? sa.nr! : sa.ni!,
      signerIsInitiator ? sa.keys!.skPi : sa.keys!.skPr, id.body);
    const r = verifySignatureAuth(ps, auth, policy.credentials.trusted, ci, octets);
    if (typeof r === 'string') return { ok: false, error: `${peerId}: ${r}` };
    // asked last: a refusal then concerns a peer proven to hold the certificate's key
    const refused = policy.certAccepted?.(r.cert);
    if (refused !== undefined) return { ok: false, error: `${peerId}: ${refused}` };
    return { ok: true, id: ci.kind === 'ipv4' ? ci.address : ci.name, certAddresses: r.addresses, keyType: r.keyType, cert: r.cert };
  }
  if (auth.method !== AuthMethod.SharedKeyMic) return { ok: false, error: `auth method ${auth.method} not supported` };
  // `authentication remote ecdsa-sig|rsa-sig`: a pre-shared key from the peer is not accepted
  if (policy.peerMustSign) return { ok: false, error: `${peerId} authenticates with a pre-shared key, the profile requires a certificate signature` };
  const psk = keyFor(policy.keyring, sa.remote, peerId);
  if (psk === undefined) return { ok: false, error: `no pre-shared key for ${sa.remote} (identity ${peerId})` };
  if (!constantTimeEqual(authData(sa, psk, idType === PayloadV2.IDi, id.body), auth.data)) return { ok: false, error: `AUTH from ${peerId} does not verify (wrong pre-shared key?)` };
  return { ok: true, id: peerId };
}

/** Our AUTH (and CERT when we sign): a signature when a certificate is configured, else the PSK MAC. */
function ourAuth(sa: IkeSaV2, policy: IkeV2Policy, id: IdBodyV2): PayloadBodyV2[] | null {
  if (policy.credentials) {
    const octets = signedOctets(sa.suite!.prf.prf, sa.ourInit!, sa.initiator ? sa.nr! : sa.ni!, sa.initiator ? sa.keys!.skPi : sa.keys!.skPr, encodeBodyV2(id));
    return [certPayload(policy.credentials), signatureAuth(policy.credentials, octets)];
  }
  const psk = keyFor(policy.keyring, sa.remote);
  if (psk === undefined) return null;
  return [{ type: PayloadV2.Auth, method: AuthMethod.SharedKeyMic, data: authData(sa, psk, sa.initiator, encodeBodyV2(id)) }];
}

export class IkeAuthInitiator {
  private readonly spi = newSpi();
  constructor(private readonly sa: IkeSaV2, private readonly policy: IkeV2Policy, private readonly initialContact: boolean) {}

  /** The request's payloads, or null when we hold no key for the peer. */
  build(): PayloadBodyV2[] | null {
    const { sa, policy } = this;
    const id = ourId(sa, policy, PayloadV2.IDi);
    const auth = ourAuth(sa, policy, id);
    if (!auth) return null;
    const out: PayloadBodyV2[] = [id];
    if (this.initialContact) out.push(notify(NotifyV2.InitialContact));
    if (policy.credentials) out.push(certRequest(policy.credentials));
    out.push(...auth);
    if (policy.esp[0].mode === 'transport') out.push(notify(NotifyV2.UseTransportMode));
    out.push({ type: PayloadV2.SA, proposals: espOffer(policy.esp, this.spi) },
      { type: PayloadV2.TSi, selectors: [greSelector(sa.local)] }, { type: PayloadV2.TSr, selectors: [greSelector(sa.remote)] });
    return out;
  }

  process(ps: readonly PayloadV2Decoded[]): AuthResult {
    const { sa, policy } = this;
    const ns = notifiesV2(ps);
    const authFailed = ns.find((n) => n.notifyType === NotifyV2.AuthenticationFailed);
    if (authFailed) return { ok: false, error: 'peer refused our authentication (AUTHENTICATION_FAILED)' };
    const v = verify(sa, policy, ps, PayloadV2.IDr);
    if (!v.ok) return v;
    verified(sa, v);
    const err = ns.find((n) => n.notifyType < 16384);
    if (err) return { ok: true, childError: `peer refused the Child SA with notify ${err.notifyType}` };
    const saP = findV2<SaBodyV2>(ps, PayloadV2.SA), tsi = findV2<TsBodyV2>(ps, PayloadV2.TSi), tsr = findV2<TsBodyV2>(ps, PayloadV2.TSr);
    if (!saP || !tsi || !tsr) return { ok: true, childError: 'IKE_AUTH response without SA or selectors' };
    const choice = saP.proposals.length === 1 ? selectEsp(saP.proposals, policy.esp) : null;
    if (!choice) return { ok: true, childError: 'peer chose an ESP proposal we did not offer' };
    if (!answerFits(tsi.selectors, sa.local, sa.nat) || !answerFits(tsr.selectors, sa.remote, sa.nat)) return { ok: true, childError: 'peer narrowed the selectors to something other than GRE between us' };
    const transport = ns.some((n) => n.notifyType === NotifyV2.UseTransportMode);
    if (transport && policy.esp[0].mode !== 'transport') return { ok: true, childError: 'peer answered transport mode to a tunnel request' };
    const mode = transport ? 'transport' : 'tunnel';
    return { ok: true, child: childSaKeys(sa, choice.proposal, mode, this.spi, choice.peerSpi, sa.ni!, sa.nr!, true) };
  }
}

/** The responder: verifies the initiator, answers with its own AUTH and the Child SA (or the notify why not). */
export function respondAuth(sa: IkeSaV2, policy: IkeV2Policy, ps: readonly PayloadV2Decoded[]): AuthResult & { initialContact?: boolean } {
  const v = verify(sa, policy, ps, PayloadV2.IDi);
  if (!v.ok) return { ok: false, error: v.error, peerRefused: true, reply: [notify(NotifyV2.AuthenticationFailed)] };
  verified(sa, v);
  const id = ourId(sa, policy, PayloadV2.IDr);
  const auth = ourAuth(sa, policy, id);
  if (!auth) return { ok: false, error: `no pre-shared key for ${sa.remote}`, reply: [notify(NotifyV2.AuthenticationFailed)] };
  const ns = notifiesV2(ps);
  const initialContact = ns.some((n) => n.notifyType === NotifyV2.InitialContact);
  const reply: PayloadBodyV2[] = [id, ...auth];
  const saP = findV2<SaBodyV2>(ps, PayloadV2.SA), tsi = findV2<TsBodyV2>(ps, PayloadV2.TSi), tsr = findV2<TsBodyV2>(ps, PayloadV2.TSr);
  if (!saP || !tsi || !tsr) return { ok: true, reply, initialContact, childError: 'no Child SA requested' };
  const choice = selectEsp(saP.proposals, policy.esp);
  if (!choice) return { ok: true, reply: [...reply, notify(NotifyV2.NoProposalChosen)], initialContact, childError: 'no acceptable ESP proposal' };
  const i = narrow(tsi.selectors, sa.remote, sa.nat), r = narrow(tsr.selectors, sa.local, false);
  if (!i || !r) return { ok: true, reply: [...reply, notify(NotifyV2.TsUnacceptable)], initialContact, childError: 'traffic selectors do not cover GRE between us' };
  const transport = ns.some((n) => n.notifyType === NotifyV2.UseTransportMode) && choice.proposal.mode === 'transport';
  const ourSpi = newSpi();
  if (transport) reply.push(notify(NotifyV2.UseTransportMode));
  reply.push({ type: PayloadV2.SA, proposals: [espAnswer(choice, ourSpi)] }, { type: PayloadV2.TSi, selectors: [i] }, { type: PayloadV2.TSr, selectors: [r] });
  return { ok: true, reply, initialContact, child: childSaKeys(sa, choice.proposal, transport ? 'transport' : 'tunnel', ourSpi, choice.peerSpi, sa.ni!, sa.nr!, false) };
}
