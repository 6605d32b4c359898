// A hostile underlay host for the namespace tests: its own namespace and address on the lab's
// "Internet" (no peer has ever heard of it), and a raw GRE socket that sends whatever NHRP bytes the
// test built (well-formed ones from our codec, or garbage). Named PREFIX-evil so topology.sh down
// removes it with the rest of the lab.
import { encodeNhrp } from '../../appliance/nhrp/codec.js';
import type { NhrpMessage } from '../../appliance/nhrp/types.js';
import { nsExec, sh } from './lab.js';
import type { Lab } from './lab.js';

export { authExt, cie } from './nhrp-samples.js';

export const EVIL_NBMA = '172.16.99.2';
const EVIL_GW = '172.16.99.1';

/** Creates PREFIX-evil wired to PREFIX-inet (172.16.99.2/30, inet at .1); returns its namespace. */
export function addHostile(lab: Lab): string {
  const ns = lab.ns('evil');
  const a = `${lab.prefix}ev`, b = `${lab.prefix}ey`;
  sh('ip', ['netns', 'add', ns]);
  sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  sh('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
  sh('ip', ['link', 'set', a, 'netns', lab.ns('inet')]);
  sh('ip', ['link', 'set', b, 'netns', ns]);
  sh('ip', ['-n', lab.ns('inet'), 'addr', 'add', `${EVIL_GW}/30`, 'dev', a]);
  sh('ip', ['-n', lab.ns('inet'), 'link', 'set', a, 'up']);
  sh('ip', ['-n', ns, 'addr', 'add', `${EVIL_NBMA}/30`, 'dev', b]);
  sh('ip', ['-n', ns, 'link', 'set', b, 'up']);
  sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', EVIL_GW]);
  return ns;
}

/** Sends each payload as the body of a GRE packet (protocol 0x2001 = NHRP) from `ns` to `dst`.
 *  `raw` payloads are sent after a bare GRE header as they are (malformed-input storms). */
export function sendNhrp(ns: string, dst: string, payloads: Uint8Array[]): void {
  const hex = payloads.map((p) => Buffer.from(p).toString('hex')).join('\n');
  nsExec(ns, ['python3', '-c', `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
for line in sys.stdin.read().split():
    s.sendto(b'\\x00\\x00\\x20\\x01' + bytes.fromhex(line), (${JSON.stringify(dst)}, 0))
`], { input: hex });
}

/** A well-formed NHRP packet from the hostile host (srcNbma is its real address unless told). */
export function hostile(m: Partial<NhrpMessage> & Pick<NhrpMessage, 'type' | 'srcProto' | 'dstProto'>): Uint8Array {
  return encodeNhrp({ hopCount: 64, srcNbma: EVIL_NBMA, flags: 0, requestId: 1, cies: [], extensions: [], ...m });
}
