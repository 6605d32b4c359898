// EIGRP on the wire: one raw IPv4 socket for IP protocol 88 per routing process, in the native addon
// (appliance/native/mcast-raw.c). It joins 224.0.0.10 on each interface by index, sends multicast and
// unicast out of the interface the speaker names, with TTL 2 and TOS 0xC0 (precedence internetwork
// control) as IOS and OpenBSD's eigrpd send (FRR's eigrpd uses TTL 1; a neighbor is always one hop
// away, so either reaches it), and reports each packet with the interface it came in on (IP_PKTINFO).
// It runs in the supervisor's own process and network namespace: the image has no python3, which the
// helper process this replaces needed. A test wanting another namespace runs its speaker in a child
// there (test/routing/eigrp-speaker-child.ts), as the addon cannot setns().
//
// Failures the speaker must not ride through: an interface of the socket deleted (a send says ENODEV:
// a TUN recreated has a new index the socket never joined) or the socket broken (its receive failed,
// EBADF). Then the transport stops and tells its owner once (onFailure), which restarts the process
// from the interfaces as they are now. Anything else a send meets (an interface down, no ARP answer,
// a full queue) is counted and the speaker's retransmission covers it.
import { loadNative } from '../../io/native.js';
import type { McastRawStats, NativeIo } from '../../io/native.js';
import type { EigrpTransport } from './transport.js';

/** IP protocol number and multicast group of EIGRP (RFC 7868: AllEIGRPRouters). */
export const EIGRP_PROTOCOL = 88;
export const EIGRP_GROUP = '224.0.0.10';
const EIGRP_TTL = 2;
const TOS_INTERNETWORK_CONTROL = 0xc0;

/** Send errors after which the socket cannot serve the speaker any more. */
const FATAL_SEND = new Set(['ENODEV', 'ENXIO', 'EBADF', 'ENOTSOCK']);

type Receiver = (iface: string, src: string, dst: string, payload: Uint8Array) => void;
export type McastRawPort = Pick<NativeIo, 'mcastRawOpen' | 'mcastRawSend' | 'mcastRawClose' | 'mcastRawStats'>;

export class RawSocketTransport implements EigrpTransport {
  private id?: number;
  private cb?: Receiver;
  private failureCbs: Array<(why: string) => void> = [];
  private state: 'open' | 'failed' | 'closed' = 'open';
  /** resolves once the socket is open; rejects with a message naming the problem otherwise */
  readonly ready: Promise<void>;
  readonly stats = { sent: 0, received: 0, errors: 0 };
  lastError?: string;

  /** `interfaces`: OS interface names of the process (its non-passive ones). */
  constructor(readonly interfaces: string[], private readonly io: McastRawPort = loadNative()) {
    try {
      this.id = io.mcastRawOpen({ protocol: EIGRP_PROTOCOL, group: EIGRP_GROUP, interfaces, ttl: EIGRP_TTL, tos: TOS_INTERNETWORK_CONTROL },
        (...ev) => { if (ev[0] === 'failed') this.fail(`socket failed: ${ev[1]}`); else this.deliver(ev[1], ev[2], ev[3], ev[4]); });
      this.ready = Promise.resolve();
    } catch (e) {
      this.state = 'failed';
      this.lastError = (e as Error).message;
      this.ready = Promise.reject(new Error(`EIGRP socket not opened: ${this.lastError}`));
      this.ready.catch(() => {}); // observed by whoever awaits it
    }
  }

  private deliver(iface: string, src: string, dst: string, payload: Buffer): void {
    this.stats.received++;
    try {
      this.cb?.(iface, src, dst, new Uint8Array(payload.buffer, payload.byteOffset, payload.length));
    } catch (e) {
      // the speaker counts and drops bad packets itself; a throw here is its bug, kept visible but not fatal
      this.stats.errors++;
      this.lastError = `receive handler: ${(e as Error).message}`;
    }
  }

  /** Called once if the socket stops while the transport is open (an interface gone, the socket broken). */
  onFailure(cb: (why: string) => void): void { this.failureCbs.push(cb); }

  send(iface: string, dst: string, payload: Uint8Array): void {
    if (this.state !== 'open') { this.stats.errors++; return; }
    try {
      this.io.mcastRawSend(this.id!, iface, dst, payload);
      this.stats.sent++;
    } catch (e) {
      this.stats.errors++;
      this.lastError = (e as Error).message;
      if (FATAL_SEND.has((e as { code?: string }).code ?? '')) this.fail(this.lastError);
    }
  }

  onReceive(cb: Receiver): void { this.cb = cb; }

  /** The socket's own counters (drops by cause), while it is open. */
  socketStats(): McastRawStats | undefined { return this.id === undefined ? undefined : this.io.mcastRawStats(this.id); }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.release();
  }

  private release(): void {
    if (this.id === undefined) return;
    const id = this.id;
    this.id = undefined;
    try { this.io.mcastRawClose(id); } catch { /* already gone with its environment */ }
  }

  private fail(why: string): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.lastError = why;
    this.release();
    // not from inside the speaker's send: the owner tears the speaker down in its callback
    setImmediate(() => { for (const cb of this.failureCbs) cb(why); });
  }
}
