// The running overlay of one tunnel interface: its data plane (rings, pumps, WASM worker), its NHRP
// engine and its IPsec SAs, wired together. NHRP decides bindings and shortcuts; this file turns them
// into data-plane commands (peer table, FIB, multicast list) and feeds data-plane notices back.
import type { ApplianceConfig, TunnelConfig } from '../config/model.js';
import { NhrpEngine } from '../nhrp/engine.js';
import { NhrpType } from '../nhrp/types.js';
import { DataplaneHost, type TunnelParams } from './dataplane-host.js';
import { IpsecManager } from './ipsec.js';
import { ipsecWarnings, type PlannedSa } from './ipsec-plan.js';
import { readSas, readDropSources, readEspCounters, SA_EVENT_REASON, type EspControlMessage } from '../dataplane/sa.js';
import { readCounters } from '../dataplane/commands.js';
import { DropLog } from './drop-log.js';
import { NhrpIdentityBinding } from './nhrp-identity.js';
import { IkeService, type RefusedPeer } from './ike-service.js';
import type { PeerCertCheck } from '../ike/tasks/v2/cert-auth.js';
import type { InstalledChild } from './ike-child-sas.js';
import type { IkeV2Engine } from './ike-engine-v2.js';
import { ikeV2SettingsFrom } from '../ike/config-v2.js';
import type { KeyLookup } from '../ike/pki/trustpoint.js';
import type { IkeSaV2 } from '../ike/sa/ike-sa-v2.js';
import { formatCryptoIkev2Sa } from '../show/crypto-ikev2.js';
import type { ExecIke } from './exec-context.js';
import { PEER_FLAG, PEER_SA_SHIFT } from '../dataplane/layout.js';
import { ipToU32 as u32, u32ToIp } from '../net/ipv4.js';
import type { KernelTable } from '../routing/kernel-table.js';
import { OverlayFib } from '../routing/overlay-fib.js';
import { networksBehind, overlayNextHop } from '../routing/nhrp-routes.js';
import { LineProtocol } from './if-state.js';
import type { Log } from '../log/log.js';

/** RFC 2332 5.2.0.1: ar$op.type is byte 17 of the fixed header (a retransmitted Registration Request
 * supersedes the one still waiting for the SA). */
const NHRP_OP_TYPE = 17;
/** NHRP refreshes bindings that carried traffic; the data plane's per-peer counters tell which. */
const USAGE_POLL_MS = 5000;
/** How soon the data plane follows an NHS going down or coming back (NHS state changes at most every second). */
const NHS_FOLLOW_MS = 500;

export class Overlay {
  readonly dataplane: DataplaneHost;
  readonly nhrp: NhrpEngine;
  /** the WASM FIB, following the kernel's routes out of this tunnel (and NHRP shortcuts over them) */
  readonly fib: OverlayFib;
  ipsec?: IpsecManager;
  /** IKE (crypto isakmp keys with tunnel protection): SAs negotiated per peer. */
  ike?: IkeService;
  /** line protocol: up, or with `if-state nhrp` only while an NHS answers (if-state.ts) */
  readonly lineProtocol: LineProtocol;
  private readonly mcastMembers = new Map<string, string>();
  private readonly lastTx = new Map<number, number>();
  private usageTimer?: NodeJS.Timeout;
  private fallbackTimer?: NodeJS.Timeout;
  private dropLog?: DropLog;
  /** While an NHRP packet received through ESP is processed: its source NBMA and the paired outbound SA. */
  private rxSa?: { nbma: string; out: number; id?: string };
  /** The IKE identity the NHRP packet being processed came through (identity-bound NHRP). */
  private rxIdentity?: string;
  readonly identities = new NhrpIdentityBinding({ identity: () => this.rxIdentity, certified: (id) => this.ike?.certifiedAddresses(id) });
  /** Tunnel peer -> the outbound SA its registration came through (peers sharing an NBMA behind one NAT). */
  private readonly peerSa = new Map<string, { nbma: string; out: number; id?: string }>();
  /** The PEER_SET flags last given for each tunnel peer (an IKE rekey re-pins it: repinPeers). */
  private readonly peerFlags = new Map<string, number>();
  /** Called when an NHS goes up or down (onNhsChange). */
  private readonly nhsListeners = new Set<() => void>();

