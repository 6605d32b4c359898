// The UDP shell around the IKEv1 manager: sockets on the IKE address, port 500 and the NAT-T port 4500
// (RFC 3948: IKE there carries a 4-byte zero non-ESP marker, added here on send and checked by the
// manager on receive).
import dgram from 'node:dgram';
import type { CryptoConfig } from '../../config/model.js';
import { NAT_T_PORT } from '../encoding/constants.js';
import { IkeV1Manager, type IkeV1Events } from '../manager/ike-v1.js';
import type { LogFn } from '../../log/log.js';

export interface IkeUdp { manager: IkeV1Manager; port: number; close(): Promise<void> }

const MARKER = new Uint8Array(4);

function bind(sock: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, address, () => { sock.off('error', reject); resolve(); });
  });
}

/** `port`: the IKE port (500; tests may pass 0); `natTPort`: 4500, or null for no NAT-T socket. */
export async function startIkeUdp(crypto: CryptoConfig, local: string,
  opts: { port?: number; natTPort?: number | null; log?: LogFn; events?: IkeV1Events } = {}): Promise<IkeUdp> {
  const ike = dgram.createSocket({ type: 'udp4' });
  const natT = opts.natTPort === null ? undefined : dgram.createSocket({ type: 'udp4' });
  const manager = new IkeV1Manager(crypto, local, (d, address, port, localPort) => {
    if (localPort === NAT_T_PORT && natT) natT.send(Buffer.concat([MARKER, d]), port, address);
    else ike.send(d, port, address);
  }, opts.log, opts.events);
  ike.on('message', (msg, r) => manager.handleDatagram(new Uint8Array(msg), r.address, r.port, 500));
  natT?.on('message', (msg, r) => manager.handleDatagram(new Uint8Array(msg), r.address, r.port, NAT_T_PORT));
  for (const s of [ike, natT]) s?.on('error', (e) => opts.log?.('error', `IKE: socket error: ${e.message}`));
  await bind(ike, opts.port ?? 500, local);
  if (natT) await bind(natT, opts.natTPort ?? NAT_T_PORT, local);
  return {
    manager,
    port: ike.address().port,
    close: async () => {
      manager.close();
      await Promise.all([ike, natT].map((s) => s && new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
