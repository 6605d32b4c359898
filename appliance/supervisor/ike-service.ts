// IKE in the supervisor: runs an IKE manager on the tunnel source address and turns what it
// negotiates into data-plane SAs. UDP 500 is a dgram socket here; UDP 4500 belongs to the data plane's
// pump (ESP in UDP), which hands IKE datagrams (after the non-ESP marker) to us as IKE_IN and sends ours
// with IKE_OUT, so the port is bound once. Child SAs go into the SA table (ike-child-sas.ts); NHRP
// packets for a peer without an SA wait in a bounded queue (first-packets.ts) until quick mode is done.
// The manager is reached through IkeEngine: IKEv1 (ike-engine.ts), or IKEv2 (ike-engine-v2.ts) when
// the tunnel's ipsec profile has `set ikev2-profile`, as on IOS.
import dgram from 'node:dgram';
import type { CryptoConfig } from '../config/model.js';
import type { ChildSaKeys } from '../ike/sa/child-sa.js';
import { NAT_T_PORT } from '../ike/encoding/constants.js';
import { SA_EVENT_REASON, type SaCommands } from '../dataplane/sa.js';
import { ipToU32 } from '../net/ipv4.js';
import { ChildSaTable, type InstalledChild } from './ike-child-sas.js';
import { FirstPackets } from './first-packets.js';
import { ikePolicy } from './ike-policy.js';
import { limitedLog } from './log-limit.js';
import { ikeKeyLogWriter } from './ike-keylog.js';
import { DeadPeerDetection } from './ike-dpd.js';
import { ikeV1Engine, type IkeEngine, type IkeEngineEvents, type IkeSaView, type Send } from './ike-engine.js';
import { ikeV2Engine, ikeV2PolicyFor } from './ike-engine-v2.js';
import type { KeyLookup } from '../ike/pki/trustpoint.js';
import type { PeerCertCheck } from '../ike/tasks/v2/cert-auth.js';
import type { LogFn } from '../log/log.js';

/** An IKEv1 quick mode initiator whose responder did not set the commit bit (strongSwan, say) installs
 * its outbound SA this long after sending message 3, so the responder (which installs on message 3)
 * has the inbound SA before the first ESP packet arrives. */
export const OUTBOUND_DELAY_MS = 300;
/** With the commit bit the initiator waits for CONNECTED (the responder installed); if that message is
 * lost it installs after this long anyway. */
export const CONNECTED_FALLBACK_MS = 1000;
/** Child SAs are renegotiated at this fraction of their lifetime (the side that started them) ... */
export const REKEY_INITIATOR = 0.85;
/** ... or at this fraction by the other side, if the first did not. */
export const REKEY_RESPONDER = 0.93;
/** SAs with an NBMA address no NHRP peer uses any more are deleted after this long (a re-resolution
 * or re-registration in between keeps them). */
export const IDLE_PEER_GRACE_MS = 5000;
/** An NHS that stopped answering registrations: how long its IKE SAs are probed (DPD) before they are
 *  cleared, and how often an IKEv1 R-U-THERE is sent meanwhile (IKEv2 retransmits its own request). */
export const NHS_PROBE_MS = 3000;
const NHS_PROBE_RESEND_MS = 1000;
/** The ISAKMP SA's initiator negotiates the next one at this fraction of its lifetime. */
export const PHASE1_REKEY = 0.9;
/** INITIAL-CONTACT clears SAs established at least this long before the new one (not a sibling from a
 * simultaneous initiation, which is established within a round trip or two of it). */
export const INITIAL_CONTACT_GRACE_MS = 10000;

export interface IkeServiceOptions {
  crypto: CryptoConfig;
  /** the ipsec profile of `tunnel protection` */
  profile: string;
  local: string;
  sa: SaCommands;
  /** SA table entries IKE may use: `firstIndex` .. `capacity - 1`. */
  firstIndex: number;
  capacity: number;
  /** NHRP out through the data plane (a waiting first packet, once the SA is up). */
  sendNhrp(nbma: string, packet: Uint8Array): boolean;
  /** The outbound half of `c` is installed (tunnel peers pinned to an older pair of the same peer move to it). */
  outboundInstalled?(c: InstalledChild): void;
  /** Inbound packet count of SA `index` (DPD: traffic from the peer proves it alive). */
  inboundPackets?(index: number): number;
  log: LogFn;
  /** the key store (certificate authentication: the trustpoint's private key) */
  keys?: KeyLookup;
  /** UDP port for IKE (500; tests may pass 0). */
  port?: number;
  /** asked about every peer certificate IKEv2 verified (the hub's enrollment server: only enrolled keys) */
  certAccepted?: PeerCertCheck;
}

