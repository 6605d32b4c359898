// One NHRP instance per tunnel: owns the cache, the registration clients (one per NHS) and the
// registration server, decodes what the supervisor hands in, checks authentication, dispatches by
// message type, and counts everything. A tunnel with `nhs` configured is a spoke; any tunnel answers
// Registration Requests (a hub is just a tunnel that receives them). Resolution (Phase 2), redirect
// and shortcuts (Phase 3), purge and error indications live in their own modules (resolution.ts,
// responder.ts, forward.ts, redirect.ts, shortcut.ts, purge.ts, error.ts) and are wired here.
import { randomInt } from 'node:crypto';
import type { TunnelConfig, TunnelNhrp } from '../config/model.js';
import { NhrpCache } from './cache.js';
import type { CacheEntry } from './cache.js';
import { makeClock } from './clock.js';
import type { Clock, Timers } from './clock.js';
import { decodeNhrp, encodeNhrp } from './codec.js';
import { NhsClient } from './registration-client.js';
import type { NhsStatus } from './registration-client.js';
import type { LogFn } from '../log/log.js';
import { handleRegistrationRequest } from './registration-server.js';
import type { NhrpOwnership, NhsServerContext } from './registration-server.js';
import type { NhrpContext, OwnedPrefix, ShortcutRoutes } from './context.js';
import { buildErrorIndication, errorName, packetInError, unknownCompulsory } from './error.js';
import { selectNhs } from './resolution-nhs.js';
import { inPrefix } from '../net/ipv4.js';
import { Purger } from './purge.js';
import { BindingHolders } from './holders.js';
import type { PurgeScope } from './purge.js';
import { Refusals } from './refusal.js';
import { Redirector, indicatedDestination } from './redirect.js';
import type { RedirectOutcome } from './redirect.js';
import { Resolver } from './resolution.js';
import { handleResolutionRequest } from './responder.js';
import { ShortcutTable } from './shortcut.js';
import { forwardReply } from './forward.js';
import { requesterNbma } from './transit.js';
import { AUTH_TYPE_PLAINTEXT, ErrorCode, NHRP_TYPE_NAMES, NhrpExtType, NhrpType, isRequest } from './types.js';
import type { NhrpExtension, NhrpMessage } from './types.js';

export interface PeerChange {
  op: 'set' | 'del';
  tunnelIp: string;
  nbma?: string;
  flags: { static?: boolean; nat?: boolean };
}

export interface NhrpEngineOptions {
  /** the tunnel (preferred: gives MTU and `tunnel destination`) or just its NHRP block */
  config: TunnelConfig | TunnelNhrp;
  tunnelIp: string;
  tunnelPrefixLen: number;
  nbmaSource: string;
  send(nbmaDst: string, bytes: Uint8Array): void;
  peerChanged(ev: PeerChange): void;
  log: LogFn;
  now?: () => number;
  timers?: Timers;
  /** networks behind this router that it answers resolutions for (IOS: connected/routed via LAN) */
  localPrefixes?: () => OwnedPrefix[];
  /** RIB lookup: tunnel next hop of the best route to `destination` if it leaves via this tunnel.
   *  Without it (or without a route) the NHS is the default next hop, as on a DMVPN spoke. */
  routeLookup?: (destination: string) => { nextHop: string } | undefined;
  /** Phase 3 shortcut routes (required for `ip nhrp shortcut` to have an effect) */
  routes?: ShortcutRoutes;
  /** an NHS went up or down (`if-state nhrp` follows it: supervisor/if-state.ts) */
  nhsChanged?(): void;
  /** the NHS at `nbma` stopped answering our registrations (declared down, not refused) */
  nhsUnanswered?(nbma: string): void;
  /** identity-bound NHRP: registrations and purges of an address only by who registered it */
  ownership?: NhrpOwnership;
}