  /** the key store's lookup (IKEv2 certificate authentication), set before start() */
  keys?: KeyLookup;
  /** the box's further say over IKEv2 peer certificates (the enrollment hub's), set before start() */
  certAccepted?: PeerCertCheck;

  constructor(private config: ApplianceConfig, public tunnel: TunnelConfig, readonly params: TunnelParams,
    private readonly sas: PlannedSa[], private readonly log: Log, readonly kernel: KernelTable) {
    this.dataplane = new DataplaneHost({
      nhrpIn: (src, dst, pkt, inSa) => {
        const out = inSa ? this.ipsec?.outFor(inSa - 1) ?? this.ike?.outboundFor(inSa - 1) : undefined;
        this.rxIdentity = inSa ? this.ike?.identityOf(inSa - 1) : undefined;
        this.rxSa = out !== undefined ? { nbma: src, out, id: this.rxIdentity } : undefined;
        try { this.nhrp.receive(src, dst, pkt); } finally { this.rxSa = undefined; this.rxIdentity = undefined; }
      },
      noEntry: (nextHop, dst) => {
        log.emit('NHRP', 'debug', 'NOENTRY', `no NHRP entry for next hop ${nextHop} (destination ${dst})`);
        this.nhrp.noEntry(nextHop, dst);
      },
      trafficIndication: (srcNbma, _dst, head) => { this.nhrp.trafficIndication(srcNbma, undefined, head); },
      esp: (msg) => this.espEvent(msg),
    }, (level, msg) => log.emit('DATAPLANE', level, 'EVENT', msg), params.workers ?? 1);
    const dp = this.dataplane.commands;
    this.fib = new OverlayFib(kernel, tunnel.name, dp, (level, msg) => log.emit('IPRT', level, 'FIB', msg));
    const nhrpLog = log.facility('NHRP');
    this.nhrp = new NhrpEngine({
      config: tunnel, tunnelIp: params.tunnelIp, tunnelPrefixLen: params.prefixLen, nbmaSource: params.source,
      send: (dst, bytes) => {
        // under IKE, NHRP to a peer without an SA waits for quick mode (and starts it)
        if (this.ike && !this.ike.ready(dst)) { this.ike.hold(dst, bytes, bytes[NHRP_OP_TYPE] === NhrpType.RegistrationRequest ? 'registration' : undefined); return; }
        if (!this.dataplane.sendNhrp(dst, bytes, this.saFor(dst))) log.emit('NHRP', 'warn', 'SEND', `control ring full: NHRP to ${dst} dropped`);
      },
      peerChanged: (ev) => {
        if (ev.op === 'set' && ev.nbma) {
          // learned through ESP: remember which SA pair this tunnel peer is behind (see rxSa)
          if (this.rxSa?.nbma === ev.nbma) this.peerSa.set(ev.tunnelIp, this.rxSa);
          const sa = this.peerSa.get(ev.tunnelIp);
          const saBits = sa && sa.nbma === ev.nbma ? (sa.out + 1) << PEER_SA_SHIFT : 0;
          const flags = (ev.flags.static ? PEER_FLAG.STATIC : 0) | (ev.flags.nat ? PEER_FLAG.NAT : 0);
          this.peerFlags.set(ev.tunnelIp, flags);
          dp.peerSet(u32(ev.tunnelIp), u32(ev.nbma), (flags | saBits) >>> 0);
          this.ike?.peerSet(ev.tunnelIp, ev.nbma);
        } else { dp.peerDel(u32(ev.tunnelIp)); this.peerSa.delete(ev.tunnelIp); this.peerFlags.delete(ev.tunnelIp); this.identities.release(ev.tunnelIp); this.ike?.peerGone(ev.tunnelIp); }
        this.updateMulticast(ev.op, ev.tunnelIp, ev.nbma);
      },
      // what is behind us and where resolutions go: the kernel's table, not the startup-config
      // (OS-configured LANs and routing-daemon routes count too; docs/routing.md)
      localPrefixes: () => networksBehind(kernel, this.tunnel.name, this.params.source),
      routeLookup: (dst) => overlayNextHop(kernel, this.tunnel.name, dst),
      routes: {
        installShortcut: (prefix, len, nh) => this.fib.installShortcut(prefix, len, nh),
        // the kernel's route for the same prefix (if any) takes over again when the shortcut goes
        removeShortcut: (prefix, len) => this.fib.removeShortcut(prefix, len),
      },
      log: (level, msg) => nhrpLog(level, msg),
      nhsChanged: () => { this.lineProtocol.update(); for (const fn of [...this.nhsListeners]) fn(); },
      // its SAs may be stale (a hub whose supervisor restarted): renegotiated (ike-service.ts), and the
      // registration goes at once, queued for the new SA, rather than at the client's next backoff
      nhsUnanswered: (nbma) => this.ike?.nhsUnanswered(nbma, () => this.nhrp.retransmitToNhs(nbma)),
      // only under IKE: an identity exists to bind to
      ownership: {
        check: (ip) => (this.ike ? this.identities.check(ip) : undefined),
        bind: (ip) => { if (this.ike) this.identities.bind(ip); },
        isOwner: (ip) => !!this.ike && this.identities.isOwner(ip),
      },
    });
    this.lineProtocol = new LineProtocol({
      name: tunnel.name, followsNhs: !!tunnel.ifStateNhrp && this.nhrp.nhsStatus().length > 0,
      anyNhsUp: () => this.nhrp.nhsStatus().some((s) => s.up),
      setCarrier: (on) => this.dataplane.setCarrier(on),
      notice: (text) => log.emit('LINEPROTO', 'notice', 'UPDOWN', text),
      warn: (text) => log.emit('LINEPROTO', 'warn', 'IFSTATE', text),
    });
  }

