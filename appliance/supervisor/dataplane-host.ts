// Owns the data plane of one tunnel: the shared memory, the TUN device and NBMA socket, the C pump
// threads, and the WASM worker. The supervisor talks to it only through the control rings
// (ctlTx: NHRP out + table commands; ctlRx: NHRP in + no-entry notices) and by reading counters.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import { computeLayout, writeLayout, pagesFor, TUNNEL_FLAG, L, SCRATCH, EPOCH_IDLE, TEST_HOOK, type RingName } from '../dataplane/layout.js';
import { ipToU32 } from '../net/ipv4.js';
import { Ring } from '../dataplane/ring.js';
import { DataplaneCommands, readCounters, readPeers } from '../dataplane/commands.js';
import { readRingCounters } from '../dataplane/ring-counters.js';
import { tunQueueDrops } from './tun-queue.js';
import { loadNative, type NativeIo, type PumpOptions } from '../io/native.js';
import { prepareTunnelSysctls } from './system.js';
import { SaCommands, readEspCounters, NATT_PORT } from '../dataplane/sa.js';
import { ControlDispatcher, type DataplaneEvents } from './control-dispatch.js';
import { WorkerKeeper } from './dataplane-worker.js';
import { inFlightSlot } from './in-flight.js';
import { workerStats } from '../dataplane/worker-stats.js';
import { compileDataplane } from '../dataplane/wasm.js';
import { failClaimedJobs } from '../dataplane/crypto-lane.js';
import type { LogFn } from '../log/log.js';

/** How long a TUN name held by another process (EBUSY) is waited for, and how often it is tried. */
const TUN_BUSY_WAIT_MS = 15_000;
const TUN_BUSY_RETRY_MS = 200;
const tunBusy = (e: unknown): boolean => (e as { code?: string }).code === 'EBUSY';

export type { DataplaneEvents };

/** `DMVPN_TEST_HOOKS=1` in dmvpnd's environment enables `test dataplane crash` (never set in production). */
export const testHooksEnabled = () => process.env.DMVPN_TEST_HOOKS === '1';

const MAX_PAGES = 4096;
/**
 * NBMA receive coalescing (see PumpOptions.coalesceUs): 50 us roughly halves the worker wake-ups and
 * doubles the GRO super-packet length under a TCP stream (measured with bench/e2e.sh), for 50 us of
 * latency once the socket had gone idle.
 */
const RX_COALESCE_US = 50;
/** recvmmsg/sendmmsg batch: one TSO super-packet alone becomes ~45 nbmaTx slots. */
const NBMA_BATCH = 128;
/** TUN reads (tun-rx) and writes (tun-tx) per wake-up, at most: one packet or super-packet each. */
const TUN_BATCH = 64;
/**
 * Non-ESP datagrams on UDP 4500 (IKE) admitted to JS per second, and the burst: enough for hundreds of
 * peers negotiating at once (IKE retransmits), little enough that a flood cannot starve NHRP and the
 * supervisor's event loop. The excess is dropped in the pump thread (`udpControlDropped`).
 */
export const UDP_CONTROL_RATE = 300;
export const UDP_CONTROL_BURST = 300;

export interface TunnelParams {
  tunName: string;
  tunnelIp: string;
  prefixLen: number;
  source: string; // NBMA address
  mtu: number;
  tcpMss?: number;
  key?: number;
  p2pDestination?: string;
  nhsFallback?: string;
  /** Phase 3 hub: report hairpinned traffic so NHRP can send Traffic Indications. */
  redirect?: boolean;
  /** `tunnel protection`: GRE only inside ESP (raw protocol 50 or UDP 4500). */
  protected?: boolean;
  /** Rate limit of non-ESP (IKE) datagrams on UDP 4500 (default UDP_CONTROL_RATE / UDP_CONTROL_BURST). */
  udpControlRate?: number;
  udpControlBurst?: number;
  /** `dataplane workers N`: data-plane workers that forward (default 1). */
  workers?: number;
}