/** An IKE SA clearRefusedPeers took down: its peer, identity and why. */
export interface RefusedPeer { remote: string; peerId?: string; reason: string }

interface ChildTimers { child: InstalledChild; rekey?: NodeJS.Timeout; expire: NodeJS.Timeout; rekeyed: boolean }
interface SaTimers { expire?: NodeJS.Timeout; rekey?: NodeJS.Timeout }
/** The IKE SAs with a silent NHS, probed before they are cleared (nhsUnanswered). */
interface NhsProbe { sas: IkeSaView[]; resend?: NodeJS.Timeout; decide: NodeJS.Timeout }

export class IkeService {
  readonly engine: IkeEngine;
  readonly children: ChildSaTable;
  readonly queue = new FirstPackets();
  private socket?: dgram.Socket;
  /** ISAKMP SAs on which we started a child exchange (so we know our quick mode role). */
  private readonly childInitiated = new Set<IkeSaView>();
  private readonly childTimers = new Map<InstalledChild, ChildTimers>();
  /** outbound halves waiting for CONNECTED, by peer and outbound SPI */
  private readonly awaitingConnected = new Map<string, () => void>();
  private readonly saTimers = new Map<IkeSaView, SaTimers>();
  readonly counters = { childInstallFailed: 0, dpdDeclaredDead: 0, initialContactCleared: 0, expired: 0, rekeys: 0, nhsSilentCleared: 0, nhsSilentKept: 0 };
  private readonly notes: string[];
  private stopped = false;
  private natTimer?: NodeJS.Timeout;
  /** tunnel address -> NBMA address of every NHRP peer (idle SAs go when no peer uses their address) */
  private readonly nbmaOf = new Map<string, string>();
  private readonly noKeyLogged = new Set<string>();
  private readonly dpd: DeadPeerDetection;
  /** silent NHSes whose IKE SAs are being probed, by NBMA address */
  private readonly nhsProbes = new Map<string, NhsProbe>();

  constructor(private readonly o: IkeServiceOptions) {
    // IKEv2 when an ikev2 profile applies, usable or not (the engine reports why not): no key store for this
    const v2 = ikeV2PolicyFor(o.crypto, o.profile) !== undefined;
    // IKEv2 checks liveness itself (the ikev2 profile's `dpd`); `crypto isakmp keepalive` is IKEv1's
    this.dpd = new DeadPeerDetection(v2 ? undefined : o.crypto.isakmpKeepalive, {
      probe: (sa) => { this.engine.dpdProbe(sa); },
      inboundPackets: (sa) => this.childrenOf(sa).reduce((n, c) => n + (this.o.inboundPackets?.(c.inIndex) ?? 0), 0),
      dead: (sa) => this.peerDead(sa),
    });
    this.children = new ChildSaTable(o.sa, o.firstIndex, o.capacity, ikeKeyLogWriter((m) => this.o.log('error', m)));
    const send: Send = (d, address, port, localPort) => this.send(d, address, port, localPort);
    const policy = ikePolicy(o.crypto, o.profile);
    const events: IkeEngineEvents = {
      established: (sa) => this.established(sa),
      failed: (sa, reason) => { this.o.log('warn', `ISAKMP with ${sa.remote} failed: ${reason}`); this.forgetSa(sa); this.queue.discard(sa.remote); },
      child: (sa, keys) => this.childUp(sa, keys),
      childDeleted: (sa, spis) => this.childDeleted(sa, spis),
      childConnected: (sa, spi) => this.awaitingConnected.get(`${sa.remote}/${spi}`)?.(),
      deleted: (sa) => this.forgetSa(sa),
      alive: (sa) => { this.dpd.alive(sa); this.nhsProbeAnswered(sa); },
      initialContact: (sa) => this.initialContact(sa),
      ikeRekeyed: (old, next) => this.ikeRekeyed(old, next),
    };
    // ikeV2Engine throws when the ikev2 profile cannot be used (the overlay then starts no IKE)
    this.engine = v2 ? ikeV2Engine(policy.crypto, o.profile, o.local, send, limitedLog(o.log), events, o.keys, o.certAccepted)
      : ikeV1Engine(policy.crypto, o.local, send, limitedLog(o.log), events);
    this.notes = [...policy.notes, ...this.engine.configure(policy.crypto)];
  }

