// One IKEv1 SA (ISAKMP SA) and what its exchanges share: cookies, role, peer addresses, the chosen
// policy, the phase-1 keys and the message crypter. States are IOS's names, so `show crypto isakmp sa`
// can print them as they are.
import type { Phase1Policy } from '../config.js';
import { encodeMessageV1, type IsakmpHeader } from '../encoding/message-v1.js';
import type { PayloadBodyV1, PayloadV1Decoded } from '../encoding/payloads-v1.js';
import type { Phase1Keys } from '../keymat/ikev1.js';
import type { CrypterV1 } from './crypt-v1.js';

export type IsakmpState = 'MM_NO_STATE' | 'MM_SA_SETUP' | 'MM_KEY_EXCH' | 'MM_KEY_AUTH' | 'QM_IDLE' | 'MM_NO_STATE_DELETED';

/** A message for this SA after header checks, decryption and chain decoding. */
export interface InboundV1 {
  header: IsakmpHeader;
  payloads: PayloadV1Decoded[];
  /** Advances the IV chain past this message; call only once the message is verified. */
  commitIv(): void;
}

export class IkeSaV1 {
  state: IsakmpState = 'MM_NO_STATE';
  policy?: Phase1Policy;
  keys?: Phase1Keys;
  crypter?: CrypterV1;
  establishedAt?: number;
  /** The peer's identity as it authenticated it (ID payload), once main mode is done. */
  peerId?: string;
  /** Both ends announced RFC 3947 NAT traversal. */
  natT = false;
  /** A NAT between us (NAT-D hashes differ): messages from 5 on and ESP go over UDP 4500. */
  natDetected = false;
  /** Our port towards the peer: 500, or 4500 once floated. */
  localPort = 500;
  /** The peer's port as we last heard it (a NAT may change it). */
  remotePort = 500;

  constructor(readonly initiator: boolean, readonly local: string, readonly remote: string,
    readonly ispi: Uint8Array, public rspi: Uint8Array, readonly connId: number) {}

  /** Builds a message of this SA; `encrypt` uses the phase-1 crypter (which must exist by then). */
  message(exchange: number, messageId: number, payloads: readonly PayloadBodyV1[], encrypt: boolean, flags = 0): Uint8Array {
    if (encrypt && !this.crypter) throw new Error('no keys yet');
    const crypter = this.crypter;
    return encodeMessageV1({ ispi: this.ispi, rspi: this.rspi, exchange, messageId, payloads, flags },
      encrypt && crypter ? (plain) => crypter.encrypt(messageId, plain) : undefined);
  }
}
