// Error Indication (RFC 2332 5.2.7): building one about a packet we cannot process, and reading the
// packet in error out of one we receive so the request it refers to can be failed at once.
import { bytesToIpv4 } from '../net/ipv4.js';
import type { NhrpContext } from './context.js';
import { ORIGIN_HOP_COUNT } from './context.js';
import {
  EXT_COMPULSORY, EXT_HEADER_LEN, EXT_TYPE_MASK, ErrorCode, NhrpExtType, NhrpType,
} from './types.js';
import type { NhrpMessage } from './types.js';

/** Extension types we implement; any other with the compulsory bit makes the packet unprocessable. */
const KNOWN_EXTENSIONS: ReadonlySet<number> = new Set([
  NhrpExtType.End, NhrpExtType.ResponderAddress, NhrpExtType.ForwardTransitNhs, NhrpExtType.ReverseTransitNhs,
  NhrpExtType.Authentication, NhrpExtType.VendorPrivate, NhrpExtType.NatAddress,
]);

export const ERROR_NAMES: Record<number, string> = {
  [ErrorCode.UnrecognizedExtension]: 'unrecognized extension',
  [ErrorCode.LoopDetected]: 'loop detected',
  [ErrorCode.ProtocolAddressUnreachable]: 'protocol address unreachable',
  [ErrorCode.ProtocolError]: 'protocol error',
  [ErrorCode.SduSizeExceeded]: 'SDU size exceeded',
  [ErrorCode.InvalidExtension]: 'invalid extension',
  [ErrorCode.InvalidResolutionReply]: 'invalid resolution reply',
  [ErrorCode.AuthenticationFailure]: 'authentication failure',
  [ErrorCode.HopCountExceeded]: 'hop count exceeded',
};
export const errorName = (code: number | undefined): string => ERROR_NAMES[code ?? -1] ?? `code ${code}`;

/**
 * First compulsory extension we do not know, with its byte offset in the packet (RFC 2332 5.3: the
 * Error Offset points at the offending extension). Walks the raw bytes because the decoded message
 * does not keep offsets; the decoder already validated the lengths.
 */
export function unknownCompulsory(bytes: Uint8Array): { type: number; offset: number } | undefined {
  const pktsz = (bytes[10] << 8) | bytes[11];
  let off = (bytes[14] << 8) | bytes[15];
  if (!off) return undefined;
  while (off + EXT_HEADER_LEN <= pktsz) {
    const t = (bytes[off] << 8) | bytes[off + 1];
    const type = t & EXT_TYPE_MASK;
    if (type === NhrpExtType.End) return undefined;
    if ((t & EXT_COMPULSORY) && !KNOWN_EXTENSIONS.has(type)) return { type, offset: off };
    off += EXT_HEADER_LEN + ((bytes[off + 2] << 8) | bytes[off + 3]);
  }
  return undefined;
}

/** The Error Indication about `offending` (whole packet as received); it goes to the packet's source. */
export function buildErrorIndication(ctx: NhrpContext, code: number, offending: Uint8Array,
  offendingSrcProto: string, offset = 0): NhrpMessage {
  return {
    type: NhrpType.ErrorIndication, hopCount: ORIGIN_HOP_COUNT,
    srcNbma: ctx.selfNbma, srcProto: ctx.selfIp, dstProto: offendingSrcProto,
    flags: 0, requestId: 0, cies: [], errorCode: code, errorOffset: offset,
    payload: offending,
    // RFC 2332 5.2.7: an Error Indication carries no extensions (Wireshark flags any), so not even
    // authentication; receivers accept it unauthenticated but act only on a request id of theirs.
    extensions: [],
  };
}

/** Header fields of the packet in error, read leniently: it may be truncated by the sender. */
export function packetInError(payload: Uint8Array | undefined):
  { type: number; requestId: number; srcProto: string; dstProto: string } | undefined {
  if (!payload || payload.length < 40 || payload[18] !== 4 || payload[20] !== 4 || payload[21] !== 4) return undefined;
  const sub = payload[19] & 0x3f;
  const p = 32 + sub;
  if (payload.length < p + 8) return undefined;
  const requestId = ((payload[24] << 24) | (payload[25] << 16) | (payload[26] << 8) | payload[27]) >>> 0;
  return { type: payload[17], requestId, srcProto: bytesToIpv4(payload, p), dstProto: bytesToIpv4(payload, p + 4) };
}
