// What the IKEv2 endpoint counts on top of the IKEv1 counters (same meaning for those): every dropped
// datagram still lands in exactly one of malformed, unknownSa, rejected.
import { zeroCounters, type IkeCounters } from './counters.js';

export interface IkeV2Counters extends IkeCounters {
  cookiesSent: number; // IKE_SA_INIT answered with N(COOKIE) instead of state
  halfOpenRefused: number; // IKE_SA_INIT dropped at the hard half-open limit
  oldMessageIds: number; // requests or responses outside the window (replays, late duplicates)
  fragmentsIn: number; // SKF fragments accepted (RFC 7383)
  rekeys: number; // Child and IKE SAs rekeyed
  liveness: number; // liveness checks (empty INFORMATIONAL) we sent
  peerAuthRefused: number; // the peer's AUTH or certificate refused (wrong key, untrusted CA, expired, identity not in the certificate)
}

export const zeroV2Counters = (): IkeV2Counters => ({ ...zeroCounters(), cookiesSent: 0, halfOpenRefused: 0, oldMessageIds: 0, fragmentsIn: 0, rekeys: 0, liveness: 0, peerAuthRefused: 0 });