  /**
   * Our own certificates changed and nothing else of the crypto config (a renewal, cert-renewal.ts):
   * the engine takes the new policy in place. Established SAs stay; new SAs and rekeys use the new
   * certificate. Refused (the previous policy kept) when the new policy is unusable, with the reason.
   */
  reconfigureCredentials(crypto: CryptoConfig): { ok: true; notes: string[] } | { ok: false; reason: string } {
    const policy = ikePolicy(crypto, this.o.profile).crypto;
    if (this.engine.version === 2) {
      const p = ikeV2PolicyFor(policy, this.o.profile, this.o.keys);
      if (!p || 'error' in p) return { ok: false, reason: p ? p.error : `ipsec profile ${this.o.profile} has no ikev2-profile` };
    }
    return { ok: true, notes: this.engine.configure(policy) };
  }

  /** Load-time warnings (weak algorithms, IOS defaults) and refusals of the crypto config. */
  get warnings(): readonly string[] { return this.notes; }

  async start(): Promise<void> {
    const s = dgram.createSocket({ type: 'udp4' });
    s.on('message', (msg, r) => this.engine.handleDatagram(new Uint8Array(msg), r.address, r.port, 500));
    s.on('error', (e) => this.o.log('error', `ISAKMP socket: ${e.message}`));
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(this.o.port ?? 500, this.o.local, () => { s.off('error', reject); resolve(); });
    });
    this.socket = s;
    const nat = this.o.crypto.natKeepalive;
    if (nat) { this.natTimer = setInterval(() => this.natKeepalives(), nat * 1000); this.natTimer.unref(); }
  }

  /** `crypto isakmp nat keepalive S`: one 0xFF byte in UDP 4500 to every peer reached through a NAT (RFC 3948 2.3). */
  private natKeepalives(): void {
    const sent = new Set<string>();
    for (const c of this.children.all) {
      if (!c.udpPorts || sent.has(`${c.peer}:${c.udpPorts.remote}`)) continue;
      sent.add(`${c.peer}:${c.udpPorts.remote}`);
      this.o.sa.keepalive(ipToU32(c.peer), c.udpPorts.local, c.udpPorts.remote);
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.natTimer);
    for (const t of this.childTimers.values()) { clearTimeout(t.rekey); clearTimeout(t.expire); }
    for (const t of this.saTimers.values()) { clearTimeout(t.expire); clearTimeout(t.rekey); }
    this.dpd.stop();
    for (const nbma of [...this.nhsProbes.keys()]) this.endNhsProbe(nbma);
    this.engine.close();
    this.socket?.close();
    this.socket = undefined;
  }

  /** IKE that arrived on UDP 4500 through the data plane (IKE_IN: the non-ESP marker already removed). */
  natTDatagram(src: string, srcPort: number, message: Uint8Array): void {
    const withMarker = new Uint8Array(4 + message.length);
    withMarker.set(message, 4);
    this.engine.handleDatagram(withMarker, src, srcPort, NAT_T_PORT);
  }

  /** The addresses the certificate of `identity` names, from its newest established IKE SA authenticated
   *  by certificate; undefined when that identity authenticated otherwise (identity-bound NHRP). */
  certifiedAddresses(identity: string): readonly string[] | undefined {
    return this.engine.sas.filter((s) => s.peerId === identity && s.peerCertAddresses && this.engine.isEstablished(s))
      .sort((a, b) => (b.establishedAt ?? 0) - (a.establishedAt ?? 0))[0]?.peerCertAddresses;
  }

  /** The IKE identity of the peer whose packets arrive on SA table entry `inIndex` (undefined: not ours). */
  identityOf(inIndex: number): string | undefined {
    const c = this.children.byIndex(inIndex);
    return c && c.inIndex === inIndex ? c.peerId : undefined;
  }

  /** The outbound SA table entry for the peer whose packet came in on entry `inIndex`: its newest
   *  installed pair's (spokes behind one NAT share an address, so NHRP answers and the tunnel peer go out
   *  by the peer's identity too; the newest, not the pair the packet came on, so a rekey is not undone by
   *  a late packet on the old pair). */
  outboundFor(inIndex: number): number | undefined {
    const c = this.children.byIndex(inIndex);
    if (!c || c.inIndex !== inIndex) return undefined;
    const newest = this.children.forPeer(c.peer).filter((x) => x.peerId === c.peerId && x.outIndex !== undefined)
      .sort((a, b) => b.createdAt - a.createdAt)[0];
    return newest?.outIndex ?? c.outIndex;
  }

  /** An outbound SA to `nbma` is installed. */
  ready(nbma: string): boolean { return this.children.hasOutbound(nbma); }

  /** NHRP to a peer without an SA: kept until the SA is up, and IKE started if it is not running. */
  hold(nbma: string, packet: Uint8Array, supersedes?: string): boolean {
    const kept = this.queue.add(nbma, packet, supersedes);
    this.ensure(nbma);
    return kept;
  }

  /** Makes sure an SA with `nbma` is up or being negotiated (SA_NEEDED, NHRP to a new peer). */
  ensure(nbma: string): void {
    if (this.stopped || this.children.forPeer(nbma).length) return;
    // an SA cleared here that only waits for the answer to its Delete (IKEv2) is gone for us: it
    // neither blocks a new negotiation (a silent peer would hold it for the Delete's whole
    // retransmission schedule, about a minute) nor counts as one in progress
    const sas = this.engine.sas.filter((s) => s.remote === nbma && !this.engine.isDeleting(s));
    const established = this.isakmpFor(nbma);
    if (established) {
      if (!this.childInitiated.has(established)) this.startChild(established);
      return;
    }
    if (sas.length) return; // main mode in progress (ours or the peer's): its quick mode follows
    if (!this.engine.hasKeyFor(nbma)) {
      if (this.noKeyLogged.size >= 1024) this.noKeyLogged.clear();
      const where = this.engine.version === 2 ? 'ikev2 keyring' : 'crypto isakmp key';
      if (!this.noKeyLogged.has(nbma)) { this.noKeyLogged.add(nbma); this.o.log('warn', `no ${where} for ${nbma}: no SA can be negotiated, GRE to it is dropped`); }
      this.queue.discard(nbma);
      return;
    }
    this.o.log('debug', `ISAKMP: initiating ${this.engine.version === 2 ? 'IKE_SA_INIT' : 'main mode'} with ${nbma}`);
    this.initiate(nbma);
  }

  /** A new IKE SA with `peer`; with IKEv2 its first Child SA is ours too (it comes with IKE_AUTH). */
  private initiate(peer: string): void {
    const sa = this.engine.initiate(peer);
    if (this.engine.childWithAuth) this.childInitiated.add(sa);
  }

  /** NHRP has `tunnelIp` at `nbma` (a registration, a resolution, a static map). */
  peerSet(tunnelIp: string, nbma: string): void { this.nbmaOf.set(tunnelIp, nbma); }

  /**
   * NHRP dropped `tunnelIp` (an idle shortcut expired, a registration ran out, `clear ip nhrp`): when
   * no tunnel peer is at its NBMA address any more after a grace period, the SAs with that address go
   * too (delete notifies), as the shortcut they served has.
   */
  peerGone(tunnelIp: string): void {
    const nbma = this.nbmaOf.get(tunnelIp);
    this.nbmaOf.delete(tunnelIp);
    if (!nbma) return;
    const t = setTimeout(() => {
      if (this.stopped || [...this.nbmaOf.values()].includes(nbma)) return;
      if (!this.children.forPeer(nbma).length && !this.engine.sas.some((s) => s.remote === nbma)) return;
      this.o.log('notice', `no NHRP peer at ${nbma} any more: its IPsec and ISAKMP SAs are deleted`);
      this.clear(nbma);
    }, IDLE_PEER_GRACE_MS);
    t.unref();
  }

  /**
   * The NHS at `nbma` left several registrations in a row unanswered. Its SAs may be stale: a hub whose
   * supervisor restarted (a crash its watchdog healed, a reload) has no SAs, drops what we send in ours
   * as an unknown SPI, and, a responder, never starts IKE towards us; without DPD configured nothing
   * else would tell us before the SAs' lifetime ran out (IOS's hub needs `crypto isakmp
   * invalid-spi-recovery` or the spokes' DPD for this). So they are cleared (a Delete to the NHS, in
   * case it still listens) and negotiated afresh, with INITIAL-CONTACT, for the next registration. An
   * NHS that is really gone costs a main mode retransmitted to it instead of ESP dropped there.
   *
   * But first its IKE SAs are probed for NHS_PROBE_MS (an R-U-THERE, an IKEv2 liveness check): an
   * answer proves the NHS still holds them, so its silence has another cause (its NHRP overloaded or
   * rate-limiting, a path that drops our registrations), and tearing the SAs down would only add an IKE
   * negotiation per spoke to a hub already in trouble. They are kept then. A restarted hub cannot
   * answer: it does not know the SA the probe is protected by.
   */
  nhsUnanswered(nbma: string, renegotiating: () => void = () => {}): void {
    if (this.stopped || this.nhsProbes.has(nbma)) return;
    const sas = this.engine.sas.filter((sa) => sa.remote === nbma && this.engine.isEstablished(sa) && !this.engine.isDeleting(sa));
    if (!sas.length) return this.nhsSilentClear(nbma, renegotiating);
    const probe: NhsProbe = { sas, decide: setTimeout(() => { this.endNhsProbe(nbma); this.nhsSilentClear(nbma, renegotiating); }, NHS_PROBE_MS) };
    probe.decide.unref();
    this.nhsProbes.set(nbma, probe);
    this.o.log('notice', `ISAKMP: NHS ${nbma} stopped answering registrations: probing its ${sas.length} ISAKMP SA(s) before clearing them`);
    const send = () => { for (const sa of probe.sas) this.engine.dpdProbe(sa); };
    send();
    // IKEv1 informational exchanges are not retransmitted: resend the R-U-THERE
    if (this.engine.version === 1) { probe.resend = setInterval(send, NHS_PROBE_RESEND_MS); probe.resend.unref(); }
  }

  /** An authenticated message on `sa`: a probe of a silent NHS answered, its SAs kept. */
  private nhsProbeAnswered(sa: IkeSaView): void {
    const probe = this.nhsProbes.get(sa.remote);
    if (!probe?.sas.includes(sa)) return;
    this.endNhsProbe(sa.remote);
    this.counters.nhsSilentKept++;
    this.o.log('notice', `ISAKMP: NHS ${sa.remote} stopped answering registrations, but its ISAKMP SA (${sa.connId}) answers: its SAs kept`);
  }

  private endNhsProbe(nbma: string): void {
    const probe = this.nhsProbes.get(nbma);
    if (!probe) return;
    clearTimeout(probe.decide);
    clearInterval(probe.resend);
    this.nhsProbes.delete(nbma);
  }

  /** `renegotiating`: told once the new negotiation has started (NHRP sends its registration now, queued
   *  for the new SA, instead of at its next backoff). */
  private nhsSilentClear(nbma: string, renegotiating: () => void): void {
    if (this.stopped) return;
    const n = this.clear(nbma);
    if (!n) return;
    this.counters.nhsSilentCleared++;
    this.o.log('notice', `ISAKMP: NHS ${nbma} stopped answering registrations: its ${n} SAs cleared, negotiated afresh for the next registration`);
    this.ensure(nbma);
    renegotiating();
  }

  /** `clear crypto sa [peer X]`: delete notifies, Child SAs out of the data plane, ISAKMP SAs cleared. */
  clear(peer?: string): number {
    let n = 0;
    for (const c of [...this.children.all]) if (!peer || c.peer === peer) { this.removeChild(c, true); n++; }
    for (const sa of this.engine.sas) if (!peer || sa.remote === peer) { this.engine.clear(sa); n++; }
    return n;
  }

  /** Asks `refuse` again about the certificate of every established IKE SA and takes down those it now
   *  refuses (a device key unbound on the enrollment hub): their IPsec SAs out of the data plane, the IKE
   *  SA deleted with a Delete to the peer, as `clear crypto sa` does, but only that SA: another peer
   *  behind the same NAT shares the address, not the certificate. */
  clearRefusedPeers(refuse: PeerCertCheck): RefusedPeer[] {
    const gone: RefusedPeer[] = [];
    for (const sa of this.engine.sas) {
      if (!sa.peerCert || !this.engine.isEstablished(sa)) continue;
      const reason = refuse(sa.peerCert);
      if (reason === undefined) continue;
      this.o.log('warn', `ISAKMP (${sa.connId}) with ${sa.remote} (${sa.peerId}) torn down: ${reason}`);
      for (const c of this.childrenOf(sa)) this.removeChild(c, false);
      this.forgetSa(sa);
      this.engine.clear(sa);
      gone.push({ remote: sa.remote, peerId: sa.peerId, reason });
    }
    return gone;
  }

  /** `clear crypto isakmp [conn-id]`: ISAKMP SAs only; the IPsec SAs live on until they expire. */
  clearIsakmp(connId?: number): number {
    let n = 0;
    for (const sa of this.engine.sas) if (connId === undefined || sa.connId === connId) { this.engine.clear(sa); n++; }
    return n;
  }

  private send(d: Uint8Array, address: string, port: number, localPort: number): void {
    if (localPort === NAT_T_PORT) {
      if (!this.o.sa.ikeOut(ipToU32(address), d, NAT_T_PORT, port)) this.o.log('warn', `ISAKMP to ${address}:${port} dropped: control ring full`);
      return;
    }
    this.socket?.send(d, port, address);
  }

  private established(sa: IkeSaView): void {
    this.o.log('debug', `ISAKMP (${sa.connId}): SA with ${sa.remote} is ${sa.state} (${sa.initiator ? 'initiator' : 'responder'})`);
    const t: SaTimers = {};
    this.saTimers.set(sa, t);
    const life = sa.policy?.lifetime;
    if (life) {
      t.expire = setTimeout(() => this.isakmpExpired(sa), life * 1000); t.expire.unref();
      // phase 1 rekey: the initiator negotiates the next ISAKMP SA before this one ends
      if (sa.initiator) { t.rekey = setTimeout(() => this.isakmpRekey(sa), PHASE1_REKEY * life * 1000); t.rekey.unref(); }
    }
    this.dpd.watch(sa);
    // a new ISAKMP SA for a peer whose IPsec SAs are up (phase 1 rekey) needs no quick mode now
    if (this.engine.childWithAuth) return; // IKEv2: the Child SA is already on its way (IKE_AUTH)
    if (sa.initiator && (!this.children.hasOutbound(sa.remote) || this.queue.waiting(sa.remote))) this.startChild(sa);
  }

  /** IKEv2 IKE SA rekey: what the service keeps per SA moves to the new one, as do its Child SAs. */
  private ikeRekeyed(old: IkeSaView, next: IkeSaView): void {
    const t = this.saTimers.get(old);
    if (t) { this.saTimers.delete(old); this.saTimers.set(next, t); }
    if (this.childInitiated.delete(old)) this.childInitiated.add(next);
    this.dpd.forget(old);
    this.dpd.watch(next);
    for (const c of this.children.forPeer(old.remote)) if (c.connId === old.connId) c.connId = next.connId;
  }

  /** The newest established ISAKMP SA with `peer` (after a phase 1 rekey the old one ends soon); with
   *  `peerId`, the one with that identity (spokes behind one NAT share the address, not the identity). */
  private isakmpFor(peer: string, peerId?: string): IkeSaView | undefined {
    return this.engine.sas.filter((s) => s.remote === peer && (peerId === undefined || s.peerId === peerId) && this.engine.isEstablished(s))
      .sort((a, b) => b.connId - a.connId)[0];
  }

  /** The IPsec SAs of the peer behind `sa`: its address and, as several may share one, its identity. */
  private childrenOf(sa: IkeSaView): InstalledChild[] {
    return this.children.forPeer(sa.remote).filter((c) => c.peerId === sa.peerId);
  }

  private isakmpRekey(sa: IkeSaView): void {
    if (this.stopped || !this.engine.isEstablished(sa) || this.isakmpFor(sa.remote, sa.peerId) !== sa) return;
    this.o.log('debug', `ISAKMP (${sa.connId}) with ${sa.remote} near its lifetime: negotiating the next one`);
    this.initiate(sa.remote);
  }

  private startChild(sa: IkeSaView): void {
    if (this.engine.initiateChild(sa)) this.childInitiated.add(sa);
  }

  /** Installs the pair; resolves once the data plane has applied the inbound half (ike-v1.ts waits for
   *  that before its message 3 or CONNECTED tells the peer to use it). */
  private childUp(sa: IkeSaView, keys: ChildSaKeys): Promise<boolean> | undefined {
    const weStarted = this.childInitiated.delete(sa);
    // IKEv1 agrees on a byte limit in quick mode; IKEv2 negotiates none, so the profile's applies locally
    const kb = keys.lifetimeKilobytes ?? this.o.crypto.ipsecProfiles?.find((p) => p.name === this.o.profile)?.lifetimeKilobytes;
    // the outbound half goes in by flush below, the one place that tells the overlay (outboundInstalled:
    // tunnel peers pinned to the previous pair move to this one after a rekey)
    const c = this.children.install(keys, sa.connId, kb ? BigInt(kb) * 1024n : undefined);
    if (typeof c === 'string') {
      this.counters.childInstallFailed++;
      this.o.log('error', `IPsec SA with ${sa.remote} not installed: ${c}`);
      return undefined;
    }
    const applied = this.o.sa.whenApplied?.(); // before the outbound half below, which may wait
    c.peerId = sa.peerId;
    this.o.log('notice', `IPsec SA with ${sa.remote} installed (${c.mode}${c.udp ? ', UDP-encapsulated' : ''}, in 0x${c.spiIn.toString(16)}, out 0x${c.spiOut.toString(16)}, conn-id ${sa.connId})`);
    const soft = (weStarted ? REKEY_INITIATOR : REKEY_RESPONDER) * c.lifetime * 1000;
    const timers: ChildTimers = { child: c, rekeyed: false,
      rekey: setTimeout(() => this.rekey(timers), soft), expire: setTimeout(() => this.expire(c), c.lifetime * 1000) };
    timers.rekey?.unref(); timers.expire.unref();
    this.childTimers.set(c, timers);
    let fallback: NodeJS.Timeout | undefined;
    const key = `${c.peer}/${c.spiOut}`;
    const flush = () => {
      clearTimeout(fallback);
      if (this.awaitingConnected.get(key) === flush) this.awaitingConnected.delete(key);
      if (this.stopped || !this.childTimers.has(c)) return; // removed meanwhile (deleted, cleared, expired)
      if (this.children.installOutbound(c)) this.o.outboundInstalled?.(c);
      this.queue.flush(c.peer, (p) => this.o.sendNhrp(c.peer, p));
    };
    // Our side started the exchange, so the peer may not have installed its inbound half yet:
    // IKEv2's responder installs before it answers (the answer is the proof); an IKEv1 responder that
    // set the commit bit says CONNECTED; one that did not gets OUTBOUND_DELAY_MS.
    if (!weStarted || this.engine.version === 2) flush();
    else if (keys.peerCommits) {
      this.awaitingConnected.set(key, flush);
      fallback = setTimeout(() => {
        if (this.childTimers.has(c)) this.o.log('warn', `IPsec SA with ${c.peer}: no CONNECTED for out 0x${c.spiOut.toString(16)} in ${CONNECTED_FALLBACK_MS} ms, sending on it anyway`);
        flush();
      }, CONNECTED_FALLBACK_MS);
      fallback.unref();
    } else setTimeout(flush, OUTBOUND_DELAY_MS).unref();
    return applied;
  }

  /**
   * SA_EVENT from the data plane for SA `index`: the soft byte lifetime (`set security-association
   * lifetime kilobytes`) starts the rekey, the hard one or exhausted sequence numbers end the pair.
   * False when the SA is not one of ours (a manual SA).
   */
  saEvent(index: number, reason: number): boolean {
    const c = this.children.byIndex(index);
    if (!c) return false;
    const t = this.childTimers.get(c);
    if (reason === SA_EVENT_REASON.SOFT_LIFETIME) { if (t) this.rekey(t); }
    else if (reason === SA_EVENT_REASON.HARD_LIFETIME || reason === SA_EVENT_REASON.SEQ_EXHAUSTED) {
      this.o.log('notice', `IPsec SA with ${c.peer} (in 0x${c.spiIn.toString(16)}): ${reason === SA_EVENT_REASON.HARD_LIFETIME ? 'byte lifetime' : 'sequence numbers'} used up`);
      this.expire(c);
    }
    return true;
  }

  /** Make-before-break: a new pair is negotiated; the old one stays until its lifetime ends. */
  private rekey(t: ChildTimers): void {
    if (t.rekeyed || this.stopped) return;
    // the other side already renegotiated: a newer pair with the peer exists
    if (this.children.forPeer(t.child.peer).some((c) => c.peerId === t.child.peerId && c.createdAt > t.child.createdAt)) return;
    t.rekeyed = true;
    this.counters.rekeys++;
    const sa = this.isakmpFor(t.child.peer, t.child.peerId);
    this.o.log('debug', `IPsec SA with ${t.child.peer} (in 0x${t.child.spiIn.toString(16)}) near its lifetime: rekeying`);
    if (sa) this.startChild(sa);
    else this.initiate(t.child.peer); // phase 1 is gone too: a new main mode, then quick mode
  }

  private expire(c: InstalledChild): void {
    this.counters.expired++;
    this.o.log('debug', `IPsec SA with ${c.peer} (in 0x${c.spiIn.toString(16)}) expired`);
    this.removeChild(c, true);
  }

  /** Takes `c` out of the data plane; `notify`: tell the peer (delete of our inbound SPI). */
  private removeChild(c: InstalledChild, notify: boolean): void {
    const t = this.childTimers.get(c);
    if (t) { clearTimeout(t.rekey); clearTimeout(t.expire); this.childTimers.delete(c); }
    this.children.remove(c);
    if (!notify) return;
    const sa = this.isakmpFor(c.peer, c.peerId);
    if (sa) this.engine.deleteChildren(sa, [c.spiIn]);
  }

  private childDeleted(sa: IkeSaView, spis: number[]): void {
    for (const spi of spis) {
      const c = this.children.byOutboundSpi(sa.remote, spi);
      if (!c) continue;
      this.o.log('notice', `IPsec SA with ${sa.remote} deleted by the peer (out 0x${spi.toString(16)})`);
      this.removeChild(c, false);
    }
  }

  private forgetSa(sa: IkeSaView): void {
    const t = this.saTimers.get(sa);
    if (t) { clearTimeout(t.expire); clearTimeout(t.rekey); this.saTimers.delete(sa); }
    this.dpd.forget(sa);
    this.childInitiated.delete(sa);
  }

  private isakmpExpired(sa: IkeSaView): void {
    this.o.log('debug', `ISAKMP (${sa.connId}) with ${sa.remote}: lifetime over, deleted (a new one is negotiated when an IPsec SA needs it)`);
    this.engine.clear(sa);
  }

  private initialContact(sa: IkeSaView): void {
    // The peer rebooted: SAs we established with it well before this one are dead on its side. One
    // established just before is a sibling from simultaneous initiation (two spokes starting at once
    // both send INITIAL-CONTACT) and stays.
    const cutoff = (sa.establishedAt ?? Date.now()) - INITIAL_CONTACT_GRACE_MS;
    // Only SAs of the same identity: another spoke behind the same NAT shares the address, not the reboot.
    const old = this.engine.sas.filter((s) => s.remote === sa.remote && s.peerId === sa.peerId && s !== sa && (s.establishedAt ?? Infinity) < cutoff);
    const live = new Set(this.engine.sas.filter((s) => s.remote === sa.remote && !old.includes(s)).map((s) => s.connId));
    const stale = this.childrenOf(sa).filter((c) => !live.has(c.connId) && c.createdAt < cutoff);
    if (!stale.length && !old.length) return;
    this.counters.initialContactCleared++;
    this.o.log('notice', `ISAKMP: INITIAL-CONTACT from ${sa.remote}: ${stale.length} IPsec and ${old.length} ISAKMP SAs of its previous life removed`);
    for (const c of stale) this.removeChild(c, false);
    for (const s of old) { this.forgetSa(s); this.engine.clear(s); }
  }

  private peerDead(sa: IkeSaView): void {
    this.counters.dpdDeclaredDead++;
    this.o.log('warn', `ISAKMP: peer ${sa.remote} is dead (no answer to DPD): its SAs are cleared`);
    for (const c of this.childrenOf(sa)) this.removeChild(c, false);
    for (const s of this.engine.sas.filter((x) => x.remote === sa.remote && x.peerId === sa.peerId)) { this.forgetSa(s); this.engine.clear(s); }
  }
}
