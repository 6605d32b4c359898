// How the speaker reaches the wire: send an EIGRP packet out of an interface to an address (unicast or
// 224.0.0.10), and hear packets with the interface they came in on. The raw-socket transport
// (raw-socket.ts, a protocol-88 socket in the native addon) serves every OS interface, the tunnel's TUN
// included (the data plane replicates 224.0.0.10 to the `ip nhrp map multicast` destinations).
export interface EigrpTransport {
  send(iface: string, dst: string, payload: Uint8Array): void;
  onReceive(cb: (iface: string, src: string, dst: string, payload: Uint8Array) => void): void;
  close(): void;
}

/** Where learned routes go: the kernel routing table (kernel-routes.ts) or a test double. `metric`: the
 *  composite metric; `external`: a D EX route (redistributed by its origin), at the external distance. */
export interface RouteSink {
  replace(prefix: string, len: number, nextHops: Array<{ via: string; dev: string }>, metric: number, external?: boolean): void;
  remove(prefix: string, len: number): void;
}
