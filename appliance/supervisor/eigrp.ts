// EIGRP in the supervisor: one speaker (routing/eigrp/speaker.ts) per `router eigrp` process, started
// when the config has one, stopped (with a goodbye) when it goes, restarted when a process-wide option
// changes; its interfaces and `network`s change in place (a TUN recreated by a tunnel restart, a network
// added: only the interfaces concerned are reset, as on IOS). Packets use a raw socket (routing/eigrp/raw-socket.ts) on the OS interfaces (the tunnel's TUN included: the
// kernel sends 224.0.0.10 into the TUN and the data plane replicates it to the `ip nhrp map multicast`
// destinations, as for OSPF); learned routes go into the kernel main table (routing/eigrp/kernel-routes.ts).
import type { ApplianceConfig } from '../config/model.js';
import { EigrpSpeaker } from '../routing/eigrp/speaker.js';
import type { SpeakerOptions } from '../routing/eigrp/speaker.js';
import { speakerOptions } from '../routing/eigrp/from-config.js';
import { RawSocketTransport } from '../routing/eigrp/raw-socket.js';
import { IOS_EIGRP_DISTANCES, KernelRouteSink } from '../routing/eigrp/kernel-routes.js';
import type { EigrpDistances } from '../routing/eigrp/kernel-routes.js';
import type { EigrpTransport } from '../routing/eigrp/transport.js';
import type { KernelTable } from '../routing/kernel-table.js';
import type { LogFn } from '../log/log.js';

/** How often the speakers' timers run (hellos, hold timers, retransmissions). */
const TICK_MS = 250;
/** How long after its socket failed a process starts again. */
const RESTART_MS = 1000;
/** How long after an interface appeared, went or was renamed the processes are checked again (a TUN
 *  recreated, a USB modem plugged in: several link events come together). */
const LINK_SETTLE_MS = 200;

/** The raw-socket transport with the speaker's IOS interface names mapped to OS names and back. The
 *  socket under it is replaced when the process's interfaces change (a raw socket joins its groups when
 *  it opens), the speaker keeping this one. */
class NamedTransport implements EigrpTransport {
  private cb?: (iface: string, src: string, dst: string, payload: Uint8Array) => void;
  /** `osOf`: IOS name -> OS name, the process's live map (updated in place by its owner) */
  constructor(public raw: RawSocketTransport, private readonly osOf: Map<string, string>) { this.use(raw); }
  /** Sends go out of `raw` from now on; returns the socket it replaces (closed by the caller). */
  use(raw: RawSocketTransport): RawSocketTransport {
    const was = this.raw;
    this.raw = raw;
    raw.onReceive((os, src, dst, p) => { if (this.raw === raw) this.cb?.(this.iosName(os), src, dst, p); });
    return was;
  }
  private iosName(os: string): string {
    for (const [ios, o] of this.osOf) if (o === os) return ios;
    return os;
  }
  send(iface: string, dst: string, payload: Uint8Array): void { this.raw.send(this.osOf.get(iface) ?? iface, dst, payload); }
  onReceive(cb: (iface: string, src: string, dst: string, payload: Uint8Array) => void): void { this.cb = cb; }
  close(): void { this.raw.close(); }
}

/** The OS interfaces a process's socket listens on: those of its non-passive interfaces. */
const listenOn = (o: SpeakerOptions, osOf: Map<string, string>): string[] =>
  [...new Set(o.interfaces.filter((i) => !i.passive).map((i) => osOf.get(i.name)!))].sort();

/** What a process was started from: `process` (options but its interfaces and networks, distances) can
 *  only change by a restart; `interfaces` (each interface's settings and OS index) and the connected
 *  networks change in place (EigrpSpeaker.setInterfaces); `socket` (the OS interfaces the raw socket
 *  joined, with their indexes) changing means a new socket. */
interface Signature { process: string; interfaces: Map<string, string>; socket: string }
interface Running { speaker: EigrpSpeaker; transport: NamedTransport; osOf: Map<string, string>; signature: Signature }
interface Wanted { o: SpeakerOptions; osOf: Map<string, string>; distances: EigrpDistances; signature: Signature }

