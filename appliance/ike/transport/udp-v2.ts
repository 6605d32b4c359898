// The UDP shell around the IKEv2 manager (the sockets are ike-sockets.ts). When one address runs both
// versions, the supervisor opens the sockets once and routes by ikeVersion() to the IKEv1 or the IKEv2
// manager; this shell is the IKEv2-only case (the lab tool, tests). ESP-in-UDP (no IKE version) goes to
// the manager too, which counts and drops it until the data plane takes it.
import type { IkeV2Policy } from '../config-v2.js';
import { IkeV2Manager, type IkeV2Events, type IkeV2Options } from '../manager/ike-v2.js';
import type { LogFn } from '../../log/log.js';
import { openIkeSockets } from './ike-sockets.js';

export interface IkeV2Udp { manager: IkeV2Manager; port: number; close(): Promise<void> }

export async function startIkeV2Udp(policy: IkeV2Policy, local: string,
  opts: { port?: number; natTPort?: number | null; log?: LogFn; events?: IkeV2Events; manager?: IkeV2Options } = {}): Promise<IkeV2Udp> {
  let manager: IkeV2Manager | undefined;
  const sockets = await openIkeSockets(local, () => manager, opts);
  manager = new IkeV2Manager(policy, local, sockets.send, opts.log, opts.events, opts.manager);
  const m = manager;
  return { manager: m, port: sockets.port, close: async () => { m.close(); await sockets.close(); } };
}
