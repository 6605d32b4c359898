// One IKEv2 SA: its SPIs, role, addresses and ports (floated to 4500 after NAT detection), the suite
// and keys once IKE_SA_INIT completed, the nonces and first messages AUTH covers, and the two
// message-ID counters of RFC 7296 2.3 (window size 1 each way).
import type { IkeSuite } from '../config-v2.js';
import type { IkeKeys } from '../keymat/ikev2.js';
import type { SkKeys } from '../encoding/message-v2.js';
import { suiteOf } from '../config-v2.js';
import type { X509Certificate } from 'node:crypto';

/** States as IOS `show crypto ikev2 sa` names them (IN-NEG while negotiating, READY once authenticated). */
export type IkeV2State = 'IN-NEG' | 'READY' | 'DELETED';

export class IkeSaV2 {
  state: IkeV2State = 'IN-NEG';
  localPort = 500;
  remotePort = 500;
  suite?: IkeSuite;
  keys?: IkeKeys;
  ni?: Uint8Array;
  nr?: Uint8Array;
  /** Our IKE_SA_INIT message and the peer's, as sent: AUTH signs them (RFC 7296 2.15). */
  ourInit?: Uint8Array;
  peerInit?: Uint8Array;
  /** NAT detected (RFC 7296 2.23): we behind one, or the peer. Either makes both ends use 4500 and ESP in UDP. */
  natLocal = false;
  natRemote = false;
  peerId?: string;
  /** With certificate authentication: the IPv4 addresses the peer's certificate names (SAN iPAddress). */
  peerCertAddresses?: string[];
  /** With certificate authentication: the peer's verified certificate (a PeerCertCheck may be asked
   *  about it again while the SA lives: a device unenrolled on the hub is cut off at once) */
  peerCert?: X509Certificate;
  /** the key type the peer signed with (certificate authentication): 'ec' | 'rsa' | 'ed25519' */
  peerKeyType?: string;
  /** The next message ID of a request we send, and of the request we expect from the peer. */
  nextRequestId = 0;
  nextPeerRequestId = 0;
  establishedAt?: number;
  /** When this SA replaced another in an IKE SA rekey: the old SA's SPIs (for logs and show). */
  rekeyedFrom?: string;

  constructor(readonly initiator: boolean, readonly local: string, readonly remote: string, readonly ispi: Uint8Array,
    public rspi: Uint8Array, readonly connId: number) {}

  get nat(): boolean { return this.natLocal || this.natRemote; }

  /** Keys for what we send and what we receive (the initiator sends with SK_ei/SK_ai). */
  get outKeys(): SkKeys | undefined { return this.sk(this.initiator); }
  get inKeys(): SkKeys | undefined { return this.sk(!this.initiator); }

  private sk(fromInitiator: boolean): SkKeys | undefined {
    if (!this.keys || !this.suite) return undefined;
    const suite = suiteOf(this.suite);
    return fromInitiator ? { suite, encKey: this.keys.skEi, integKey: this.keys.skAi } : { suite, encKey: this.keys.skEr, integKey: this.keys.skAr };
  }

  get name(): string { return `${Buffer.from(this.ispi).toString('hex')}_i ${Buffer.from(this.rspi).toString('hex')}_r`; }
}
