// One NHRP instance per tunnel: owns the cache, the registration clients (one per NHS) and the
// registration server, decodes what the supervisor hands in, checks authentication, dispatches by
// message type, and counts everything. A tunnel with `nhs` configured is a spoke; any tunnel answers
// Registration Requests (a hub is just a tunnel that receives them). Phase 2/3 message types slot in
// through `handlers` (see setHandler) without touching the registration code.
import type { TunnelConfig, TunnelNhrp } from '../config/model.js';
import { NhrpCache } from './cache.js';
import type { CacheEntry } from './cache.js';
import { makeClock } from './clock.js';
import type { Clock, Timers } from './clock.js';
import { decodeNhrp, encodeNhrp } from './codec.js';
import { NhsClient } from './nhc.js';
import type { LogFn, NhsStatus } from './nhc.js';
import { handleRegistrationRequest } from './nhs.js';
import type { NhsServerContext } from './nhs.js';
import { AUTH_TYPE_PLAINTEXT, NHRP_TYPE_NAMES, NhrpExtType, NhrpType } from './types.js';
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
}

export interface NhrpCounters {
  in: Record<string, number>;
  out: Record<string, number>;
  drops: Record<string, number>;
}

/** Context a message handler gets: where the packet came from, and the engine's services. */
export interface HandlerContext {
  srcNbma: string;
  dstNbma: string;
  engine: NhrpEngine;
}
export type MessageHandler = (msg: NhrpMessage, ctx: HandlerContext) => void;

/** IOS: `ip nhrp authentication` is at most 8 characters. */
const AUTH_MAX = 8;

export class NhrpEngine {
  readonly cache: NhrpCache;
  private readonly clock: Clock;
  private readonly nhrp: TunnelNhrp;
  private readonly tunnel: TunnelConfig | undefined;
  private readonly clients: NhsClient[] = [];
  private readonly auth: NhrpExtension | undefined;
  private readonly handlers = new Map<number, MessageHandler>();
  private readonly mirrored = new Map<string, string>(); // tunnelIp -> last peerChanged 'set' key
  private readonly counts: NhrpCounters = { in: {}, out: {}, drops: {} };
  private nextRequestId = 1;
  private running = false;

  constructor(private readonly o: NhrpEngineOptions) {
    this.clock = makeClock(o.now, o.timers);
    this.tunnel = 'kind' in o.config ? o.config : undefined;
    this.nhrp = 'kind' in o.config ? o.config.nhrp : o.config;
    this.cache = new NhrpCache(this.clock, (c) => this.mirror(c.op, c.entry));
    if (this.nhrp.authentication !== undefined) {
      const secret = new TextEncoder().encode(this.nhrp.authentication).slice(0, AUTH_MAX);
      this.auth = { type: NhrpExtType.Authentication, compulsory: true, auth: { spi: AUTH_TYPE_PLAINTEXT, secret } };
    }
    this.handlers.set(NhrpType.RegistrationRequest, (m, c) => this.onRegistrationRequest(m, c));
    this.handlers.set(NhrpType.RegistrationReply, (m) => this.onRegistrationReply(m));
    this.handlers.set(NhrpType.ErrorIndication, (m, c) => this.onErrorIndication(m, c));
    this.buildClients();
  }

  /** Install (or replace) the handler for a message type: how Phase 2/3 plug in. */
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
    for (const c of this.clients) c.start();
  }

  /** Stop timers and forget learnt state. Like FRR/IOS, nothing is sent: our registrations at the
   *  NHS simply age out after the holdtime. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const c of this.clients) c.stop();
    this.cache.clear('stopped');
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
    if (this.auth && !this.authOk(msg)) {
      // IOS drops silently; we also count and log so a mismatched password is diagnosable.
      this.o.log('warn', `NHRP: ${NHRP_TYPE_NAMES[msg.type]} from NBMA ${srcNbma} (${msg.srcProto}) dropped: ` +
        'authentication mismatch');
      return this.drop('auth-mismatch');
    }
    const h = this.handlers.get(msg.type);
    if (!h) return this.drop('unhandled-type');
    h(msg, { srcNbma, dstNbma, engine: this });
  }

  /** Encode, count and hand to the supervisor (which wraps it in GRE 0x2001). */
  sendMessage(nbmaDst: string, msg: NhrpMessage): void {
    this.bump(this.counts.out, NHRP_TYPE_NAMES[msg.type]);
    this.o.send(nbmaDst, encodeNhrp(msg));
  }

  cacheEntries(): CacheEntry[] {
    return this.cache.entries();
  }

  nhsStatus(): NhsStatus[] {
    return this.clients.map((c) => c.status());
  }

  counters(): NhrpCounters {
    return { in: { ...this.counts.in }, out: { ...this.counts.out }, drops: { ...this.counts.drops } };
  }

  // ---------- handlers ----------

  private onRegistrationRequest(msg: NhrpMessage, c: HandlerContext): void {
    const ctx: NhsServerContext = {
      cache: this.cache, selfTunnelIp: this.o.tunnelIp, tunnelPrefixLen: this.o.tunnelPrefixLen,
      selfNbma: this.o.nbmaSource, holdtime: this.nhrp.holdtime, mtu: this.mtu(), auth: this.auth, log: this.o.log,
    };
    // Reply to where the packet came from: behind NAT that is not msg.srcNbma.
    this.sendMessage(c.srcNbma, handleRegistrationRequest(ctx, c.srcNbma, msg));
  }

  private onRegistrationReply(msg: NhrpMessage): void {
    const client = this.clients.find((c) => c.owns(msg.requestId));
    if (!client) return this.drop('unexpected-reply');
    client.onReply(msg);
  }

  private onErrorIndication(msg: NhrpMessage, c: HandlerContext): void {
    // RFC 2332 5.2.7: the payload is the offending packet. Registration only logs it; Phase 2
    // (resolution) will match the payload's request id to fail the pending request early.
    this.o.log('warn', `NHRP: error indication code ${msg.errorCode} from NBMA ${c.srcNbma} (${msg.srcProto})`);
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
      this.clients.push(new NhsClient({
        clock: this.clock, nhsTunnelIp: tunnelIp, nhsNbma: nbma, selfTunnelIp: this.o.tunnelIp,
        selfNbma: this.o.nbmaSource, holdtime: this.nhrp.holdtime, registrationTimeout: regTimeout,
        unique: selfUnique, mtu: this.mtu(), auth: this.auth,
        allocRequestId: () => this.allocRequestId(),
        send: (dst, m) => this.sendMessage(dst, m),
        log: this.o.log,
      }));
    }
  }

  private mtu(): number {
    return this.tunnel?.mtu ?? 1400;
  }

  private allocRequestId(): number {
    const id = this.nextRequestId;
    this.nextRequestId = (this.nextRequestId % 0xffffffff) + 1; // never 0
    return id;
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

  private drop(reason: string): void {
    this.bump(this.counts.drops, reason);
  }

  private bump(r: Record<string, number>, k: string): void {
    r[k] = (r[k] ?? 0) + 1;
  }
}
