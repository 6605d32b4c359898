// `debug eigrp packets`: one line per EIGRP packet sent or received, in IOS's words (IOS prints
// "EIGRP: Received UPDATE on Tunnel0 nbr 192.168.0.2" and, below it, "AS 100, Flags 0x8, Seq 5/4";
// here both go on one log line), and one per dropped packet with the drop's reason. The lines go to the
// log at debug level, which prints them only while `debug eigrp packets` is on (log/log.ts).
import { Opcode } from './types.js';
import type { EigrpHeader } from './types.js';

const NAMES: Record<number, string> = {
  [Opcode.Update]: 'UPDATE', [Opcode.Request]: 'REQUEST', [Opcode.Query]: 'QUERY', [Opcode.Reply]: 'REPLY',
  [Opcode.Hello]: 'HELLO', [Opcode.SiaQuery]: 'SIAQUERY', [Opcode.SiaReply]: 'SIAREPLY',
};

/** A hello carrying an acknowledgment is what IOS calls an ACK. */
const kind = (h: EigrpHeader): string => (h.opcode === Opcode.Hello && h.ack !== 0 ? 'ACK' : NAMES[h.opcode] ?? `opcode ${h.opcode}`);

/** `peer` undefined: sent to the multicast group (IOS names no neighbor then). */
export function packetLine(dir: 'Sending' | 'Received', h: EigrpHeader, iface: string, peer?: string): string {
  return `EIGRP: ${dir} ${kind(h)} on ${iface}${peer ? ` nbr ${peer}` : ''}: AS ${h.as}, Flags 0x${h.flags.toString(16)}, Seq ${h.seq}/${h.ack}`;
}

export function dropLine(iface: string, src: string, reason: string, detail: string): string {
  return `EIGRP: Dropped packet from ${src} on ${iface}: ${reason} (${detail})`;
}
