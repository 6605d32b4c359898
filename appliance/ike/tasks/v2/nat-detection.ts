// NAT detection (RFC 7296 2.23): NAT_DETECTION_SOURCE_IP / _DESTINATION_IP carry
// SHA-1(SPIi | SPIr | IP address | port). A source hash that matches no address the packet came from
// means the sender is behind a NAT; a destination hash that is not ours means we are.
import { createHash } from 'node:crypto';
import { NotifyV2 } from '../../encoding/constants-v2.js';
import { notify, type NotifyBodyV2 } from '../../encoding/payloads-v2.js';
import { ipv4Bytes } from '../../../net/ipv4.js';
import { constantTimeEqual } from '../../crypto/compare.js';

export function natHash(ispi: Uint8Array, rspi: Uint8Array, address: string, port: number): Uint8Array {
  const a = ipv4Bytes(address) ?? new Uint8Array(4);
  return new Uint8Array(createHash('sha1').update(ispi).update(rspi).update(a).update(Buffer.from([port >> 8, port & 0xff])).digest());
}

export function natNotifies(ispi: Uint8Array, rspi: Uint8Array, src: string, srcPort: number, dst: string, dstPort: number): NotifyBodyV2[] {
  return [notify(NotifyV2.NatDetectionSourceIp, natHash(ispi, rspi, src, srcPort)), notify(NotifyV2.NatDetectionDestinationIp, natHash(ispi, rspi, dst, dstPort))];
}

/** What the peer's NAT-D notifies say; undefined fields when it sent none (no NAT-T support). */
export function natCheck(ns: readonly NotifyBodyV2[], ispi: Uint8Array, rspi: Uint8Array, from: string, fromPort: number, to: string, toPort: number) {
  const src = ns.filter((n) => n.notifyType === NotifyV2.NatDetectionSourceIp);
  const dst = ns.filter((n) => n.notifyType === NotifyV2.NatDetectionDestinationIp);
  if (!src.length || !dst.length) return { supported: false, natRemote: false, natLocal: false };
  const want = natHash(ispi, rspi, from, fromPort), mine = natHash(ispi, rspi, to, toPort);
  return {
    supported: true,
    natRemote: !src.some((n) => constantTimeEqual(n.data, want)),
    natLocal: !dst.some((n) => constantTimeEqual(n.data, mine)),
  };
}
