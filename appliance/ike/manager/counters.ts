// What the IKE endpoint counts. Every dropped datagram lands in exactly one drop counter, so a test (or
// `show crypto isakmp` later) can tell a malformed packet from an unknown SA or a failed check.
export interface IkeCounters {
  rxDatagrams: number;
  txDatagrams: number;
  malformed: number; // header or payload chain undecodable, bad padding/blocks
  unknownSa: number; // cookies of no SA we hold, and not a new main mode
  rejected: number; // decodable but refused by a task (bad hash, no proposal, wrong state...)
  retransmitted: number; // our messages sent again (timer or duplicate request)
  established: number; // IKE SAs that completed main mode
  internalErrors: number; // a bug caught at the socket boundary instead of crashing the supervisor
  childSas: number; // quick mode exchanges that produced keys
  informational: number; // authenticated informational messages acted on (delete, notify, DPD)
  evicted: number; // half-open SAs (message 1 only) forgotten to make room for a new one
}

export const zeroCounters = (): IkeCounters => ({
  rxDatagrams: 0, txDatagrams: 0, malformed: 0, unknownSa: 0, rejected: 0, retransmitted: 0,
  established: 0, internalErrors: 0, childSas: 0, informational: 0, evicted: 0,
});