/** A running pump: the ring it serves and the worker that ring belongs to. */
interface PumpRef { ring: RingName; worker: number; id: number }

export class DataplaneHost {
  private readonly layout: ReturnType<typeof computeLayout>;
  readonly memory: WebAssembly.Memory;
  private readonly view: Uint8Array;
  private readonly io: NativeIo;
  private readonly ctlTx: Ring;
  readonly commands: DataplaneCommands;
  /** Worker 0's TUN fd (with several workers: its queue of the multi-queue TUN). */
  private tunFd = -1;
  /** The TUN queues of workers > 0 (IFF_MULTI_QUEUE), and their raw GRE and ESP sockets. */
  private readonly extraFds: number[] = [];
  private tunName = '';
  private rawFd = -1;
  /** The raw GRE socket of the control lane (NHRP only), -1 if the kernel refused the filters. */
  private nhrpFd = -1;
  private espFd = -1;
  private udpFd = -1;
  /** The UDP 4500 socket of the control lane (IKE only), -1 if the kernel refused the group's program. */
  private ikeFd = -1;
  readonly sa: SaCommands;
  private readonly pumps: PumpRef[] = [];
  private watchId = -1;
  /** One keeper per worker: worker i's thread, restarted on its own if it dies. */
  private keepers: WorkerKeeper[] = [];
  /** One dispatcher per worker's ctlRx (notices, NHRP and IKE that came inside ESP, SA events). */
  private readonly controls: ControlDispatcher[];

  /**
   * `workers`: data-plane workers that forward (docs/dataplane.md "Every core forwards"): each has a
   * TUN queue, a share of the NBMA receive traffic, its rings and its thread; worker 0 also applies the
   * commands and takes the control lane.
   */
  constructor(private readonly events: DataplaneEvents, private readonly log: LogFn, readonly workers = 1) {
    this.layout = computeLayout({ workers });
    if (pagesFor(this.layout) > MAX_PAGES) throw new RangeError(`dataplane workers ${workers}: the rings do not fit the data plane's memory`);
    this.memory = new WebAssembly.Memory({ initial: Math.max(512, pagesFor(this.layout)), maximum: MAX_PAGES, shared: true });
    writeLayout(this.memory.buffer, this.layout);
    this.view = new Uint8Array(this.memory.buffer);
    this.io = loadNative();
    const wake = (bell: number) => this.io.wake(this.view, bell);
    this.ctlTx = new Ring(this.memory.buffer, this.layout.ctlTx, wake);
    this.commands = new DataplaneCommands(this.ctlTx, () => this.io.wake(this.view, this.layout.workerDoorbell));
    // same ring object as the table commands: one producer, in program order
    this.sa = new SaCommands(this.ctlTx, () => this.io.wake(this.view, this.layout.workerDoorbell));
    this.controls = this.layout.workerRings.map((w) => new ControlDispatcher(new Ring(this.memory.buffer, w.ctlRx, wake), events, log));
    // Each worker honours TEST_TRAP only if this word is 1 (defence in depth behind the exec command).
    for (const w of this.layout.workerRings) new Uint32Array(this.memory.buffer)[(w.block + L.testHooks) >>> 2] = testHooksEnabled() ? TEST_HOOK.TRAP_COMMAND : 0;
  }

