// What IKE_AUTH and CREATE_CHILD_SA share for a Child SA (RFC 7296 2.9, 2.17): GRE traffic selectors
// between the IKE peers, the responder's narrowing of the initiator's selectors to exactly those, SPI
// allocation, and the ESP keys in the hand-off type the data plane installs (sa/child-sa.ts).
import { randomBytes } from 'node:crypto';
import { encKeymatLen, type Phase2Proposal } from '../../config.js';
import { TS_IPV4_ADDR_RANGE } from '../../encoding/constants-v2.js';
import type { TrafficSelector } from '../../encoding/payloads-v2.js';
import { childKeys } from '../../keymat/ikev2.js';
import { cipherName, integrityName, type ChildSaKeys } from '../../sa/child-sa.js';
import type { IkeSaV2 } from '../../sa/ike-sa-v2.js';
import { ipv4Bytes } from '../../../net/ipv4.js';

export const GRE = 47;

export function greSelector(address: string): TrafficSelector {
  const a = ipv4Bytes(address) ?? new Uint8Array(4);
  return { type: TS_IPV4_ADDR_RANGE, protocol: GRE, startPort: 0, endPort: 0xffff, start: a, end: a };
}

const u32 = (b: Uint8Array) => ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];

function covers(s: TrafficSelector, address: Uint8Array): boolean {
  if (s.type !== TS_IPV4_ADDR_RANGE || (s.protocol !== 0 && s.protocol !== GRE)) return false;
  if (s.startPort > 0 || s.endPort < 0xffff) return false; // GRE has no ports: a port range cannot mean it
  const a = u32(address);
  return u32(s.start) <= a && a <= u32(s.end);
}

/**
 * The single selector we agree to for one side: `address`/32, GRE, when the peer's list covers it. Behind
 * a NAT the initiator names its private address, which we then take as it is when it is one address.
 */
export function narrow(peer: readonly TrafficSelector[], address: string, natted: boolean): TrafficSelector | null {
  const a = ipv4Bytes(address);
  if (a && peer.some((s) => covers(s, a))) return greSelector(address);
  if (natted) {
    const single = peer.find((s) => covers(s, s.start) && u32(s.start) === u32(s.end));
    if (single) return { ...single, protocol: GRE, startPort: 0, endPort: 0xffff };
  }
  return null;
}

/** The answer must be what we offered or narrower, and name GRE. */
export const answerFits = (answer: readonly TrafficSelector[], address: string, natted: boolean) =>
  answer.length === 1 && (natted || narrow(answer, address, false) !== null) && (answer[0].protocol === GRE);

/** A random inbound SPI: never 0-255 (reserved, RFC 4303 2.1). */
export function newSpi(): Uint8Array {
  for (;;) { const b = new Uint8Array(randomBytes(4)); if (u32(b) > 255) return b; }
}

export const spiNumber = u32;

/**
 * ESP keys for a Child SA negotiated on `sa`. `weInitiated`: we sent the request of this exchange (its
 * initiator's traffic is keyed first, 2.17). `gir`: the new shared secret when PFS was used.
 */
export function childSaKeys(sa: IkeSaV2, p: Phase2Proposal, mode: 'tunnel' | 'transport', ourSpi: Uint8Array, peerSpi: Uint8Array,
  ni: Uint8Array, nr: Uint8Array, weInitiated: boolean, gir?: Uint8Array, pfsGroup?: number): ChildSaKeys {
  const k = childKeys(sa.suite!.prf.prf, sa.keys!.skD, ni, nr, encKeymatLen(p.cipher), p.auth?.keyLen ?? 0, gir);
  const mine = weInitiated ? { enc: k.encI, auth: k.integI } : { enc: k.encR, auth: k.integR };
  const theirs = weInitiated ? { enc: k.encR, auth: k.integR } : { enc: k.encI, auth: k.integI };
  return {
    local: sa.local, remote: sa.remote, protocol: GRE, mode,
    cipher: cipherName(p), keyBits: p.cipher.keyLen * 8, integrity: integrityName(p), lifetime: p.lifetime, pfsGroup,
    udpEncap: sa.nat ? { localPort: sa.localPort, remotePort: sa.remotePort } : undefined,
    outbound: { spi: u32(peerSpi), encKey: mine.enc, authKey: mine.auth },
    inbound: { spi: u32(ourSpi), encKey: theirs.enc, authKey: theirs.auth },
  };
}
