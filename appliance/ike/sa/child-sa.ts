// What quick mode produces for the data plane: one ESP SA per direction, keyed per RFC 2409 5.5. This is
// the hand-off point to the WASM SA table (the supervisor installs `inbound` for spiIn and `outbound`
// for spiOut); nothing here logs or prints the keys.
import type { Phase2Proposal } from '../config.js';

export interface EspKeys {
  spi: number; // host order
  encKey: Uint8Array;
  authKey: Uint8Array;
}

export interface ChildSaKeys {
  local: string;
  remote: string;
  /** The traffic selectors both ends agreed: GRE (IP protocol 47) between the IKE peers. */
  protocol: number;
  mode: 'tunnel' | 'transport';
  cipher: 'des-cbc' | '3des-cbc' | 'aes-cbc';
  keyBits: number;
  integrity: 'hmac-md5-96' | 'hmac-sha1-96' | 'hmac-sha256-128';
  lifetime: number; // seconds
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
  return p.auth.hash === 'md5' ? 'hmac-md5-96' : p.auth.hash === 'sha256' ? 'hmac-sha256-128' : 'hmac-sha1-96';
}

export function cipherName(p: Phase2Proposal): ChildSaKeys['cipher'] {
  return p.cipher.name === 'des' ? 'des-cbc' : p.cipher.name === '3des' ? '3des-cbc' : 'aes-cbc';
}