  /** Configuration mode changed something outside the tunnel: read it from now on (routes and LAN
   *  addresses reach NHRP and the FIB through the kernel table, not from here). */
  useConfig(c: ApplianceConfig): void { this.config = c; }

  /** Only our own certificates changed (live-config.ts): the running IKE takes them without a restart;
   *  throws (nothing taken) when IKE refuses them. */
  reconfigureCredentials(c: ApplianceConfig): string[] {
    if (!this.ike) throw new Error('IKE is not running');
    const r = this.ike.reconfigureCredentials(c.crypto);
    if (!r.ok) throw new Error(`IKE refused the new certificates: ${r.reason}`);
    this.config = c;
    return r.notes;
  }

  /** IKE runs on this tunnel (it may not: a protected tunnel whose crypto config is not usable yet). */
  get ikeRunning(): boolean { return this.ike !== undefined; }

  /**
   * Configuration mode changed only NHRP attributes of the tunnel: the data plane keeps running and the
   * NHRP engine keeps what it learnt (nhrp/engine.ts reconfigure). The data plane follows the multicast
   * list, the redirect switch and the NHS unresolved traffic goes to.
   */
  reconfigureNhrp(next: TunnelConfig, nhsFallback: string | undefined): void {
    const dp = this.dataplane.commands;
    const was = this.tunnel.nhrp.multicast, now = next.nhrp.multicast;
    const kept = (a: string) => now.includes(a) || (now.includes('dynamic') && [...this.mcastMembers.values()].includes(a));
    for (const m of was) if (m !== 'dynamic' && !kept(m)) dp.mcastDel(u32(m));
    if (was.includes('dynamic') && !now.includes('dynamic')) {
      for (const nbma of this.mcastMembers.values()) if (!now.includes(nbma)) dp.mcastDel(u32(nbma));
      this.mcastMembers.clear();
    }
    for (const m of now) if (m !== 'dynamic' && !was.includes(m)) dp.mcastAdd(u32(m));
    this.tunnel = next;
    this.nhrp.reconfigure(next);
    if (now.includes('dynamic') && !was.includes('dynamic')) {
      for (const e of this.nhrp.cache.entries()) if (e.flags.registered && e.nbma) this.updateMulticast('set', e.tunnelIp, e.nbma);
    }
    this.params.redirect = next.nhrp.redirect;
    this.params.nhsFallback = nhsFallback;
    this.dataplane.configureTunnel(this.params);
  }