  /** Opens the devices, starts pumps and the worker; throws with a clear message if any fails. */
  async start(p: TunnelParams, pcapPath?: string): Promise<void> {
    if (pcapPath) this.io.pcapOpen(pcapPath);
    this.tunFd = await this.openTunWaiting(p.tunName);
    this.tunName = p.tunName;
    // NHRP redirects (Phase 3) replace ICMP redirects on an mGRE tunnel (IOS guides: `no ip redirects`):
    // a hub hairpinning spoke-to-spoke traffic must not tell hosts to use a next hop they cannot reach.
    prepareTunnelSysctls(p.tunName);
    this.io.configureInterface(p.tunName, { address: p.tunnelIp, prefixLen: p.prefixLen, mtu: p.mtu, up: true });
    this.rawFd = this.io.openRawIp(47, p.source);
    this.nhrpFd = this.openNhrpLane(p.source);
    const tunFds = [this.tunFd, ...await this.openTunQueues(p.tunName)];
    const rawFds = [this.rawFd, ...this.openExtra(() => this.io.openRawIp(47, p.source))];
    // with several workers each raw GRE socket takes its share of the flows (native/nbma-spread.c);
    // NHRP stays on its lane, or with worker 0 if the kernel refused the lane
    if (this.workers > 1) rawFds.forEach((fd, i) => this.io.nbmaSpread(fd, 47, i, this.workers, this.nhrpFd < 0 && i === 0));
    for (let i = 0; i < this.workers; i++) {
      this.startPump('tunRx', { kind: 'tun-rx', fd: tunFds[i], batch: TUN_BATCH }, i);
      this.startPump('tunTx', { kind: 'tun-tx', fd: tunFds[i], batch: TUN_BATCH }, i);
      this.startPump('nbmaRx', { kind: 'raw-rx', fd: rawFds[i], rawProtocol: 47, coalesceUs: RX_COALESCE_US, batch: NBMA_BATCH }, i);
      this.startPump('nbmaTx', { kind: 'raw-tx', fd: rawFds[i], batch: NBMA_BATCH }, i);
    }
    // no receive coalescing on the control lane: it carries a few packets, each one waited for
    if (this.nhrpFd >= 0) this.startPump('nhrpRx', { kind: 'raw-rx', fd: this.nhrpFd, rawProtocol: 47, batch: NBMA_BATCH });
    if (p.protected) {
      // ESP leaves through nbmaTx too (the raw socket has IP_HDRINCL, any protocol goes); it arrives
      // on its own raw socket, and ESP-in-UDP (NAT-T) on port 4500 both ways.
      this.espFd = this.io.openRawIp(50, p.source);
      this.udpFd = this.io.openUdp(p.source, NATT_PORT, { reusePort: true });
      this.ikeFd = this.openIkeLane(p.source);
      // raw ESP spread by SPI (one inbound SA on one worker), and ESP in UDP by the same hash
      const espFds = [this.espFd, ...this.openExtra(() => this.io.openRawIp(50, p.source))];
      if (this.workers > 1) espFds.forEach((fd, i) => this.io.nbmaSpread(fd, 50, i, this.workers, false));
      const udpFds = [this.udpFd, ...this.openUdpSpread(p.source)];
      // the IKE rate limit goes with IKE: on the control lane, and on udpRx too, where IKE comes without
      // the lane, or with it behind ESP in a UDP GRO super-datagram (docs/dataplane.md "UDP offloads")
      const limit = { controlRate: p.udpControlRate ?? UDP_CONTROL_RATE, controlBurst: p.udpControlBurst ?? UDP_CONTROL_BURST };
      for (let i = 0; i < this.workers; i++) {
        this.startPump('espRx', { kind: 'raw-rx', fd: espFds[i], rawProtocol: 50, coalesceUs: RX_COALESCE_US, batch: NBMA_BATCH }, i);
        if (i < udpFds.length) this.startPump('udpRx', { kind: 'udp-rx', fd: udpFds[i], coalesceUs: RX_COALESCE_US, batch: NBMA_BATCH, ...limit }, i);
        this.startPump('udpTx', { kind: 'udp-tx', fd: udpFds[i] ?? this.udpFd, batch: NBMA_BATCH }, i);
      }
      if (this.ikeFd >= 0) this.startPump('ikeRx', { kind: 'udp-rx', fd: this.ikeFd, batch: NBMA_BATCH, ...limit });
    }
    this.configureTunnel(p);
    // every worker's ctlRx rings the one supervisor doorbell
    this.watchId = this.io.watch(this.view, this.layout.supervisorDoorbell, () => { for (const c of this.controls) c.drain(); });
    await this.startWorkers();
  }