export class EigrpService {
  private readonly running = new Map<number, Running>();
  private timer?: NodeJS.Timeout;
  /** the config last applied, for restarting a process whose socket failed */
  private last?: { c: ApplianceConfig; osName: (ios: string) => string | undefined };

  private linkTimer?: NodeJS.Timeout;
  private unsubscribe?: () => void;

  constructor(private readonly kernel: KernelTable, private readonly log: LogFn) {}

  private watchLinks(): void {
    if (this.unsubscribe) return;
    // A process runs on the interfaces that exist when it starts (its signature holds their indexes):
    // one that appears later, or comes back under a new index, starts it again; one that could not
    // start (its interface missing or down) is tried again then, not only at the next config change.
    this.unsubscribe = this.kernel.subscribe((ev) => {
      if (ev.kind !== 'link' || (ev.op === 'change' && ev.was?.name === ev.link.name)) return;
      if (!this.last || this.linkTimer) return;
      this.linkTimer = setTimeout(() => {
        this.linkTimer = undefined;
        if (this.last) this.apply(this.last.c, this.last.osName).catch((e: Error) => this.log('error', `EIGRP not running: ${e.message}`));
      }, LINK_SETTLE_MS);
      this.linkTimer.unref?.();
    });
  }

  /** Runs one speaker per `router eigrp` process of `c`; stops those gone, restarts those changed. */
  async apply(c: ApplianceConfig, osName: (ios: string) => string | undefined): Promise<void> {
    this.last = { c, osName };
    this.watchLinks();
    const wanted = new Map<number, Wanted>();
    for (const p of c.eigrp?.processes ?? []) {
      if (!p.asn) continue; // named mode before its address-family names the AS: nothing to run yet
      const o = speakerOptions(c, p, this.running.get(p.asn)?.speaker.o.routerId);
      const osOf = new Map<string, string>();
      for (const i of o.interfaces) { const os = osName(i.name); if (os) osOf.set(i.name, os); }
      o.interfaces = o.interfaces.filter((i) => osOf.has(i.name)); // no OS interface (yet): not run on
      const index = (os: string | undefined) => (os === undefined ? '-' : this.kernel.link(os)?.index ?? '-');
      const interfaces = new Map(o.interfaces.map((i) => [i.name, JSON.stringify([i, osOf.get(i.name), index(osOf.get(i.name))])]));
      const socket = listenOn(o, osOf).map((os) => `${os}#${index(os)}`).join();
      // what the process redistributes is not in the signature: it changes in place, adjacencies kept
      const { interfaces: _i, originate: _o, ...rest } = o;
      wanted.set(p.asn, { o, osOf, distances: p.distance ?? IOS_EIGRP_DISTANCES, signature: { process: JSON.stringify([rest, p.distance]), interfaces, socket } });
    }
    for (const [asn, r] of this.running) {
      const w = wanted.get(asn);
      if (w?.signature.process !== r.signature.process) { this.stopOne(asn); continue; }
      try { this.updateOne(asn, r, w); } catch (e) { this.log('error', `EIGRP AS ${asn}: ${(e as Error).message}; restarting`); this.stopOne(asn); }
      r.speaker.setRedistributed(w.o.originate);
    }
    const failed: string[] = [];
    for (const [asn, w] of wanted) {
      if (this.running.has(asn)) continue;
      // one process that cannot start does not keep the others down
      try { await this.startOne(asn, w); } catch (e) { failed.push(`AS ${asn}: ${(e as Error).message}`); }
    }
    if (this.running.size && !this.timer) {
      this.timer = setInterval(() => { const now = Date.now(); for (const r of this.running.values()) r.speaker.tick(now); }, TICK_MS);
      this.timer.unref?.();
    } else if (!this.running.size && this.timer) { clearInterval(this.timer); this.timer = undefined; }
    if (failed.length) throw new Error(`${failed.join('; ')} (tried again when an interface appears or changes)`);
  }