export interface NhrpCounters {
  in: Record<string, number>;
  out: Record<string, number>;
  /** malformed or unusable packets (decode errors, authentication, disabled features) */
  drops: Record<string, number>;
  /** well-formed NHRP refused by the trust rules (docs/security.md), by rule */
  refused: Record<string, number>;
}

/** Context a message handler gets: where the packet came from, and the engine's services. */
export interface HandlerContext {
  srcNbma: string;
  dstNbma: string;
  engine: NhrpEngine;
  /** the packet as received (forwarding and error indications need the original bytes) */
  bytes: Uint8Array;
}
export type MessageHandler = (msg: NhrpMessage, ctx: HandlerContext) => void;

/** IOS: `ip nhrp authentication` is at most 8 characters. */
const AUTH_MAX = 8;

/** The authentication extension every packet carries and must arrive with (`ip nhrp authentication`). */
function authExtension(n: TunnelNhrp): NhrpExtension | undefined {
  if (n.authentication === undefined) return undefined;
  const secret = new TextEncoder().encode(n.authentication).slice(0, AUTH_MAX);
  return { type: NhrpExtType.Authentication, compulsory: true, auth: { spi: AUTH_TYPE_PLAINTEXT, secret } };
}

export class NhrpEngine {
  readonly cache: NhrpCache;
  private readonly clock: Clock;
  // settings-derived parts: rebuilt by reconfigure() (configuration mode)
  private nhrp: TunnelNhrp;
  private tunnel: TunnelConfig | undefined;
  private readonly clients: NhsClient[] = [];
  private readonly priorities: number[] = []; // parallel to clients
  private ctx: NhrpContext;
  private readonly shortcuts: ShortcutTable;
  private resolver: Resolver;
  private redirector: Redirector;
  private purger: Purger;
  private readonly holders = new BindingHolders();
  private auth: NhrpExtension | undefined;
  private readonly handlers = new Map<number, MessageHandler>();
  private readonly mirrored = new Map<string, string>(); // tunnelIp -> last peerChanged 'set' key
  private readonly counts: Omit<NhrpCounters, 'refused'> = { in: {}, out: {}, drops: {} };
  private readonly refusals: Refusals;
  private running = false;

  constructor(private readonly o: NhrpEngineOptions) {
    this.clock = makeClock(o.now, o.timers);
    this.tunnel = 'kind' in o.config ? o.config : undefined;
    this.nhrp = 'kind' in o.config ? o.config.nhrp : o.config;
    this.refusals = new Refusals(this.clock, o.log);
    this.cache = new NhrpCache(this.clock, (c) => {
      this.mirror(c.op, c.entry);
      // A shortcut is only as good as the binding of its next hop (FRR NOTIFY_CACHE_DELETE).
      if (c.op === 'del') this.shortcuts?.removeVia(c.entry.tunnelIp, `next hop ${c.entry.tunnelIp} ${c.reason}`);
    });
    this.auth = authExtension(this.nhrp);
    this.handlers.set(NhrpType.RegistrationRequest, (m, c) => this.onRegistrationRequest(m, c));
    this.handlers.set(NhrpType.RegistrationReply, (m, c) => this.onRegistrationReply(m, c.srcNbma));
    this.handlers.set(NhrpType.ErrorIndication, (m, c) => this.onErrorIndication(m, c));
    this.buildClients();
    this.ctx = this.makeContext();
    this.shortcuts = new ShortcutTable(this.clock, o.routes, o.log, (t) => this.resolver.refreshShortcut(t));
    this.resolver = new Resolver(this.ctx, this.shortcuts);
    this.redirector = new Redirector(this.ctx, this.nhrp.redirect);
    this.purger = new Purger(this.ctx);
    this.handlers.set(NhrpType.ResolutionRequest, (m, c) => {
      handleResolutionRequest(this.ctx, m, c.bytes, c.srcNbma, { answered: (p, ip, nbma) => this.purger.answered(p, ip, nbma),
        handedOut: (client, clientNbma, ip, nbma) => this.holders.handedOut(client, clientNbma, ip, nbma) });
    });
    this.handlers.set(NhrpType.ResolutionReply, (m, c) => {
      // Ours (the source fields are the requester's), or one an owner sent back through us for a
      // requester behind NAT: relayed on to it (RFC 2332 5.3.5).
      if (m.srcProto === this.o.tunnelIp) return this.resolver.onReply(m, c.srcNbma);
      if (!this.knownNbma(c.srcNbma)) return this.refuseUnknown(m, c.srcNbma);
      const r = forwardReply(this.ctx, m);
      if (r !== 'forwarded') this.drop(`reply-${r}`);
    });
    this.handlers.set(NhrpType.TrafficIndication, (m, c) => this.onTrafficIndication(m, c));
    this.handlers.set(NhrpType.PurgeRequest, (m, c) => this.purger.onRequest(m, c.srcNbma, this.purgeScope(c.srcNbma)));
    this.handlers.set(NhrpType.PurgeReply, (m, c) => {
      if (!this.purger.onReply(m, c.srcNbma)) {
        this.refuse('purge-reply', `purge reply ${m.requestId} from NBMA ${c.srcNbma} refused: no purge of ours went there with that id`);
      }
    });
  }

