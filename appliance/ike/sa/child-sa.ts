// What quick mode produces for the data plane: one ESP SA per direction, keyed per RFC 2409 5.5. This is
// the hand-off point to the WASM SA table (the supervisor installs `inbound` for spiIn and `outbound`
// for spiOut); nothing here logs or prints the keys.
import { encKeymatLen, type Phase2Proposal } from '../config.js';

export interface EspKeys {
  spi: number; // host order
  /** the cipher key; for an AEAD the key followed by its 4-byte salt (RFC 4106 8.1, RFC 7634 2), as the data plane takes it */
  encKey: Uint8Array;
  /** the HMAC key; empty for an AEAD */
  authKey: Uint8Array;
}

export interface ChildSaKeys {
  local: string;
  remote: string;
  /** The traffic selectors both ends agreed: GRE (IP protocol 47) between the IKE peers. */
  protocol: number;
  mode: 'tunnel' | 'transport';
  cipher: 'des-cbc' | '3des-cbc' | 'aes-cbc' | 'aes-gcm-16' | 'chacha20-poly1305';
  /** bits of cipher key, salt excluded */
  keyBits: number;
  /** 'none' with an AEAD cipher (it authenticates by itself, 16-byte ICV) */
  integrity: 'hmac-md5-96' | 'hmac-sha1-96' | 'hmac-sha256-128' | 'none';
  lifetime: number; // seconds
  /** the byte limit both ends agreed in quick mode (IKEv1 `lifetime kilobytes`), if any */
  lifetimeKilobytes?: number;
  pfsGroup?: number;
  /** ESP in UDP (RFC 3948) between these ports when a NAT is between the peers. */
  udpEncap?: { localPort: number; remotePort: number };
  /** The quick mode responder set the commit bit (RFC 2408 3.1): it sends CONNECTED once its inbound
   * SA is installed, and the initiator sends on the new SA only after that (or a bounded fallback). */
  peerCommits?: boolean;
  inbound: EspKeys; // the SPI we chose; the peer sends with it
  outbound: EspKeys; // the SPI the peer chose; we send with it
}

export function integrityName(p: Phase2Proposal): ChildSaKeys['integrity'] {
  if (!p.auth) return 'none';
  return p.auth.hash === 'md5' ? 'hmac-md5-96' : p.auth.hash === 'sha256' ? 'hmac-sha256-128' : 'hmac-sha1-96';
}

export function cipherName(p: Phase2Proposal): ChildSaKeys['cipher'] {
  const n = p.cipher.name;
  return n === 'des' ? 'des-cbc' : n === '3des' ? '3des-cbc' : n;
}

/** One direction's KEYMAT split into the cipher key (with an AEAD's salt) and the HMAC key. */
export function splitKeymat(p: Phase2Proposal, km: Uint8Array): { encKey: Uint8Array; authKey: Uint8Array } {
  const n = encKeymatLen(p.cipher);
  return { encKey: km.slice(0, n), authKey: km.slice(n, n + (p.auth?.keyLen ?? 0)) };
}

/** KEYMAT bytes one direction takes (RFC 2409 5.5, RFC 7296 2.17): encryption (+ salt) then integrity. */
export const keymatLen = (p: Phase2Proposal) => encKeymatLen(p.cipher) + (p.auth?.keyLen ?? 0);
