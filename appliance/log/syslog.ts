// `logging host`: the log's lines to syslog servers over UDP in the BSD format IOS sends (RFC 3164
// section 4.1: "<PRI>Mmm dd hh:mm:ss HOSTNAME MSG", PRI = facility * 8 + severity, IOS's default
// facility local7 gives <189> for a severity 5 message), MSG being the IOS "%FAC-SEV-MNEMONIC: text".
// The hosts, trap level and facility are read from the running config for every line, so a change
// takes effect at the next message. Lines above the trap level are not sent; a send that fails
// is counted, never retried or thrown (logging must not take the appliance down).
import dgram from 'node:dgram';
import type { LogEvent } from './log.js';

export interface SyslogTarget { hosts: Array<{ address: string; port?: number }>; trap: number; facility: string }

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FACILITY: Record<string, number> = Object.fromEntries([0, 1, 2, 3, 4, 5, 6, 7].map((i) => [`local${i}`, 16 + i]));
const MAX_MSG = 1024; // RFC 3164 section 4.1: the whole packet is at most 1024 bytes

/** One RFC 3164 message for an event. The timestamp is UTC (the appliance's clock runs in UTC). */
export function rfc3164(e: LogEvent, hostname: string, facility: string): string {
  const d = e.time;
  const p2 = (n: number) => String(n).padStart(2, '0');
  const stamp = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  const pri = (FACILITY[facility] ?? FACILITY.local7) * 8 + e.severity;
  const text = `<${pri}>${stamp} ${hostname} %${e.facility}-${e.severity}-${e.mnemonic}: ${e.text}`.replace(/[\r\n]+/g, ' ');
  return Buffer.byteLength(text) > MAX_MSG ? Buffer.from(text).subarray(0, MAX_MSG).toString('utf8') : text;
}

export class SyslogForwarder {
  sent = 0;
  failed = 0;
  private sock?: dgram.Socket;

  constructor(private readonly target: () => SyslogTarget | undefined, private readonly hostname: () => string) {}

  send(e: LogEvent): void {
    const t = this.target();
    if (!t?.hosts.length || e.severity > t.trap) return;
    const msg = Buffer.from(rfc3164(e, this.hostname(), t.facility));
    if (!this.sock) {
      this.sock = dgram.createSocket('udp4');
      this.sock.on('error', () => { this.failed++; });
      this.sock.unref();
    }
    for (const h of t.hosts) {
      this.sock.send(msg, h.port ?? 514, h.address, (err) => { if (err) this.failed++; else this.sent++; });
    }
  }

  close(): void { this.sock?.close(); this.sock = undefined; }
}