  /**
   * Configuration mode changed only NHRP attributes of the tunnel (supervisor/live-config.ts): what was
   * learnt stays (registrations at this NHS, resolutions, shortcuts); what derives from the settings is
   * rebuilt from `next`: NHS clients (they register at once), authentication, the context the handlers
   * read holdtime from, resolver, redirector, purger; static entries follow the new maps.
   */
  reconfigure(next: TunnelConfig): void {
    const wasRunning = this.running;
    for (const c of this.clients) c.stop();
    this.resolver.stop();
    this.purger.stop();
    this.redirector.reset();
    this.tunnel = next;
    this.nhrp = next.nhrp;
    this.auth = authExtension(this.nhrp);
    this.clients.length = 0;
    this.priorities.length = 0;
    this.buildClients();
    this.ctx = this.makeContext();
    this.resolver = new Resolver(this.ctx, this.shortcuts);
    this.redirector = new Redirector(this.ctx, this.nhrp.redirect);
    this.purger = new Purger(this.ctx);
    const statics = new Map([...this.nhrp.maps.map((m) => [m.tunnelIp, m.nbma] as const),
      ...this.clients.filter((c) => c.tunnelIp).map((c) => [c.tunnelIp!, c.nbma] as const)]);
    for (const e of this.cache.entries()) {
      if (e.type === 'static' && statics.get(e.tunnelIp) !== e.nbma) this.cache.delete(e.tunnelIp, 'no longer configured');
    }
    this.running = false;
    if (wasRunning) this.start();
  }

