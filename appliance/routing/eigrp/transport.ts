// How the speaker reaches the wire: send an EIGRP packet out of an interface to an address (unicast or
// 224.0.0.10), and hear packets with the interface they came in on. The raw-socket transport
// (raw-socket.ts) serves plain interfaces; the mGRE tunnel will get its own (through NHRP multicast
// replication) behind the same interface.
export interface EigrpTransport {
  send(iface: string, dst: string, payload: Uint8Array): void;
  onReceive(cb: (iface: string, src: string, dst: string, payload: Uint8Array) => void): void;
  close(): void;
}

/** Where learned routes go: the kernel routing table (kernel-routes.ts) or a test double. */
export interface RouteSink {
  replace(prefix: string, len: number, nextHops: Array<{ via: string; dev: string }>, metric: number): void;
  remove(prefix: string, len: number): void;
}