  async start(pcapPath?: string): Promise<void> {
    const { dataplane: dp, params, tunnel } = this;
    await dp.start(params, pcapPath);
    if (params.protected) {
      for (const w of ipsecWarnings(this.sas)) this.log.emit('CRYPTO', 'warn', 'POLICY', w);
      this.ipsec = new IpsecManager(dp.sa, this.sas, {
        log: (level, msg) => this.log.emit('CRYPTO', level, 'SEQ', msg),
        readSas: () => readSas(dp.buffer, dp.layoutInfo),
      });
      this.ipsec.install();
      const peers = [...new Set(this.sas.map((s) => s.peer))];
      // with IKE and no manual SA, startIke says what protects the tunnel
      if (this.sas.length || !this.wantsIke()) {
        this.log.emit('CRYPTO', 'notice', 'IPSEC', `tunnel protection on ${tunnel.name}: ${this.sas.length} manual SAs installed` +
          (peers.length ? ` (peers ${peers.join(', ')})` : '') + '; GRE to a peer without an SA is dropped');
      }
    }
    if (params.protected && this.wantsIke()) await this.startIke();
    // the FIB follows the kernel from here on: the tunnel's connected subnet (on-link, next hop =
    // destination) and every route out of the tunnel
    this.fib.start();
    for (const m of tunnel.nhrp.multicast) if (m !== 'dynamic') dp.commands.mcastAdd(u32(m));
    this.lineProtocol.start();
    this.nhrp.start();
    this.usageTimer = setInterval(() => this.reportUsage(), USAGE_POLL_MS);
    this.usageTimer.unref();
    this.fallbackTimer = setInterval(() => this.followBestNhs(), NHS_FOLLOW_MS);
    this.fallbackTimer.unref();
    // the shared-memory counters only (the global block and the ESP block, which has dropCleartext and
    // dropEspPolicy): dp.counters() also reads /proc/net/dev and every pump's stats, which `show` may
    // do but a 2 s timer need not
    this.dropLog = new DropLog(() => ({ counters: { ...readCounters(dp.buffer, dp.layoutInfo), ...readEspCounters(dp.buffer, dp.layoutInfo) }, sources: readDropSources(dp.buffer, dp.layoutInfo) }),
      (msg) => this.log.emit('DATAPLANE', 'warn', 'DROP', msg));
    this.dropLog.start();
  }

  async stop(): Promise<void> {
    clearInterval(this.usageTimer);
    clearInterval(this.fallbackTimer);
    this.dropLog?.stop();
    this.nhsListeners.clear();
    this.fib.stop();
    this.ipsec?.stop();
    this.ike?.stop();
    this.nhrp.stop();
    await new Promise((r) => setTimeout(r, 50)); // let the last NHRP packets leave the ring
    await this.dataplane.stop();
  }

  /** IKE runs for a protected tunnel with `crypto isakmp key`s (IKEv1) or an ikev2 profile (IKEv2, its keyring checked when IKE starts). */
  private wantsIke(): boolean {
    const c = this.config.crypto;
    // whether an ikev2 profile applies, not whether its credentials are usable (IKE start says): no key store here
    return Boolean(c.isakmpKeys?.length) || ikeV2SettingsFrom(c, this.tunnel.protection?.profile) !== undefined;
  }

  /** IKE on the tunnel source: its load-time warnings, then UDP 500 (4500 comes through the data plane). */
  private async startIke(): Promise<void> {
    const dp = this.dataplane;
    const ikeLog = this.log.facility('ISAKMP');
    let ike: IkeService;
    try { ike = new IkeService({
      crypto: this.config.crypto, profile: this.tunnel.protection!.profile, local: this.params.source, sa: dp.sa, firstIndex: this.sas.length, capacity: dp.layoutInfo.saCapacity,
      sendNhrp: (nbma, packet) => dp.sendNhrp(nbma, packet),
      outboundInstalled: (c) => this.repinPeers(c),
      inboundPackets: (index) => readSas(dp.buffer, dp.layoutInfo).find((r) => r.index === index)?.packets ?? 0,
      log: (level, msg) => ikeLog(level, msg),
      keys: this.keys,
      certAccepted: this.certAccepted,
    }); } catch (e) {
      this.log.emit('CRYPTO', 'error', 'IKE', `tunnel protection on ${this.tunnel.name}: IKE not started: ${(e as Error).message}; GRE to a peer without an SA is dropped`);
      return;
    }
    for (const w of ike.warnings) this.log.emit('CRYPTO', 'warn', 'POLICY', w);
    await ike.start();
    this.ike = ike;
    this.log.emit('CRYPTO', 'notice', 'IKE', `tunnel protection on ${this.tunnel.name}: IKEv${ike.engine.version} on ${this.params.source} (UDP 500, NAT-T 4500); SAs are negotiated per peer`);
  }

