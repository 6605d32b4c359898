// The UDP shell around the IKEv2 manager, like udp.ts for IKEv1: sockets on UDP 500 and 4500 of the IKE
// address, the 4-byte non-ESP marker added on 4500 (RFC 3948 2.2; the manager checks and strips it on
// receive). When one address runs both versions, the supervisor can instead hand each datagram to the
// manager its version byte names (0x10 IKEv1, 0x20 IKEv2): both take (buf, address, port, localPort).
import dgram from 'node:dgram';
import type { IkeV2Policy } from '../config-v2.js';
import { NAT_T_PORT_V2 } from '../encoding/constants-v2.js';
import { IkeV2Manager, type IkeV2Events, type IkeV2Options } from '../manager/ike-v2.js';
import type { LogFn } from '../../log/log.js';

export interface IkeV2Udp { manager: IkeV2Manager; port: number; close(): Promise<void> }

const MARKER = new Uint8Array(4);

function bound(sock: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, address, () => { sock.off('error', reject); resolve(); });
  });
}

export async function startIkeV2Udp(policy: IkeV2Policy, local: string,
  opts: { port?: number; natTPort?: number | null; log?: LogFn; events?: IkeV2Events; manager?: IkeV2Options } = {}): Promise<IkeV2Udp> {
  const ike = dgram.createSocket({ type: 'udp4' });
  const natT = opts.natTPort === null ? undefined : dgram.createSocket({ type: 'udp4' });
  const manager = new IkeV2Manager(policy, local, (d, address, port, localPort) => {
    if (localPort === NAT_T_PORT_V2 && natT) natT.send(Buffer.concat([MARKER, d]), port, address);
    else ike.send(d, port, address);
  }, opts.log, opts.events, opts.manager);
  ike.on('message', (msg, r) => manager.handleDatagram(new Uint8Array(msg), r.address, r.port, 500));
  natT?.on('message', (msg, r) => manager.handleDatagram(new Uint8Array(msg), r.address, r.port, NAT_T_PORT_V2));
  for (const s of [ike, natT]) s?.on('error', (e) => opts.log?.('error', `IKEv2: socket error: ${e.message}`));
  await bound(ike, opts.port ?? 500, local);
  if (natT) await bound(natT, opts.natTPort ?? NAT_T_PORT_V2, local);
  return {
    manager,
    port: ike.address().port,
    close: async () => {
      manager.close();
      await Promise.all([ike, natT].map((s) => s && new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