  /** Opens one more fd per worker beyond the first (kept in extraFds, closed by stop()). */
  private openExtra(open: () => number): number[] {
    const fds: number[] = [];
    for (let i = 1; i < this.workers; i++) { const fd = open(); fds.push(fd); this.extraFds.push(fd); }
    return fds;
  }

  /**
   * With several workers the TUN is multi-queue (IFF_MULTI_QUEUE; openTunOffload opened worker 0's
   * queue with it): one queue per worker, each outbound flow on one queue (order kept per flow). Each
   * queue fd has the same offloads (vnet header, TSO) as the first. The queue is the one the flow's own
   * hash names (the steering program, native/tun-steering.c): the kernel's own choice would follow the
   * queue that wrote the flow's last reply, and with one SA pair one worker writes every reply, so every
   * flow would go out through that worker. A kernel that refuses the program keeps its own choice (logged).
   */
  private async openTunQueues(name: string): Promise<number[]> {
    const vnetHdr = this.tunVnet;
    const fds = this.openExtra(() => this.io.openTun(name, { vnetHdr, multiQueue: true }));
    if (!fds.length) return fds;
    try {
      this.io.tunSteer(this.tunFd);
      this.log('info', `TUN ${name}: ${fds.length + 1} queues, each outbound flow on the queue its hash names`);
    } catch (e) {
      this.log('warn', `TUN ${name}: steering program refused (${(e as Error).message}); outbound flows follow the queue that wrote their replies`);
    }
    return fds;
  }

  /**
   * The control lane (docs/dataplane.md): a second raw GRE socket that takes only NHRP, while the data
   * socket takes everything else, so a data flood that overflows the data socket's queue cannot drop a
   * registration. The data socket's filter goes on last: until then it still takes NHRP itself, so no
   * NHRP is lost in between, and if either filter is refused NHRP simply stays on nbmaRx with the data
   * (logged). The few packets that arrive during these calls may land on the wrong lane (any packet
   * before the NHRP socket's filter, NHRP twice before the data socket's): harmless, as the worker
   * handles either lane's packets the same way and NHRP tolerates a duplicate (it retransmits anyway).
   */
  private openNhrpLane(source: string): number {
    let fd = -1;
    try {
      fd = this.io.openRawIp(47, source);
      this.io.greLane(fd, true);
      this.io.greLane(this.rawFd, false);
      return fd;
    } catch (e) {
      if (fd >= 0) this.io.closeFd(fd);
      this.log('warn', `NHRP control lane unavailable (${(e as Error).message}): NHRP shares the GRE data socket and ring`);
      return -1;
    }
  }

  /**
   * IKE's control lane on UDP 4500: a second socket in the ESP socket's SO_REUSEPORT group, to which the
   * group's program sends every datagram behind the non-ESP marker. Refused: IKE stays on udpRx (logged).
   */
  private openIkeLane(source: string): number {
    let fd = -1;
    try {
      fd = this.io.openUdp(source, NATT_PORT, { reusePort: true });
      this.io.ikeLane(this.udpFd);
      return fd;
    } catch (e) {
      if (fd >= 0) this.io.closeFd(fd); // the group is the ESP socket alone again: it gets everything
      this.log('warn', `IKE control lane on UDP ${NATT_PORT} unavailable (${(e as Error).message}): IKE shares the ESP-in-UDP socket and ring`);
      return -1;
    }
  }

  /**
   * ESP in UDP on every worker: one more UDP 4500 socket per worker >= 1, joining the SO_REUSEPORT group
   * after worker 0's and the IKE lane's, then the group's program that picks the socket by SPI
   * (native/nbma-spread.c). Until then the IKE lane's program, if any, keeps ESP on worker 0; without the
   * lane the kernel's own hash may hand a datagram to a new socket meanwhile, harmless as any worker can
   * decrypt any SA. Refused: the extra sockets are closed and ESP in UDP stays with worker 0 (logged).
   */
  private openUdpSpread(source: string): number[] {
    if (this.workers < 2) return [];
    const fds: number[] = [];
    try {
      for (let i = 1; i < this.workers; i++) fds.push(this.io.openUdp(source, NATT_PORT, { reusePort: true }));
      this.io.udpSpread(this.udpFd, this.workers, this.ikeFd >= 0);
      this.extraFds.push(...fds);
      return fds;
    } catch (e) {
      for (const fd of fds) this.io.closeFd(fd);
      if (this.ikeFd >= 0) this.io.ikeLane(this.udpFd); // the group as it was: the lane's program
      this.log('warn', `ESP in UDP ${NATT_PORT} on worker 0 only (${(e as Error).message})`);
      return [];
    }
  }