  /** `show crypto ipsec sa`: the manual-sa name, or the ISAKMP conn-id an IKE SA came from. */
  saNameOf(index: number): string {
    const c = this.ike?.children.byIndex(index);
    return c ? `conn-id ${c.connId}` : this.ipsec?.nameOf(index) ?? `sa${index}`;
  }
  saOriginOf(index: number): string { return this.ike?.children.byIndex(index) ? 'isakmp' : 'manual'; }

  /** IKE for exec mode (show crypto isakmp sa / session, clear crypto ...). */
  ikeView(): ExecIke | undefined {
    const ike = this.ike;
    if (!ike) return undefined;
    return {
      sas: () => ike.engine.sas.map((s) => ({ local: s.local, remote: s.remote, initiator: s.initiator, state: s.state, connId: s.connId,
        remotePort: s.remotePort, localPort: s.localPort, establishedAt: s.establishedAt, version: ike.engine.version,
        cookies: { i: Buffer.from(s.ispi).toString('hex'), r: Buffer.from(s.rspi).toString('hex') } })),
      children: () => ike.children.all.map((c) => ({ peer: c.peer, spiIn: c.spiIn, spiOut: c.spiOut, mode: c.mode, udp: c.udp })),
      clear: (peer) => ike.clear(peer),
      clearIsakmp: (connId) => ike.clearIsakmp(connId),
      clearRefused: (refuse) => this.clearRefused(ike, refuse),
      ikev2Sa: (detail) => (ike.engine.version === 2
        ? formatCryptoIkev2Sa(ike.engine.sas as IkeSaV2[], (ike.engine as IkeV2Engine).policy, detail) : undefined),
      counters: () => ({ ...ike.engine.counters, ...ike.counters,
        firstPacketsQueued: ike.queue.counters.queued, firstPacketsSent: ike.queue.counters.sent, firstPacketsDropped: ike.queue.counters.dropped }),
    };
  }

  /** IKE SAs whose certificate `refuse` now refuses go (ike-service.ts), and with them the NHRP
   *  registrations their identity made, unless another SA of that identity is still up: a revoked spoke
   *  leaves `show dmvpn` at once instead of at the end of its holding time. */
  private clearRefused(ike: IkeService, refuse: PeerCertCheck): Array<RefusedPeer & { registrations: string[] }> {
    return ike.clearRefusedPeers(refuse).map((p) => {
      const id = p.peerId;
      const stillUp = id !== undefined && ike.engine.sas.some((s) => s.peerId === id && ike.engine.isEstablished(s));
      const registrations = id === undefined || stillUp ? [] : this.identities.addressesOf(id)
        .filter((ip) => this.nhrp.withdrawRegistration(ip, 'IKE peer refused'));
      for (const ip of registrations) this.log.emit('NHRP', 'notice', 'WITHDRAWN', `registration of ${ip} (IKE identity ${id}) withdrawn: ${p.reason}`);
      return { ...p, registrations };
    });
  }

  /** Calls `fn` whenever an NHS goes up or down, until the returned function is called or the tunnel stops. */
  onNhsChange(fn: () => void): () => void {
    this.nhsListeners.add(fn);
    return () => { this.nhsListeners.delete(fn); };
  }

  /** Unresolved traffic goes via the best responding NHS: follow failover and return in the data plane. */
  private followBestNhs(): void {
    this.lineProtocol.update();
    if (this.params.p2pDestination) return;
    const best = this.nhrp.nhsForwarding();
    if (!best || best === this.params.nhsFallback) return;
    this.log.emit('NHRP', 'notice', 'NHS_FWD', `traffic without an NHRP entry now goes via NHS ${best} (was ${this.params.nhsFallback ?? 'none'})`);
    this.params.nhsFallback = best;
    this.dataplane.configureTunnel(this.params);
  }

