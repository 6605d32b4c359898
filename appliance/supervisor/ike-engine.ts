// The IKE manager of one version as the supervisor's IKE service drives it: IkeEngine (what the
// service calls) and IkeEngineEvents (what it listens to), with a version-neutral view of an IKE SA.
// IkeV1Manager fits with quick mode as its child exchange (ikeV1Engine); IkeV2Manager with
// CREATE_CHILD_SA (ikeV2Engine in ike-engine-v2.ts).
import type { CryptoConfig } from '../config/model.js';
import { pskFor } from '../ike/config.js';
import { IkeV1Manager } from '../ike/manager/ike-v1.js';
import type { IkeSaV1 } from '../ike/sa/ike-sa-v1.js';
import type { ChildSaKeys } from '../ike/sa/child-sa.js';
import type { LogFn } from '../log/log.js';
import type { X509Certificate } from 'node:crypto';

/** What the service sees of one IKE SA, whatever the version. */
export interface IkeSaView {
  readonly local: string; readonly remote: string; readonly initiator: boolean; readonly connId: number;
  /** IOS state names (IKEv1 QM_IDLE, IKEv2 READY = established: IkeEngine.isEstablished) */
  state: string;
  localPort: number; remotePort: number; establishedAt?: number;
  readonly ispi: Uint8Array; rspi: Uint8Array;
  /** the peer's authenticated identity (IKEv1 ID payload, IKEv2 IDi/IDr: PSK ID or certificate subject) */
  peerId?: string;
  /** IKEv2 certificate authentication: the IPv4 addresses the peer's certificate names; identity-bound
   *  NHRP accepts registrations of those tunnel addresses only (supervisor/nhrp-identity.ts) */
  peerCertAddresses?: readonly string[];
  /** IKEv2 certificate authentication: the peer's certificate (asked about again: clearRefusedPeers) */
  peerCert?: X509Certificate;
  /** the negotiated policy; its lifetime in seconds bounds the SA */
  policy?: { lifetime: number };
}

/** The manager of one IKE version, as the service drives it (IkeV1Manager, IkeV2Manager). */
export interface IkeEngine<SA extends IkeSaView = IkeSaView> {
  readonly version: 1 | 2;
  readonly counters: Record<string, number>;
  readonly sas: SA[];
  /** The first Child SA is negotiated with the IKE SA (IKEv2 IKE_AUTH), not by a child exchange after it. */
  readonly childWithAuth: boolean;
  /** `sa` is authenticated and can carry child exchanges. */
  isEstablished(sa: SA): boolean;
  /** `sa` was cleared here and only waits for the answer to its Delete (IKEv2; IKEv1 drops it at once). */
  isDeleting(sa: SA): boolean;
  /** A pre-shared key for `peer` is configured (else no SA can be negotiated with it). */
  hasKeyFor(peer: string): boolean;
  /** `localPort` 4500: the datagram still carries its 4-byte non-ESP marker. */
  handleDatagram(buf: Uint8Array, address: string, port: number, localPort?: number): void;
  initiate(peer: string, port?: number): SA;
  /** New Child SA on an established SA (IKEv1 quick mode, IKEv2 CREATE_CHILD_SA); false = not now. */
  initiateChild(sa: SA): boolean;
  deleteChildren(sa: SA, inboundSpis: number[]): boolean;
  /** A liveness probe (IKEv1 R-U-THERE, IKEv2 empty INFORMATIONAL); an answer raises `alive`. */
  dpdProbe(sa: SA): boolean;
  clear(sa: SA): void;
  configure(crypto: CryptoConfig): string[];
  close(): void;
}

/** Events every engine raises (the IKEv1 manager's IkeV1Events with a version-neutral SA). */
export interface IkeEngineEvents<SA extends IkeSaView = IkeSaView> {
  established(sa: SA): void;
  failed(sa: SA, reason: string): void;
  /** The pair to install; a promise resolves once its inbound half is in the data plane (IKEv1 then
   *  sends what tells the peer it may use it: its message 3, or CONNECTED). */
  child(sa: SA, keys: ChildSaKeys): void | Promise<unknown>;
  childDeleted(sa: SA, outboundSpis: number[]): void;
  /** IKEv1 commit bit: the peer has installed the inbound SA our outbound `spi` sends to. */
  childConnected?(sa: SA, outboundSpi: number): void;
  deleted(sa: SA): void;
  alive(sa: SA): void;
  initialContact?(sa: SA): void;
  /** IKEv2 IKE SA rekey: `next` replaces `old` and carries its Child SAs (no `deleted` for `old`). */
  ikeRekeyed?(old: SA, next: SA): void;
}

export type Send = (datagram: Uint8Array, address: string, port: number, localPort: number) => void;

/** IKEv1 as an IkeEngine: quick mode is its child exchange. */
export function ikeV1Engine(crypto: CryptoConfig, local: string, send: Send, log: LogFn, events: IkeEngineEvents<IkeSaV1>): IkeEngine<IkeSaV1> {
  const m = new IkeV1Manager(crypto, local, send, log, events);
  let keys = crypto;
  const configure = m.configure.bind(m);
  return Object.assign(m, {
    version: 1 as const, childWithAuth: false,
    isEstablished: (sa: IkeSaV1) => sa.state === 'QM_IDLE',
    isDeleting: (_sa: IkeSaV1) => false,
    hasKeyFor: (peer: string) => pskFor(keys, peer) !== undefined,
    initiateChild: (sa: IkeSaV1) => m.initiateQuick(sa),
    configure: (c: CryptoConfig) => { keys = c; return configure(c); },
  }) as IkeV1Manager & IkeEngine<IkeSaV1>;
}
