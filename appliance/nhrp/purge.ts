// Purge (RFC 2332 5.2.5/5.2.6). When we answer a Resolution Request for one of our prefixes we
// remember who asked (IOS keeps these as "local" entries with their requesters); `clear ip nhrp`
// sends each of them a Purge Request for the prefix so their shortcuts go at once instead of at the
// end of the holding time. Purge Requests are retransmitted until the Purge Reply comes. A Purge
// Request received removes the bindings inside the named prefix and is answered unless N is set,
// but only what its sender owns (issue 8, security hole 2): each CIE must lie inside one entry the
// sender owns (see PurgeScope), else it is refused, counted and logged, and nothing is answered.
import type { CacheEntry } from './cache.js';
import type { TimerHandle } from './clock.js';
import type { NhrpContext, OwnedPrefix } from './context.js';
import { ORIGIN_HOP_COUNT } from './context.js';
import { cieLen } from './prefix.js';
import { FLAG_PURGE_N, NhrpType } from './types.js';
import type { NhrpMessage } from './types.js';

export const PURGE_RETRY_INITIAL_S = 1;
export const PURGE_RETRIES = 3;

interface Local extends OwnedPrefix { created: number; requesters: Map<string, string> } // ip -> nbma
interface PendingPurge { to: string; msg: NhrpMessage; attempt: number; timer?: TimerHandle }

/** What a purge from one sender may touch; the engine knows who owns which entry. */
export interface PurgeScope {
  /** is anything purgeable inside prefix/len at all? (nothing there: nothing to refuse either) */
  holdsInside(prefix: string, len: number): boolean;
  /** is prefix/len inside one entry the sender owns? */
  ownedCover(prefix: string, len: number): boolean;
  /** remove the sender's entries inside prefix/len; returns how many */
  removeOwned(prefix: string, len: number): number;
}

export class Purger {
  private readonly locals = new Map<string, Local>();
  private readonly pending = new Map<number, PendingPurge>();

  constructor(private readonly ctx: NhrpContext) {}

  answered(owned: OwnedPrefix, requesterIp: string, requesterNbma: string): void {
    const key = `${owned.prefix}/${owned.len}`;
    let l = this.locals.get(key);
    if (!l) this.locals.set(key, l = { ...owned, created: this.ctx.clock.now(), requesters: new Map() });
    l.requesters.set(requesterIp, requesterNbma);
    // a purge of this prefix still being retransmitted to this requester (an earlier clear ip nhrp)
    // would arrive after the fresh binding and remove it: the new answer supersedes it
    for (const [id, p] of this.pending) {
      const c = p.msg.cies[0];
      if (p.msg.dstProto !== requesterIp || c.proto !== owned.prefix || c.prefixLen !== owned.len) continue;
      if (p.timer !== undefined) this.ctx.clock.timers.clearTimeout(p.timer);
      this.pending.delete(id);
      this.ctx.log('debug', `NHRP: purge of ${owned.prefix}/${owned.len} at ${requesterIp} dropped: answered again`);
    }
  }

  /** Purge every prefix we gave out, at everyone who asked for it. */
  purgeAll(): number {
    let n = 0;
    for (const l of this.locals.values()) {
      for (const [ip, nbma] of l.requesters) { this.sendPurge(nbma, ip, l); n++; }
    }
    this.locals.clear();
    return n;
  }

  /** NHS: a binding we gave out (prefix/len) changed: purge it at one requester (holders.ts). */
  purgeBinding(nbma: string, requesterIp: string, prefix: string, len: number): void {
    this.sendPurge(nbma, requesterIp, { prefix, len });
  }

