// The sockets of one IKE address: UDP 500 and the NAT-T port 4500 (RFC 3948 2.2: IKE there after a
// 4-byte zero non-ESP marker, added here on send; the managers check and strip it on receive). Each
// datagram goes to the sink `route` picks, so IKEv1 and IKEv2 can share the ports: the version byte of
// the ISAKMP header (offset 17, after the marker on 4500) says which manager it is for.
import dgram from 'node:dgram';
import type { LogFn } from '../../log/log.js';

export const NAT_T = 4500;
const MARKER = new Uint8Array(4);

export interface DatagramSink { handleDatagram(buf: Uint8Array, address: string, port: number, localPort: number): void }
export type SendFn = (datagram: Uint8Array, address: string, port: number, localPort: number) => void;

/** The IKE major version of a datagram (1 or 2), or 0 when it carries none (ESP-in-UDP, runts). */
export function ikeVersion(buf: Uint8Array, localPort: number): number {
  const at = localPort === NAT_T ? 4 + 17 : 17;
  if (localPort === NAT_T && (buf.length < 4 || buf[0] | buf[1] | buf[2] | buf[3])) return 0;
  return buf.length > at ? buf[at] >> 4 : 0;
}

function bound(sock: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, address, () => { sock.off('error', reject); resolve(); });
  });
}

export interface IkeSockets { send: SendFn; port: number; close(): Promise<void> }

/** `port`: the IKE port (500; tests may pass 0); `natTPort`: 4500, or null for no NAT-T socket. */
export async function openIkeSockets(local: string, route: (buf: Uint8Array, localPort: number) => DatagramSink | undefined,
  opts: { port?: number; natTPort?: number | null; log?: LogFn } = {}): Promise<IkeSockets> {
  const ike = dgram.createSocket({ type: 'udp4' });
  const natT = opts.natTPort === null ? undefined : dgram.createSocket({ type: 'udp4' });
  const deliver = (localPort: number) => (msg: Buffer, r: dgram.RemoteInfo) => {
    const buf = new Uint8Array(msg);
    route(buf, localPort)?.handleDatagram(buf, r.address, r.port, localPort);
  };
  ike.on('message', deliver(500));
  natT?.on('message', deliver(NAT_T));
  for (const s of [ike, natT]) s?.on('error', (e) => opts.log?.('error', `IKE: socket error: ${e.message}`));
  await bound(ike, opts.port ?? 500, local);
  if (natT) await bound(natT, opts.natTPort ?? NAT_T, local);
  return {
    send: (d, address, port, localPort) => {
      if (localPort === NAT_T && natT) natT.send(Buffer.concat([MARKER, d]), port, address);
      else ike.send(d, port, address);
    },
    port: ike.address().port,
    close: () => Promise.all([ike, natT].map((s) => s && new Promise<void>((r) => s.close(() => r())))).then(() => {}),
  };
}