  /**
   * TUN with IFF_VNET_HDR + TSO/checksum offloads (docs/dataplane.md "TUN offloads"): the kernel hands
   * us 64 KiB TCP super-packets and takes coalesced ones, one syscall each. A kernel that refuses
   * gets a plain TUN (one packet per read/write), logged; the pumps and worker adapt on their own.
   */
  private openTunOffload(name: string): number {
    const multiQueue = this.workers > 1 ? { multiQueue: true } : {};
    try {
      const fd = this.io.openTun(name, { vnetHdr: true, ...multiQueue });
      this.tunVnet = true;
      return fd;
    } catch (e) {
      if (tunBusy(e)) throw e; // another process holds the name: a plain TUN would not get it either
      this.log('warn', `TUN ${name}: offloads unavailable (${(e as Error).message}); using a plain TUN`);
      this.tunVnet = false;
      return this.io.openTun(name, { ...multiQueue });
    }
  }
  /** The TUN was opened with IFF_VNET_HDR (every further queue must match). */
  private tunVnet = false;

  /**
   * A supervisor restarted after its watchdog was killed can find its predecessor still closing the
   * TUN (it stops on its own when it notices): the name is busy (EBUSY) for a moment. Wait for it,
   * bounded, instead of failing the whole config apply (the restarted spoke stayed down for good).
   */
  private async openTunWaiting(name: string): Promise<number> {
    const deadline = Date.now() + TUN_BUSY_WAIT_MS;
    for (let waited = false; ; waited = true) {
      try {
        const fd = this.openTunOffload(name);
        if (waited) this.log('info', `TUN ${name}: released by its previous owner; opened`);
        return fd;
      } catch (e) {
        if (!tunBusy(e) || Date.now() >= deadline) throw e;
        if (!waited) this.log('warn', `TUN ${name}: in use by another process (a previous dmvpnd still stopping?); waiting up to ${TUN_BUSY_WAIT_MS / 1000} s`);
        await new Promise((r) => setTimeout(r, TUN_BUSY_RETRY_MS));
      }
    }
  }

  /**
   * Starts the pump of one ring of worker `worker` (the control lane's rings are worker 0's); its packets
   * and batches show as `<ring>PumpPackets`/`PumpBatches`, summed over the workers.
   */
  private startPump(ring: RingName, o: Omit<PumpOptions, 'memory' | 'ring'>, worker = 0): void {
    const w = this.layout.workerRings[worker] as unknown as Partial<Record<RingName, number>>;
    const at = worker === 0 ? this.layout[ring] : w[ring];
    if (at === undefined) throw new Error(`worker ${worker} has no ring ${ring}`);
    this.pumps.push({ ring, worker, id: this.io.startPump({ ...o, memory: this.view, ring: at }) });
  }