  private reportUsage(): void {
    for (const p of this.dataplane.peers()) {
      const tx = Number(p.txPackets);
      if ((this.lastTx.get(p.tunnelIp) ?? 0) !== tx) { this.lastTx.set(p.tunnelIp, tx); this.nhrp.markUsed(u32ToIp(p.tunnelIp)); }
    }
  }

  /** `ip nhrp map multicast dynamic`: spokes that registered with us receive tunnel multicast. */
  private updateMulticast(op: 'set' | 'del', tunnelIp: string, nbma?: string): void {
    const multicast = this.tunnel.nhrp.multicast;
    if (!multicast.includes('dynamic')) return;
    const dp = this.dataplane.commands;
    const had = this.mcastMembers.get(tunnelIp);
    const registered = op === 'set' && nbma && this.nhrp.cache.get(tunnelIp)?.flags.registered;
    if (had && had !== (registered ? nbma : undefined)) {
      this.mcastMembers.delete(tunnelIp);
      if (!multicast.includes(had) && ![...this.mcastMembers.values()].includes(had)) dp.mcastDel(u32(had));
    }
    if (registered && nbma) { this.mcastMembers.set(tunnelIp, nbma); dp.mcastAdd(u32(nbma)); }
  }

  /**
   * IKE installed outbound SA `c` (a new pair, a rekey): tunnel peers pinned to an IKE SA of the same
   * peer (address and identity) that is older or gone move to `c`, so they do not keep sending on a pair
   * that is about to expire, nor on a freed table slot another spoke behind the same NAT may reuse.
   */
  private repinPeers(c: InstalledChild): void {
    const ike = this.ike;
    if (!ike || c.outIndex === undefined) return;
    for (const [tunnelIp, s] of this.peerSa) {
      if (s.nbma !== c.peer || s.id !== c.peerId || s.out === c.outIndex || s.out < this.sas.length) continue; // below: manual SAs
      const pinned = ike.children.byIndex(s.out);
      if (pinned && pinned.createdAt > c.createdAt) continue;
      s.out = c.outIndex;
      this.dataplane.commands.peerSet(u32(tunnelIp), u32(s.nbma), ((this.peerFlags.get(tunnelIp) ?? 0) | ((s.out + 1) << PEER_SA_SHIFT)) >>> 0);
    }
  }

  /** Outbound SA index + 1 for NHRP to `nbma`: the SA the packet being answered came through, 0 = by NBMA. */
  private saFor(nbma: string): number {
    return this.rxSa?.nbma === nbma ? this.rxSa.out + 1 : 0;
  }

  private espEvent(m: EspControlMessage): void {
    if (m.type === 'SA_EVENT' && m.reason === SA_EVENT_REASON.SEQ_LOW) { this.ipsec?.seqLow(m.index); return; }
    if (m.type === 'SA_EVENT' && this.ike?.saEvent(m.index, m.reason)) return;
    if (m.type === 'SA_EVENT') {
      const what = m.reason === 1 ? 'soft lifetime reached (rekey needed)' : m.reason === 2 ? 'hard lifetime reached: SA stopped' : 'sequence numbers exhausted: SA stopped';
      this.log.emit('CRYPTO', m.reason === 1 ? 'notice' : 'warn', 'SA_EVENT', `SA ${this.ipsec?.nameOf(m.index) ?? m.index} spi 0x${m.spi.toString(16)}: ${what}`);
    } else if (m.type === 'SA_NEEDED' && this.ike) {
      this.ike.ensure(u32ToIp(m.nbma));
    } else if (m.type === 'IKE_IN' && this.ike) {
      this.ike.natTDatagram(u32ToIp(m.src), m.srcPort, m.message);
    } else if (m.type === 'SA_NEEDED') {
      this.log.emit('CRYPTO', 'warn', 'NO_SA', `no outbound SA for peer ${u32ToIp(m.nbma)}: GRE to it is dropped (IKEv2 is not available yet; configure crypto ipsec manual-sa)`);
    } else {
      this.log.emit('CRYPTO', 'debug', 'IKE', `IKE message from ${u32ToIp(m.src)}:${m.srcPort} ignored (IKEv2 not available yet)`);
    }
  }
}