  /** Install (or replace) the handler for a message type (tests, vendor extensions). */
  setHandler(type: NhrpType, h: MessageHandler): void {
    this.handlers.set(type, h);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const m of this.nhrp.maps) {
      this.cache.set({
        tunnelIp: m.tunnelIp, prefixLen: 32, type: 'static', nbma: m.nbma,
        flags: { nhs: this.clients.some((c) => c.tunnelIp === m.tunnelIp) },
      });
    }
    // IOS: `ip nhrp nhs X nbma Y` also installs the NHS mapping, as a static entry.
    for (const c of this.clients) {
      if (c.tunnelIp && !this.cache.get(c.tunnelIp)) {
        this.cache.set({ tunnelIp: c.tunnelIp, prefixLen: 32, type: 'static', nbma: c.nbma, flags: { nhs: true } });
      }
    }
    // IOS: `ip nhrp network-id` is what enables NHRP on the interface; without it we do not register
    // (receive() drops everything too), static maps still forward.
    if (this.nhrp.networkId === undefined) {
      this.o.log('warn', 'NHRP is not enabled on this tunnel (no ip nhrp network-id): not registering with any NHS');
      return;
    }
    for (const c of this.clients) c.start();
  }

  /** The NBMA address unresolved traffic should go to: the best responding NHS (priority, then
   *  config order), or the first configured one while none answers. */
  nhsForwarding(): string | undefined {
    return this.bestNhs()?.nbma ?? this.clients[0]?.nbma;
  }

  /** The path to the NHS at `nbma` was just repaired: its unanswered registration is retransmitted now. */
  retransmitToNhs(nbma: string): void {
    for (const c of this.clients) if (c.nbma === nbma) c.retransmitNow();
  }

  /** Stop timers and forget learnt state. Like FRR/IOS, nothing is sent: our registrations at the
   *  NHS simply age out after the holdtime. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const c of this.clients) c.stop();
    this.resolver.stop();
    this.purger.stop();
    this.redirector.reset();
    this.shortcuts.clear('stopped');
    this.cache.clear('stopped');
    this.holders.clear();
  }

  receive(srcNbma: string, dstNbma: string, bytes: Uint8Array): void {
    if (!this.running) return this.drop('stopped');
    if (this.nhrp.networkId === undefined) return this.drop('network-id'); // NHRP not enabled here
    const r = decodeNhrp(bytes);
    if (!r.ok) {
      this.o.log('debug', `NHRP: dropped packet from ${srcNbma}: ${r.error}`);
      return this.drop(r.code);
    }
    const msg = r.msg;
    this.bump(this.counts.in, NHRP_TYPE_NAMES[msg.type]);
    // Error Indications carry no extensions (RFC 2332 5.2.7), hence no authentication either; they
    // only ever fail a pending request whose id they echo, which a blind attacker cannot guess.
    if (this.auth && msg.type !== NhrpType.ErrorIndication && !this.authOk(msg)) {
      // IOS drops silently; we also count and log (rate limited) so a mismatched password is diagnosable.
      return this.refusals.refuse('auth-mismatch', `${NHRP_TYPE_NAMES[msg.type]} from NBMA ${srcNbma} (${msg.srcProto}) ` +
        'dropped: authentication mismatch', this.counts.drops);
    }
    // RFC 2332 5.3: a compulsory extension we do not understand makes the packet unprocessable.
    // Never answer an indication with an error (no error storms between two confused peers).
    const unknown = unknownCompulsory(bytes);
    if (unknown) {
      this.refusals.refuse('unknown-compulsory-extension', `${NHRP_TYPE_NAMES[msg.type]} from NBMA ${srcNbma} ` +
        `(${msg.srcProto}) has unknown compulsory extension ${unknown.type}`, this.counts.drops);
      if (msg.type !== NhrpType.ErrorIndication && msg.type !== NhrpType.TrafficIndication) {
        // A request's source may be further back than the NHS that forwarded it; a reply's is its sender.
        this.sendMessage(isRequest(msg.type) ? requesterNbma(msg, srcNbma) : srcNbma,
          buildErrorIndication(this.ctx, ErrorCode.UnrecognizedExtension, bytes.slice(0, (bytes[10] << 8) | bytes[11]),
            msg.srcProto, unknown.offset));
      }
      return;
    }
    if (!this.admit(msg, srcNbma)) return;
    const h = this.handlers.get(msg.type);
    if (!h) return this.drop('unhandled-type');
    h(msg, { srcNbma, dstNbma, engine: this, bytes });
  }

  /** Data plane: a packet for `destination` had tunnel next hop `nextHop` with no cache entry (it
   *  was sent via the NHS meanwhile). Starts Phase 2 resolution of nextHop. */
  noEntry(nextHop: string, destination: string): void {
    if (!this.running) return;
    this.resolver.resolveNextHop(nextHop, destination);
  }

  /** Data plane (hub): a packet from the spoke at srcNbma was forwarded back out of this tunnel.
   *  With `ip nhrp redirect`, sends that spoke a Traffic Indication (rate limited). */
  trafficIndication(srcNbma: string, srcTunnelIp: string | undefined, innerPacket: Uint8Array): RedirectOutcome {
    if (!this.running) return 'disabled';
    const r = this.redirector.indicate(srcNbma, srcTunnelIp, innerPacket);
    if (r !== 'sent') this.drop(`redirect-${r}`);
    return r;
  }

  /** Data plane: traffic went to tunnel address tunnelIp; keeps its binding and shortcuts refreshed. */
  markUsed(tunnelIp: string): void {
    const e = this.cache.get(tunnelIp);
    if (e) e.flags.used = true; // display only: no peer change
    this.resolver.markUsed(tunnelIp);
    this.shortcuts.markUsedVia(tunnelIp);
  }

  /** `clear ip nhrp`: purge what we gave out, drop every learnt entry and shortcut (static stay). */
  clearCache(): void {
    if (!this.running) return;
    this.purger.purgeAll();
    this.shortcuts.clear('cleared');
    for (const t of ['dynamic', 'incomplete', 'negative'] as const) this.cache.clear('cleared', t);
  }

  /** The client registered as `tunnelIp` may no longer be in the network (its IKE identity was revoked):
   *  its registration goes at once, not at the end of its holding time, and whoever we handed its binding
   *  to is purged (RFC 2332 5.2.5), so shortcuts to it go too. Static entries are configuration: kept. */
  withdrawRegistration(tunnelIp: string, reason: string): boolean {
    const e = this.cache.get(tunnelIp);
    if (!this.running || !e?.flags.registered) return false;
    this.cache.delete(tunnelIp, reason);
    for (const h of this.holders.withdrawn(tunnelIp)) this.purger.purgeBinding(h.nbma, h.ip, tunnelIp, 32);
    return true;
  }

  /** Encode, count and hand to the supervisor (which wraps it in GRE 0x2001). */
  sendMessage(nbmaDst: string, msg: NhrpMessage): void {
    this.bump(this.counts.out, NHRP_TYPE_NAMES[msg.type]);
    this.o.send(nbmaDst, encodeNhrp(msg));
  }

  /** Cache entries, then shortcut routes (type dynamic, flags router rib nho, `via` set), then
   *  prefixes we answered for (type local): what `show ip nhrp [shortcut]` lists. */
  cacheEntries(): CacheEntry[] {
    return [...this.cache.entries(), ...this.shortcuts.entries(), ...this.purger.entries()];
  }

  nhsStatus(): NhsStatus[] {
    return this.clients.map((c) => c.status());
  }

  counters(): NhrpCounters {
    return { in: { ...this.counts.in }, out: { ...this.counts.out }, drops: { ...this.counts.drops },
      refused: { ...this.refusals.counts } };
  }

  // ---------- handlers ----------

  private onRegistrationRequest(msg: NhrpMessage, c: HandlerContext): void {
    const ctx: NhsServerContext = {
      cache: this.cache, selfTunnelIp: this.o.tunnelIp, tunnelPrefixLen: this.o.tunnelPrefixLen,
      selfNbma: this.o.nbmaSource, holdtime: this.nhrp.holdtime, mtu: this.mtu(), auth: this.auth, log: this.o.log,
      refuse: (reason, text) => this.refuse(reason, text), ownership: this.o.ownership,
      registered: (proto, nbma) => this.purgeHolders(proto, nbma),
    };
    // Reply to where the packet came from: behind NAT that is not msg.srcNbma.
    this.sendMessage(c.srcNbma, handleRegistrationRequest(ctx, c.srcNbma, msg));
  }

  /** A client registered from another NBMA address: whoever got its old binding from us drops it. */
  private purgeHolders(proto: string, nbma: string): void {
    const holders = this.holders.registered(proto, nbma);
    if (!holders.length) return;
    this.o.log('info', `NHRP: ${proto} registered from NBMA ${nbma}: purging its old binding at ${holders.map((h) => h.ip).join(', ')}`);
    for (const h of holders) this.purger.purgeBinding(h.nbma, h.ip, proto, 32);
  }

  private onRegistrationReply(msg: NhrpMessage, srcNbma: string): void {
    const client = this.clients.find((c) => c.owns(msg.requestId));
    // the NHS answered two retransmissions of one registration and the first answer was taken
    if (!client && this.clients.some((c) => c.nbma === srcNbma && c.lateReply(msg.requestId))) return;
    if (!client || client.nbma !== srcNbma) {
      return this.refuse('registration-reply', `registration reply ${msg.requestId} from NBMA ${srcNbma} refused: ` +
        (client ? `that request went to ${client.nbma}` : 'no registration of ours has that id'));
    }
    client.onReply(msg);
  }

  private onErrorIndication(msg: NhrpMessage, c: HandlerContext): void {
    // RFC 2332 5.2.7: the payload is the offending packet; a request of ours fails at once.
    const bad = packetInError(msg.payload);
    const about = bad ? ` about ${NHRP_TYPE_NAMES[bad.type] ?? bad.type} ${bad.requestId} for ${bad.dstProto}` : '';
    this.refusals.logLimited('error-indication', 'warn', `error indication (${errorName(msg.errorCode)}, code ${msg.errorCode}) from NBMA ` +
      `${c.srcNbma} (${msg.srcProto})${about}`);
    if (bad && bad.srcProto === this.o.tunnelIp && bad.type === NhrpType.ResolutionRequest) {
      this.resolver.onError(bad.requestId, msg.errorCode, msg.srcProto);
    }
  }

  private onTrafficIndication(msg: NhrpMessage, c: HandlerContext): void {
    const dst = indicatedDestination(msg);
    if (!dst) return this.drop('bad-traffic-indication');
    if (!this.nhrp.shortcut) {
      this.o.log('debug', `NHRP: traffic indication from ${msg.srcProto} (NBMA ${c.srcNbma}) about ${dst} ignored: no shortcut`);
      return this.drop('shortcut-disabled');
    }
    this.resolver.resolveShortcut(dst);
  }

  /**
   * What a purge from `src` may touch (issue 8): learnt bindings and shortcuts (never configuration
   * or our own prefixes) that point at `src`; our NHS also owns what we learnt through it
   * (resolutions, shortcuts), but never a registration another router made with us.
   */
  private purgeScope(src: string): PurgeScope {
    const fromNhs = this.isNhs(src);
    const owns = (e: CacheEntry) => e.nbma === src || (fromNhs && !e.flags.registered);
    let snapshot: CacheEntry[] | undefined; // taken once per purge: a hub holds thousands of entries
    const learnt = () => (snapshot ??= [...this.cache.entries().filter((e) => e.type !== 'static' && e.type !== 'local'),
      ...this.shortcuts.entries()]);
    const inside = (e: CacheEntry, prefix: string, len: number) => e.prefixLen >= len && inPrefix(e.tunnelIp, prefix, len);
    return {
      holdsInside: (prefix, len) => learnt().some((e) => inside(e, prefix, len)),
      ownedCover: (prefix, len) => learnt().some((e) => owns(e) && len >= e.prefixLen && inPrefix(prefix, e.tunnelIp, e.prefixLen)),
      removeOwned: (prefix, len) => {
        let n = this.shortcuts.removeCovered(prefix, len, 'purged', (nbma) => nbma === src || fromNhs);
        for (const e of this.cache.entries()) {
          if (e.type === 'static' || e.type === 'local' || !owns(e) || !inside(e, prefix, len)) continue;
          const notOwner = e.flags.registered ? this.o.ownership?.check(e.tunnelIp) : undefined;
          if (notOwner) { this.refuse('purge-identity', `purge of ${e.tunnelIp} from NBMA ${src} refused: ${notOwner}`); continue; }
          if (this.cache.delete(e.tunnelIp, 'purged')) n++;
        }
        return n;
      },
    };
  }

  /** NHRP from an NBMA address we do not know is accepted only for registration and resolution
   *  (whose own rules apply: registration-server.ts, trust.ts, resolution.ts); anything else is refused. An Error
   *  Indication about a resolution of ours in flight is the exception (in a hierarchy it comes from a
   *  distant NHS): it echoes our random request id, which only the path of the request has seen. So does
   *  the Purge Reply to a purge of ours in flight: `clear ip nhrp` drops the peer's entry and then purges
   *  at that peer, whose reply would otherwise be refused and the purge retransmitted (each retransmission
   *  bringing an IPsec SA with the peer back up). */
  private admit(msg: NhrpMessage, srcNbma: string): boolean {
    if (msg.type === NhrpType.RegistrationRequest || msg.type === NhrpType.ResolutionRequest
      || msg.type === NhrpType.ResolutionReply || this.knownNbma(srcNbma)) return true;
    if (msg.type === NhrpType.ErrorIndication) {
      const bad = packetInError(msg.payload);
      if (bad && bad.srcProto === this.o.tunnelIp && this.resolver.owns(bad.requestId)) return true;
    }
    if (msg.type === NhrpType.PurgeReply && this.purger.awaits(msg.requestId, srcNbma)) return true;
    if (msg.type === NhrpType.PurgeRequest) {
      this.refuse('purge', `purge from NBMA ${srcNbma} (${msg.srcProto}) refused: the sender is unknown here`);
      return false;
    }
    this.refuseUnknown(msg, srcNbma);
    return false;
  }

  private refuseUnknown(msg: NhrpMessage, srcNbma: string): void {
    this.refuse('unknown-source', `${NHRP_TYPE_NAMES[msg.type]} from NBMA ${srcNbma} (${msg.srcProto}) refused: ` +
      'the sender is neither our NHS nor a registered or resolved peer');
  }

  private isNhs(nbma: string): boolean {
    return this.clients.some((c) => c.nbma === nbma);
  }

  private knownNbma(nbma: string): boolean {
    return this.isNhs(nbma) || this.cache.knowsNbma(nbma);
  }

  private makeContext(): NhrpContext {
    const o = this.o;
    return {
      selfIp: o.tunnelIp, selfNbma: o.nbmaSource, holdtime: this.nhrp.holdtime, mtu: this.mtu(), auth: this.auth,
      cache: this.cache, clock: this.clock, log: o.log,
      send: (dst, m) => this.sendMessage(dst, m),
      allocRequestId: () => this.allocRequestId(),
      bestNhs: () => this.bestNhs(),
      natNbma: () => this.natNbma(),
      owned: (addr) => {
        if (addr === o.tunnelIp) return { prefix: addr, len: 32 };
        let best: OwnedPrefix | undefined;
        for (const p of o.localPrefixes?.() ?? []) {
          if (inPrefix(addr, p.prefix, p.len) && (!best || p.len > best.len)) best = p;
        }
        return best;
      },
      nextHop: (addr) => o.routeLookup?.(addr)?.nextHop ?? this.bestNhs()?.tunnelIp,
      drop: (r) => this.drop(r),
      isNhs: (nbma) => this.isNhs(nbma),
      knownNbma: (nbma) => this.knownNbma(nbma),
      inTunnel: (addr) => inPrefix(addr, o.tunnelIp, o.tunnelPrefixLen),
      topLevelHub: this.clients.length === 0,
      refuse: (reason, text) => this.refuse(reason, text),
    };
  }

  /** Our outside address: as the preferred responding NHS saw it, else any NHS that saw NAT. */
  private natNbma(): string | undefined {
    const best = this.bestNhs();
    const c = this.clients.find((x) => x.nbma === best?.nbma && x.status().up);
    if (c) return c.natNbma;
    return this.clients.find((x) => x.natNbma)?.natNbma;
  }

  private bestNhs(): { nbma: string; tunnelIp?: string } | undefined {
    return selectNhs(this.clients.map((c, i) => ({ nbma: c.nbma, tunnelIp: c.tunnelIp, priority: this.priorities[i],
      up: c.status().up })));
  }

  // ---------- internals ----------

  private buildClients(): void {
    const selfUnique = !this.nhrp.registrationNoUnique;
    const regTimeout = this.nhrp.registrationTimeout ?? Math.max(1, Math.floor(this.nhrp.holdtime / 3));
    for (const n of this.nhrp.nhs) {
      const tunnelIp = n.tunnelIp === 'dynamic' ? undefined : n.tunnelIp;
      // NBMA of the NHS: inline `nbma`, else the `ip nhrp map` of its address, else (Phase 1 p2p GRE)
      // the `tunnel destination`.
      const nbma = n.nbma
        ?? this.nhrp.maps.find((m) => m.tunnelIp === tunnelIp)?.nbma
        ?? (this.tunnel?.mode === 'gre-ip' ? this.tunnel.destination : undefined);
      if (!nbma) {
        this.o.log('error', `NHRP: NHS ${n.tunnelIp} has no NBMA address (no map, no nbma, no tunnel destination)`);
        continue;
      }
      // A hub listing itself among the NHSes (shared dual-hub configs) does not register with itself (FRR).
      if (nbma === this.o.nbmaSource || tunnelIp === this.o.tunnelIp) continue;
      this.priorities.push(n.priority ?? 0); // IOS default priority 0 = most preferred
      this.clients.push(new NhsClient({
        clock: this.clock, nhsTunnelIp: tunnelIp, nhsNbma: nbma, selfTunnelIp: this.o.tunnelIp,
        selfNbma: this.o.nbmaSource, holdtime: this.nhrp.holdtime, registrationTimeout: regTimeout,
        unique: selfUnique, mtu: this.mtu(), auth: this.auth,
        allocRequestId: () => this.allocRequestId(),
        send: (dst, m) => this.sendMessage(dst, m),
        log: this.o.log,
        upChanged: () => this.o.nhsChanged?.(),
        unanswered: () => this.o.nhsUnanswered?.(nbma),
      }));
    }
  }

  private mtu(): number {
    return this.tunnel?.mtu ?? 1400;
  }

  /** Request ids are what a reply must echo: crypto-random so an off-path attacker cannot guess one
   *  (sequential ids made forged replies a matter of trying a few numbers). Never 0. */
  private allocRequestId(): number {
    return randomInt(1, 0x100000000);
  }

  private authOk(msg: NhrpMessage): boolean {
    const want = this.auth!.auth!;
    const got = msg.extensions.find((e) => e.type === NhrpExtType.Authentication)?.auth;
    if (!got || got.spi !== want.spi || got.secret.length !== want.secret.length) return false;
    return got.secret.every((b, i) => b === want.secret[i]);
  }

  /** Mirror usable bindings to the data plane; suppress refreshes that change nothing. */
  private mirror(op: 'set' | 'del', e: CacheEntry): void {
    const usable = op === 'set' && e.nbma !== undefined && e.type !== 'incomplete' && e.type !== 'negative'
      && e.type !== 'local';
    if (usable) {
      const flags = { static: e.type === 'static', nat: !!e.flags.nat };
      const key = `${e.nbma}|${flags.static}|${flags.nat}`;
      if (this.mirrored.get(e.tunnelIp) === key) return;
      this.mirrored.set(e.tunnelIp, key);
      this.o.peerChanged({ op: 'set', tunnelIp: e.tunnelIp, nbma: e.nbma, flags });
    } else if (this.mirrored.delete(e.tunnelIp)) {
      this.o.peerChanged({ op: 'del', tunnelIp: e.tunnelIp, flags: { static: e.type === 'static', nat: !!e.flags.nat } });
    }
  }

  private refuse(reason: string, text: string): void {
    this.refusals.refuse(reason, text);
  }

  private drop(reason: string): void {
    this.bump(this.counts.drops, reason);
  }

  private bump(r: Record<string, number>, k: string): void {
    r[k] = (r[k] ?? 0) + 1;
  }
}