  /**
   * Per pump: packets moved and wake-ups that moved some (packets per batch = per recvmmsg/sendmmsg);
   * on the UDP 4500 pumps the UDP offloads (udpOffload 1 = in use, 0 = off, 2 = refused by the kernel).
   */
  private pumpCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    const add = (k: string, v: number) => { out[k] = (out[k] ?? 0) + v; };
    for (const { ring, id } of this.pumps) {
      const s = this.io.pumpStats(id);
      add(`${ring}PumpPackets`, s.packets);
      add(`${ring}PumpBatches`, s.batches);
      // a datagram bigger than a slot (MSG_TRUNC) or a failed send/receive: dropped by the pump, so shown
      add(`${ring}PumpDrops`, s.drops);
      add(`${ring}PumpErrors`, s.errors);
      if (ring === 'udpTx') { add('udpTxGsoSends', s.gsoSends); add('udpTxGsoSegments', s.gsoSegments); add('udpTxGsoFallbacks', s.gsoFallbacks); out.udpTxOffload = s.udpOffload; }
      // what the kernel's GRO merged and the pump cut back: UDP_GRO super-datagrams on the UDP 4500 pumps,
      // GRE merged by a NIC's GRO on nbmaRx (native/gre-split.c)
      if (ring === 'nbmaRx' || ring === 'udpRx' || ring === 'ikeRx') { add(`${ring}GroSupers`, s.groSupers); add(`${ring}GroSegments`, s.groSegments); }
      if (ring === 'udpRx' || ring === 'ikeRx') out[`${ring}Offload`] = s.udpOffload;
    }
    return out;
  }

  /** TUN carrier (if-state nhrp: supervisor/if-state.ts). */
  setCarrier(on: boolean): void {
    if (this.tunFd >= 0) this.io.tunSetCarrier(this.tunFd, on);
  }

  configureTunnel(p: TunnelParams): void {
    let flags = 0;
    if (p.key !== undefined) flags |= TUNNEL_FLAG.KEY;
    if (p.p2pDestination) flags |= TUNNEL_FLAG.P2P;
    else flags |= TUNNEL_FLAG.STRICT; // multipoint: GRE data only from NBMA addresses in the peer table (issue 8)
    if (p.redirect) flags |= TUNNEL_FLAG.REDIRECT;
    if (p.protected) flags |= TUNNEL_FLAG.PROTECTED;
    this.commands.cfgTunnel({
      source: ipToU32(p.source), tunnelIp: ipToU32(p.tunnelIp), tunnelPrefixLen: p.prefixLen, flags,
      key: p.key ?? 0, ipMtu: p.mtu, tcpMss: p.tcpMss ?? 0, ttl: 255,
      p2pDestination: p.p2pDestination ? ipToU32(p.p2pDestination) : 0,
      nhsFallback: p.nhsFallback ? ipToU32(p.nhsFallback) : 0,
    });
  }

  /** Starts every worker, each kept alive by its own keeper (a dead one is restarted alone). */
  private async startWorkers(): Promise<void> {
    const here = path.dirname(fileURLToPath(import.meta.url));
    // Bundled: dist/worker.mjs beside dist/dmvpnd.mjs. From source (tests): appliance/entry/worker.ts.
    const bundled = path.join(here, 'worker.mjs');
    const file = fs.existsSync(bundled) ? bundled : path.join(here, '../entry/worker.ts');
    const module = compileDataplane();
    const i32 = new Int32Array(this.memory.buffer);
    this.keepers = this.layout.workerRings.map((w, i) => new WorkerKeeper({
      file,
      workerData: { memory: this.memory, layoutBase: w.block, doorbell: w.workerDoorbell, stopFlag: w.block + L.stopFlag, module, workerIndex: i },
      beforeStart: () => {
        Atomics.store(i32, (w.block + L.stopFlag) >>> 2, 0);
        Atomics.and(i32, (w.block + L.testHooks) >>> 2, ~TEST_HOOK.TRAP_NOW); // the successor must not trap too
      },
      describeDeath: () => inFlightSlot(this.memory.buffer, this.layout, i),
      // a dead worker holds no SA: worker 0 must not wait for it before reusing an entry (core/tables.ts)
      // and the encryption jobs it was running for other workers are failed, so their owners go on
      onDeath: () => {
        if (i > 0) Atomics.store(new Uint32Array(this.memory.buffer), (this.layout.scratch + i * this.layout.scratchSize + SCRATCH.epoch) >>> 2, EPOCH_IDLE);
        failClaimedJobs(this.memory.buffer, this.layout, i);
      },
      label: i > 0 ? String(i) : undefined,
      log: this.log,
    }));
    for (const k of this.keepers) await k.start();
  }

  /**
   * Test hook (DMVPN_TEST_HOOKS=1 only): makes worker `worker` trap as a bug would (worker 0 through
   * TEST_TRAP in ctlTx; a worker > 0, which has no ctlTx, through its layout block's testHooks word).
   */
  crashWorkerForTest(worker = 0): boolean {
    if (!testHooksEnabled() || worker >= this.workers) return false;
    if (worker === 0) return this.commands.testTrap();
    const w = this.layout.workerRings[worker];
    Atomics.or(new Int32Array(this.memory.buffer), (w.block + L.testHooks) >>> 2, TEST_HOOK.TRAP_NOW);
    this.io.wake(this.view, w.workerDoorbell);
    return true;
  }

  sendNhrp(nbmaDst: string, packet: Uint8Array, sa = 0): boolean { return this.commands.nhrpOut(ipToU32(nbmaDst), packet, sa); }
  counters(): Record<string, number> {
    return {
      ...readCounters(this.memory.buffer, this.layout), ...readEspCounters(this.memory.buffer, this.layout),
      dataplaneRestarts: this.keepers.reduce((a, k) => a + k.restarts, 0), dataplaneRestartBackoffs: this.keepers.reduce((a, k) => a + k.backoffs, 0),
      ctlHandlerErrors: this.controls.reduce((a, c) => a + c.handlerErrors, 0),
      ...this.udpControlCounters(),
      // which ring was full, and the drops in front of the pumps (docs/dataplane.md "Back-pressure")
      ...readRingCounters(this.memory.buffer, this.layout), ...this.pumpCounters(),
      tunQueueDrops: this.tunName ? tunQueueDrops(this.tunName) : 0,
    };
  }
  /** The rate limit of non-ESP datagrams (IKE to JS) on UDP 4500, in whichever pump applies it: admitted and dropped. */
  private udpControlCounters() {
    let udpControlPassed = 0, udpControlDropped = 0;
    for (const { ring, id } of this.pumps) {
      if (ring !== 'ikeRx' && ring !== 'udpRx') continue;
      const s = this.io.pumpStats(id);
      udpControlPassed += s.controlPassed;
      udpControlDropped += s.controlDropped;
    }
    return { udpControlPassed, udpControlDropped };
  }
  /** The last worker death, one line ('' if none; with several workers, prefixed by the worker). */
  get lastWorkerDeath(): string {
    return this.keepers.map((k, i) => (k.lastDeath && this.workers > 1 ? `worker ${i}: ${k.lastDeath}` : k.lastDeath)).filter(Boolean).join('; ');
  }
  /** Per worker: its counters and restarts (`show dataplane workers`). */
  workerStats() { return workerStats(this.memory.buffer, this.layout, this.keepers.map((k) => k.restarts)); }
  get buffer(): ArrayBufferLike { return this.memory.buffer; }
  get layoutInfo() { return this.layout; }
  peers() { return readPeers(this.memory.buffer, this.layout); }

  async stop(): Promise<void> {
    await Promise.all(this.keepers.map((k, i) => k.stop(() => {
      const w = this.layout.workerRings[i];
      Atomics.store(new Int32Array(this.memory.buffer), (w.block + L.stopFlag) >>> 2, 1);
      this.io.wake(this.view, w.workerDoorbell);
    })));
    this.keepers = [];
    if (this.watchId >= 0) { this.io.unwatch(this.watchId); this.watchId = -1; }
    for (const { id } of this.pumps) this.io.stopPump(id);
    this.pumps.length = 0;
    for (const fd of [this.tunFd, this.rawFd, this.nhrpFd, this.espFd, this.udpFd, this.ikeFd, ...this.extraFds]) if (fd >= 0) this.io.closeFd(fd);
    this.extraFds.length = 0;
    this.tunFd = this.rawFd = this.nhrpFd = this.espFd = this.udpFd = this.ikeFd = -1;
    this.io.pcapClose();
  }
}
