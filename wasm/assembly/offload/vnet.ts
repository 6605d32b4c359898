// virtio_net_hdr (include/uapi/linux/virtio_net.h), the 10-byte header a TUN opened with IFF_VNET_HDR
// puts before every packet it reads and expects before every packet written to it. Fields are in the
// host's byte order unless TUNSETVNETBE is used (we never do): little-endian on x86_64/aarch64, like WASM.
//
//   0 flags u8 (bit0 NEEDS_CSUM)  1 gso_type u8  2 hdr_len u16  4 gso_size u16
//   6 csum_start u16  8 csum_offset u16
//
// Ring contract (docs/dataplane.md): a tunRx slot of kind 1 and a tunTx slot of kind 1 carry this
// header at the start of their data; kind 0 is a bare IPv4 packet. The tun-tx pump sets bit0 of the
// tunTx ring's `flags` word when its TUN fd has IFF_VNET_HDR: only then may the worker write kind 1.
import { scratchSize, SCRATCH_OFFLOAD_END, RING_FLAGS, RING_FLAG_VNET, VNET_HDR_LEN } from '../core/layout';
export { VNET_HDR_LEN }; // the contract's value (kind-1 TUN slots), re-exported for the offload modules

export const VNET_F_NEEDS_CSUM: u32 = 1;
export const VNET_GSO_NONE: u32 = 0;
export const VNET_GSO_TCPV4: u32 = 1;
export const VNET_GSO_ECN: u32 = 0x80;

const VNET_FLAGS: usize = 0;
const VNET_GSO_TYPE: usize = 1;
const VNET_HDR_LEN_FIELD: usize = 2;
const VNET_GSO_SIZE: usize = 4;
const VNET_CSUM_START: usize = 6;
const VNET_CSUM_OFFSET: usize = 8;

/** Offloads need their scratch region (SCRATCH_TSO_HEADER .. SCRATCH_OFFLOAD_END); off if it is smaller. */
@inline export function offloadScratchOk(): bool { return <usize>scratchSize >= SCRATCH_OFFLOAD_END; }

@inline export function vnetFlags(h: usize): u32 { return <u32>load<u8>(h, VNET_FLAGS); }
@inline export function vnetGsoType(h: usize): u32 { return <u32>load<u8>(h, VNET_GSO_TYPE); }
@inline export function vnetGsoSize(h: usize): u32 { return <u32>load<u16>(h, VNET_GSO_SIZE); }
@inline export function vnetCsumStart(h: usize): u32 { return <u32>load<u16>(h, VNET_CSUM_START); }
@inline export function vnetCsumOffset(h: usize): u32 { return <u32>load<u16>(h, VNET_CSUM_OFFSET); }

/** Writes a whole header. */
@inline export function vnetWrite(
  h: usize, flags: u32, gsoType: u32, hdrLen: u32, gsoSize: u32, csumStart: u32, csumOffset: u32,
): void {
  store<u16>(h, <u16>((flags & 0xff) | ((gsoType & 0xff) << 8)), VNET_FLAGS);
  store<u16>(h, <u16>hdrLen, VNET_HDR_LEN_FIELD);
  store<u16>(h, <u16>gsoSize, VNET_GSO_SIZE);
  store<u16>(h, <u16>csumStart, VNET_CSUM_START);
  store<u16>(h, <u16>csumOffset, VNET_CSUM_OFFSET);
}

/** A zero header: a complete packet, checksums already valid, no segmentation. */
@inline export function vnetWriteNone(h: usize): void {
  store<u64>(h, 0, VNET_FLAGS);
  store<u16>(h, 0, VNET_CSUM_OFFSET);
}

/** True when the consumer of ring `r` (a tunTx ring) accepts kind-1 slots. */
@inline export function ringTakesVnet(r: usize): bool {
  return (atomic.load<u32>(r, RING_FLAGS) & RING_FLAG_VNET) != 0;
}