  private async startOne(asn: number, w: Wanted): Promise<void> {
    const osOf = new Map(w.osOf); // one map, kept by the transport and the route sink, updated in place
    const transport = new NamedTransport(this.openRaw(asn, listenOn(w.o, osOf)), osOf);
    const sink = new KernelRouteSink(this.kernel, osOf, this.log, w.distances);
    const speaker = new EigrpSpeaker(w.o, transport, sink, Date.now(), this.log); // debug lines: `debug eigrp packets`
    this.running.set(asn, { speaker, transport, osOf, signature: w.signature });
    this.log('notice', `EIGRP AS ${asn} running on ${w.o.interfaces.map((i) => i.name).join(', ') || 'no interface'} (router-id ${w.o.routerId})`);
  }

  /** The process's raw socket on `interfaces` (OS names); one that fails later (an interface of it
   *  deleted) takes the process down with it (routes withdrawn), then it starts again. */
  private openRaw(asn: number, interfaces: string[]): RawSocketTransport {
    const raw = new RawSocketTransport(interfaces);
    if (raw.lastError !== undefined) { raw.close(); throw new Error(`EIGRP socket not opened: ${raw.lastError}`); }
    raw.onFailure((why) => {
      if (this.running.get(asn)?.transport.raw !== raw) return; // replaced or stopped meanwhile
      this.log('error', `EIGRP AS ${asn}: ${why}; restarting`);
      this.stopOne(asn);
      setTimeout(() => { if (this.last) this.apply(this.last.c, this.last.osName).catch((e: Error) => this.log('error', `EIGRP not running: ${e.message}`)); }, RESTART_MS).unref?.();
    });
    return raw;
  }

  /** A `network` statement or an interface's settings changed, or an OS interface came, went or was
   *  recreated: the speaker keeps running and resets only the interfaces concerned; its socket is
   *  replaced when the set of OS interfaces it listens on changed. */
  private updateOne(asn: number, r: Running, w: Wanted): void {
    const was = r.signature.interfaces, now = w.signature.interfaces;
    if (was.size === now.size && [...now].every(([name, sig]) => was.get(name) === sig)) return;
    const reset = new Set([...now.keys()].filter((name) => was.has(name) && was.get(name) !== now.get(name)));
    // the goodbyes of the interfaces leaving go out of the socket that has them
    r.speaker.setInterfaces(w.o.interfaces, w.o.originate.filter((x) => !x.vector), reset);
    if (w.signature.socket !== r.signature.socket) {
      const raw = this.openRaw(asn, listenOn(w.o, w.osOf));
      const old = r.transport.use(raw);
      setTimeout(() => old.close(), 200).unref?.(); // let the goodbyes leave first
    }
    r.osOf.clear();
    for (const [ios, os] of w.osOf) r.osOf.set(ios, os);
    r.signature = w.signature;
    this.log('notice', `EIGRP AS ${asn} now on ${w.o.interfaces.map((i) => i.name).join(', ') || 'no interface'}`);
  }

  private stopOne(asn: number): void {
    const r = this.running.get(asn);
    if (!r) return;
    this.running.delete(asn);
    r.speaker.shutdown(); // goodbye to the neighbors, learned routes out of the kernel
    setTimeout(() => r.transport.close(), 200).unref?.(); // let the goodbye leave before the socket closes
    this.log('notice', `EIGRP AS ${asn} stopped`);
  }

  /** The running speakers, by AS (for the shows and clear). */
  speakers(): EigrpSpeaker[] { return [...this.running.values()].map((r) => r.speaker); }

  /** `clear ip eigrp neighbors`: every adjacency is reset (the speakers restart from the same config). */
  async clearNeighbors(c: ApplianceConfig, osName: (ios: string) => string | undefined): Promise<number> {
    const n = this.speakers().reduce((a, s) => a + s.neighbors.list().length, 0);
    for (const asn of [...this.running.keys()]) this.stopOne(asn);
    await this.apply(c, osName);
    return n;
  }

  async stop(): Promise<void> {
    this.last = undefined;
    this.unsubscribe?.(); this.unsubscribe = undefined;
    clearTimeout(this.linkTimer); this.linkTimer = undefined;
    for (const asn of [...this.running.keys()]) this.stopOne(asn);
    clearInterval(this.timer); this.timer = undefined;
    await new Promise((r) => setTimeout(r, 250));
  }
}
