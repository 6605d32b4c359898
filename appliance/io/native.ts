// Typed loader of the C I/O addon (appliance/native/, built by `make native`). The addon moves packets
// between file descriptors and the rings of the shared WebAssembly.Memory; docs/dataplane.md is the
// contract. Works from the TypeScript sources (appliance/io/) and from a bundle in dist/, and in
// worker_threads (the addon is context-aware).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NATIVE_REL_PATH = 'appliance/native/build/Release/dmvpn_io.node';

export type PumpKind = 'tun-rx' | 'tun-tx' | 'raw-rx' | 'raw-tx' | 'udp-rx' | 'udp-tx';

export interface PumpOptions {
  /** View over the whole shared WebAssembly.Memory buffer (new Uint8Array(memory.buffer)). */
  memory: Uint8Array;
  kind: PumpKind;
  fd: number;
  /** Byte offset of the ring header (from computeLayout). */
  ring: number;
  /** Packets per read/recvmmsg/sendmmsg batch (1..1024, default 64). */
  batch?: number;
  /** raw-rx only: the kind stamped on slots (47 or 50); default: the socket's protocol. */
  rawProtocol?: number;
  /**
   * raw-rx/udp-rx only: receive coalescing in microseconds (0..10000, default 0 = off): once the socket
   * queue ran dry, wait this long after it becomes readable so one batch takes a burst (fewer wake-ups,
   * longer GRO super-packets) at that much added latency.
   */
  coalesceUs?: number;
  /**
   * udp-rx only: non-ESP datagrams (behind the 4-byte zero marker: IKE, which goes on to JS) admitted
   * per second (0..1000000, default 0 = unlimited); over the limit they are dropped in the pump and
   * counted in `controlDropped`. NAT-keepalives and ESP are never limited here.
   */
  controlRate?: number;
  /** udp-rx only: burst of the control rate limit (1..1000000, default 1). */
  controlBurst?: number;
}

export interface PumpStats {
  packets: number;
  bytes: number;
  batches: number;
  /** read/write/send/recv failures and malformed slots (bad len, non-IPv4 on raw-tx). */
  errors: number;
  /** packets not delivered: malformed or oversized slots, failed writes, truncated receives. */
  drops: number;
  /** times a producer pump found its ring full and slept on the producer doorbell (no drop). */
  fullWaits: number;
  /** total time spent waiting on a full ring, ms. */
  fullMs: number;
  /** udp-rx: non-ESP (control) datagrams admitted by the rate limit / dropped over it. */
  controlPassed: number;
  controlDropped: number;
  /** socket rx pumps: datagrams the kernel dropped because the socket's receive buffer was full (SO_RXQ_OVFL). */
  kernelDrops: number;
  /** udp-tx: sends with UDP_SEGMENT (GSO) and the datagrams they carried; GSO sends the kernel refused (resent one by one). */
  gsoSends: number;
  gsoSegments: number;
  gsoFallbacks: number;
  /** udp-rx: GRO super-datagrams received and the datagrams split from them. */
  groSupers: number;
  groSegments: number;
  /** udp pumps: 1 GSO/GRO in use, 0 off (DMVPN_UDP_OFFLOAD=off, or not a UDP pump), 2 refused by the kernel or no memory for it. */
  udpOffload: number;
}

export interface InterfaceConfig { address?: string; prefixLen?: number; mtu?: number; up?: boolean }

/** What a netlink socket's C side delivered and dropped. */
export interface NetlinkStats {
  received: number;
  /** datagrams from a sender other than the kernel (another process unicasting to our port): dropped */
  foreign: number;
  /** datagrams larger than the receive buffer: dropped */
  truncated: number;
  /** ENOBUFS: the kernel dropped notifications (the table re-dumps) */
  overruns: number;
  errors: number;
  /** the socket's netlink port id */
  portId?: number;
}

/** A raw IPv4 socket of one protocol joined to a multicast group on each of its interfaces (mcastRawOpen). */
export interface McastRawOptions {
  /** IP protocol number (88 for EIGRP) */
  protocol: number;
  /** the group joined on every interface (224.0.0.10 for EIGRP) */
  group: string;
  /** OS interface names: joined by index, the only ones sent on and heard from */
  interfaces: string[];
  /** TTL of multicast and unicast alike (default 1) */
  ttl?: number;
  /** IP TOS byte (0xc0: precedence internetwork control) */
  tos?: number;
}

/** What a multicast raw socket sent, delivered and dropped. */
export interface McastRawStats {
  received: number;
  sent: number;
  /** packets that came in on an interface the socket did not join: dropped */
  foreign: number;
  /** larger than the receive buffer: dropped */
  truncated: number;
  /** not an IPv4 header: dropped */
  malformed: number;
  receiveErrors: number;
  sendErrors: number;
  /** the socket's fd, -1 once it stopped */
  fd: number;
  /** why the socket stopped (its 'failed' event), if it did */
  failure?: string;
}

export type McastRawEvent =
  | [event: 'packet', iface: string, src: string, dst: string, payload: Buffer]
  | [event: 'failed', why: string];

export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

/** Errors thrown by the addon carry a stable code: an errno name ('EBUSY', 'EPERM', 'ENODEV', ...) or 'ENOTUN'. */
export interface NativeError extends Error { code: string }

