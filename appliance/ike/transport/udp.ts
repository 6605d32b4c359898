// The UDP shell around the IKEv1 manager: one dgram socket on the IKE address, port 500.
import dgram from 'node:dgram';
import type { CryptoConfig } from '../../config/model.js';
import { IkeV1Manager, type IkeV1Events, type Log } from '../manager/ike-v1.js';

export interface IkeUdp { manager: IkeV1Manager; port: number; close(): Promise<void> }

export async function startIkeUdp(crypto: CryptoConfig, local: string, opts: { port?: number; log?: Log; events?: IkeV1Events } = {}): Promise<IkeUdp> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: false });
  const manager = new IkeV1Manager(crypto, local, (d, address, port) => sock.send(d, port, address), opts.log, opts.events);
  sock.on('message', (msg, rinfo) => manager.handleDatagram(new Uint8Array(msg), rinfo.address, rinfo.port));
  sock.on('error', (e) => opts.log?.(`IKE: socket error: ${e.message}`));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(opts.port ?? 500, local, () => { sock.off('error', reject); resolve(); });
  });
  return {
    manager,
    port: sock.address().port,
    close: () => new Promise<void>((resolve) => { manager.close(); sock.close(() => resolve()); }),
  };
}