  /** Receive a Purge Request from outerSrc: remove what it owns, refuse the rest; reply unless N or refused. */
  onRequest(msg: NhrpMessage, outerSrc: string, scope: PurgeScope): void {
    const cies = msg.cies.length ? msg.cies : [{ code: 0, prefixLen: 32, mtu: 0, holdingTime: 0, preference: 0 }];
    let removed = 0;
    const refused: string[] = [];
    const done: string[] = [];
    for (const c of cies) {
      const prefix = c.proto ?? msg.srcProto, len = cieLen(c.prefixLen);
      if (scope.holdsInside(prefix, len) && !scope.ownedCover(prefix, len)) { refused.push(`${prefix}/${len}`); continue; }
      removed += scope.removeOwned(prefix, len);
      done.push(`${prefix}/${len}`);
    }
    if (refused.length) {
      this.ctx.refuse('purge', `purge for ${refused.join(', ')} from NBMA ${outerSrc} (${msg.srcProto}) refused: ` +
        'not inside an entry that sender owns');
    }
    if (!done.length) return;
    this.ctx.log('info', `NHRP: purge from ${msg.srcProto} (NBMA ${outerSrc}) for ${done.join(', ')}: ${removed} entries removed`);
    if (msg.flags & FLAG_PURGE_N || refused.length) return;
    this.ctx.send(outerSrc, {
      ...msg, type: NhrpType.PurgeReply, hopCount: ORIGIN_HOP_COUNT,
      extensions: this.ctx.auth ? [this.ctx.auth] : [],
    });
  }

  /** Is a purge of ours with this (random) request id waiting for its reply from `nbma`? */
  awaits(requestId: number, nbma: string): boolean {
    return this.pending.get(requestId)?.to === nbma;
  }

  /** A Purge Reply counts only from where the purge went. */
  onReply(msg: NhrpMessage, outerSrc: string): boolean {
    const p = this.pending.get(msg.requestId);
    if (!p || p.to !== outerSrc) return false;
    if (p.timer !== undefined) this.ctx.clock.timers.clearTimeout(p.timer);
    this.pending.delete(msg.requestId);
    return true;
  }

  /** Our answered prefixes, shown like IOS "local" entries. */
  entries(): CacheEntry[] {
    return [...this.locals.values()].map((l) => ({
      tunnelIp: l.prefix, prefixLen: l.len, via: this.ctx.selfIp, type: 'local' as const, nbma: this.ctx.selfNbma,
      flags: { router: true, local: true }, created: l.created,
    }));
  }

  stop(): void {
    for (const p of this.pending.values()) if (p.timer !== undefined) this.ctx.clock.timers.clearTimeout(p.timer);
    this.pending.clear();
    this.locals.clear();
  }

  private sendPurge(nbma: string, requesterIp: string, l: OwnedPrefix): void {
    const id = this.ctx.allocRequestId();
    const msg: NhrpMessage = {
      type: NhrpType.PurgeRequest, hopCount: ORIGIN_HOP_COUNT,
      srcNbma: this.ctx.selfNbma, srcProto: this.ctx.selfIp, dstProto: requesterIp,
      flags: 0, requestId: id,
      cies: [{ code: 0, prefixLen: l.len, mtu: this.ctx.mtu, holdingTime: 0, preference: 0,
        nbma: this.ctx.selfNbma, proto: l.prefix }],
      extensions: this.ctx.auth ? [this.ctx.auth] : [],
    };
    const p: PendingPurge = { to: nbma, msg, attempt: 0 };
    this.pending.set(id, p);
    this.transmit(id, p);
  }

  private transmit(id: number, p: PendingPurge): void {
    p.timer = this.ctx.clock.timers.setTimeout(() => {
      p.timer = undefined;
      if (p.attempt >= PURGE_RETRIES) {
        this.pending.delete(id);
        this.ctx.log('warn', `NHRP: purge of ${p.msg.cies[0].proto}/${p.msg.cies[0].prefixLen} at ${p.msg.dstProto} unanswered`);
        return;
      }
      p.attempt++;
      this.transmit(id, p);
    }, PURGE_RETRY_INITIAL_S * 2 ** p.attempt * 1000);
    this.ctx.send(p.to, p.msg);
  }
}