export interface NativeIo {
  /** TUN device with IFF_TUN|IFF_NO_PI (+IFF_VNET_HDR / IFF_MULTI_QUEUE); returns a nonblocking fd. */
  openTun(name: string, opts?: { vnetHdr?: boolean; multiQueue?: boolean }): number;
  /** TUNSETCARRIER on a TUN fd: carrier off marks the routes through it linkdown (if-state nhrp). */
  tunSetCarrier(fd: number, on: boolean): void;
  /** Sets address/netmask/MTU/up through ioctls. prefixLen needs address. */
  configureInterface(name: string, conf: InterfaceConfig): void;
  /** Raw IPv4 socket for `protocol` with IP_HDRINCL; received packets include the IPv4 header. */
  openRawIp(protocol: number, bindAddress?: string): number;
  /**
   * Socket filter on a raw GRE socket: it then receives only NHRP (GRE 0x2001; `nhrp` true) or only
   * everything else, each in its own kernel receive queue (docs/dataplane.md "The control lane").
   */
  greLane(fd: number, nhrp: boolean): void;
  /** Nonblocking UDP socket with SO_REUSEADDR (and SO_REUSEPORT if asked) bound to bindAddress:port. */
  openUdp(bindAddress: string, port: number, opts?: { reusePort?: boolean }): number;
  /**
   * Program of the SO_REUSEPORT group of `fd` (UDP 4500): IKE (the non-ESP marker) goes to the group's
   * second socket, ESP and NAT-keepalives to its first (docs/dataplane.md "The control lane").
   */
  ikeLane(fd: number): void;
  /**
   * The raw GRE (47) or ESP (50) socket `fd` of data-plane worker `worker` of `workers` takes only that
   * worker's flows: GRE by the inner addresses (NHRP only if `takeNhrp`), ESP by SPI (native/nbma-spread.c).
   */
  nbmaSpread(fd: number, protocol: 47 | 50, worker: number, workers: number, takeNhrp: boolean): void;
  /**
   * Program of the SO_REUSEPORT group of `fd` (UDP 4500) with `workers` data-plane workers, bound in the
   * order worker 0, the IKE lane (if `ikeLane`), workers 1..N-1: ESP goes to its worker's socket by SPI
   * (as nbmaSpread's raw ESP), IKE to the lane (or worker 0), NAT-keepalives to worker 0. Replaces ikeLane's.
   */
  udpSpread(fd: number, workers: number, ikeLane: boolean): void;
  /** the multi-queue TUN of `fd` picks each outbound packet's queue by its flow hash (tun-steering.c) */
  tunSteer(fd: number): void;
  closeFd(fd: number): void;
  /** Starts one pump thread; returns its id. */
  startPump(opts: PumpOptions): number;
  /** Stops and joins the pump; returns its final stats. */
  stopPump(pumpId: number): PumpStats;
  pumpStats(pumpId: number): PumpStats;
  /** "Ring" half of the doorbell protocol: seq += 1, futex-wake if the consumer sleeps. */
  wake(memory: Uint8Array, doorbellOffset: number): void;
  /** Blocking futex wait on the doorbell's seq while it equals `seq` (worker threads only). The caller
   *  does the rest of the sleep protocol (set sleeping=1, re-check its rings, clear sleeping after). */
  wait(memory: Uint8Array, doorbellOffset: number, seq: number, timeoutMs?: number): WaitResult;
  /** Calls `callback` on this thread whenever the doorbell rings (coalesced: at most one pending call).
   *  Does not keep the process alive. */
  watch(memory: Uint8Array, doorbellOffset: number, callback: () => void): number;
  unwatch(watchId: number): void;
  /** NETLINK_ROUTE socket of this network namespace in the multicast `groups` (RTMGRP_* mask, 0 = requests
   *  only), watched by the event loop: `callback('message', datagram)` per datagram from the kernel (other
   *  senders and truncated datagrams are dropped, counted in netlinkStats), `callback('overrun')` when the
   *  kernel dropped notifications (ENOBUFS): the caller must dump again. Does not keep the process alive. */
  netlinkOpen(groups: number, callback: (event: 'message' | 'overrun', datagram?: Buffer) => void): number;
  /** One datagram of netlink messages (built by appliance/net/netlink-codec.ts) to the kernel. */
  netlinkSend(id: number, bytes: Uint8Array): void;
  netlinkClose(id: number): void;
  netlinkStats(id: number): NetlinkStats;
  /** Raw IPv4 socket (kernel-built header, nonblocking, close-on-exec) joined to `group` on each interface,
   *  our own multicasts not looped back, watched by the event loop: `callback('packet', iface, src, dst,
   *  payload)` per packet (IP header stripped) that came in on one of the interfaces, `callback('failed',
   *  why)` once if receiving broke for good (the socket is then stopped). Does not keep the process alive. */
  mcastRawOpen(options: McastRawOptions, callback: (...event: McastRawEvent) => void): number;
  /** One datagram out of `iface` (one of the socket's) to `dst`, unicast or multicast. Throws (code = errno
   *  name) when the kernel refuses it. */
  mcastRawSend(id: number, iface: string, dst: string, payload: Uint8Array): void;
  mcastRawClose(id: number): void;
  mcastRawStats(id: number): McastRawStats;
  /** Mirrors every packet of raw/udp pumps to a pcap file (LINKTYPE_RAW) until pcapClose(). */
  pcapOpen(path: string): void;
  pcapClose(): void;
}

/** Directory above `from` that contains the built addon (source tree, or the repo holding dist/). */
export function findNativePath(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const candidate = join(dir, NATIVE_REL_PATH);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw Object.assign(new Error(`${NATIVE_REL_PATH} not found above ${from} — run \`make native\``), { code: 'ENOENT' });
}

let cached: NativeIo | undefined;

/** Loads the addon once per thread (each worker gets its own module instance). */
export function loadNative(path?: string): NativeIo {
  if (cached && !path) return cached;
  const file = path ?? findNativePath();
  const mod = createRequire(import.meta.url)(file) as NativeIo;
  if (!path) cached = mod;
  return mod;
}
