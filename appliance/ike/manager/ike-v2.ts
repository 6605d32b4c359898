// The IKEv2 task manager for every SA of one local address (RFC 7296): finds the SA a datagram belongs
// to by our own SPI, enforces the message-ID windows (size 1: a retransmitted request gets the cached
// response, anything older or newer is dropped), verifies and decrypts, runs the exchange's task, sends
// and retransmits our requests one at a time, and answers IKE_SA_INIT floods with cookies and a hard
// half-open limit. No I/O: handleDatagram in, the `send` callback out (same shape as IkeV1Manager, and
// the same ChildSaKeys hand-off). handleDatagram never throws: a bug is counted and the datagram dropped.
import { createHash, randomBytes } from 'node:crypto';
import type { IkeV2Policy } from '../config-v2.js';
import { ExchangeV2, FLAG_I, FLAG_R, NAT_T_PORT_V2, NotifyV2, PayloadV2, SPI_LEN } from '../encoding/constants-v2.js';
import { decodeHeaderV2, decodeInnerV2, decodeOuterV2, encodeFragmentsV2, openSkV2, type HeaderV2 } from '../encoding/message-v2.js';
import { notify, notifiesV2, findV2, type PayloadBodyV2, type PayloadV2Decoded, type SaBodyV2 } from '../encoding/payloads-v2.js';
import type { ChildSaKeys } from '../sa/child-sa.js';
import { IkeSaV2 } from '../sa/ike-sa-v2.js';
import { IkeAuthInitiator, respondAuth } from '../tasks/v2/ike-auth.js';
import { IkeInitInitiator, initError, respondInit } from '../tasks/v2/ike-init.js';
import { deleteChildRequest, deleteIkeRequest, respondInformational } from '../tasks/v2/informational.js';
import { CookieJar } from '../tasks/v2/cookie.js';
import { certRequest } from '../tasks/v2/cert-auth.js';
import { ChildCreateInitiator, IkeRekeyInitiator, lowestNonceIsOurs, respondCreateChild, respondIkeRekey } from '../tasks/v2/create-child.js';
import { fragmentNumbers } from '../encoding/message-v2.js';
import type { Send } from './ike-v1.js';
import { zeroV2Counters, type IkeV2Counters } from './counters-v2.js';
import type { LogFn } from '../../log/log.js';

/** Retransmission of a request: 1, 2, 4, 8, 16 s, then the SA is given up (RFC 7296 2.1 leaves the schedule to us). */
const RETRANSMIT_MS = [1000, 2000, 4000, 8000, 16000];
/** Hard limit of half-open responder SAs, whatever the cookie threshold. */
const MAX_HALF_OPEN = 1024;
/** A half-open responder SA not authenticated within this is forgotten. */
const HALF_OPEN_MS = 30000;
/** Cookie secret lifetime. */
const COOKIE_ROTATE_MS = 60000;
/** Reassembly limits per SA (RFC 7383 2.6: fragments of one message at a time). */
const MAX_FRAGMENTS = 32, MAX_REASSEMBLY = 65535;
/** Datagram size above which encrypted messages are fragmented when the peer supports it (RFC 7383 2.5.1 suggests 1280 for IPv6-safe). */
const DEFAULT_FRAGMENT_MTU = 1280;

export interface IkeV2Events {
  established?(sa: IkeSaV2): void;
  failed?(sa: IkeSaV2, reason: string): void;
  child?(sa: IkeSaV2, keys: ChildSaKeys): void;
  /** The Child SAs deleted (by the peer or by us): our outbound SPIs. */
  childDeleted?(sa: IkeSaV2, spis: number[]): void;
  deleted?(sa: IkeSaV2): void;
  /** The IKE SA was rekeyed: `next` replaces `old`, with its Child SAs (no `deleted` for `old`). */
  ikeRekeyed?(old: IkeSaV2, next: IkeSaV2): void;
}

export interface IkeV2Options { retransmitMs?: number[]; halfOpenMs?: number }

interface Request {
  exchange: ExchangeV2;
  build(): PayloadBodyV2[] | null;
  onResponse(ps: PayloadV2Decoded[]): void;
  /** Independent of the SA's keys (deletes, liveness): may be sent again on the SA that replaced this one. */
  portable?: boolean;
  /** Called when the request can never be answered (its SA was replaced and removed first). */
  onAbandon?(): void;
}

interface Pending { messageId: number; datagrams: Uint8Array[]; tries: number; timer?: NodeJS.Timeout; req?: Request; onResponse(ps: PayloadV2Decoded[], h: HeaderV2, raw: Uint8Array, port: number): void }

/** A Child SA pair as the manager tracks it: for rekeying, collisions and lifetime. */
interface ChildRef {
  spiIn: number;
  spiOut: number;
  lifetime: number;
  /** Our own rekey of this pair is in flight. */
  rekeying?: boolean;
  /** The peer rekeyed this pair while ours was in flight (2.8.1): its nonces and the pair it made. */
  peerRekey?: { ni: Uint8Array; nr: Uint8Array; spiIn: number };
  timer?: NodeJS.Timeout;
}

interface Entry {
  sa: IkeSaV2;
  /** Set once a rekey replaced this SA: its delete then concerns only the old keys. */
  replacedBy?: Entry;
  ikeRekeying?: { ni: Uint8Array; nr?: Uint8Array };
  /** a CREATE_CHILD_SA for a new (not rekeyed) pair is outstanding */
  creatingChild?: boolean;
  peerIkeRekey?: { ni: Uint8Array; nr: Uint8Array; entry: Entry };
  rekeyTimer?: NodeJS.Timeout;
  pending?: Pending;
  queue: Request[];
  lastResponse?: { messageId: number; datagrams: Uint8Array[] };
  initDigest?: string;
  children: ChildRef[];
  fragmentation: boolean;
  frags?: { messageId: number; total: number; first: number; parts: Map<number, Uint8Array>; bytes: number };
  halfOpenTimer?: NodeJS.Timeout;
  dpdTimer?: NodeJS.Timeout;
  lastRx: number;
}

type DropCounter = 'malformed' | 'unknownSa' | 'rejected';

export class IkeV2Manager {
  readonly counters: IkeV2Counters = zeroV2Counters();
  private readonly entries = new Map<string, Entry>(); // by our SPI (hex): unique, we chose it
  private readonly initIndex = new Map<string, Entry>(); // responder SAs by peer address and SPIi, for IKE_SA_INIT duplicates
  private nextConnId = 1;
  private readonly cookies = new CookieJar();
  private readonly cookieTimer: NodeJS.Timeout;
  private readonly retransmitMs: number[];
  private readonly halfOpenMs: number;

  constructor(private policy: IkeV2Policy, readonly local: string, private readonly send: Send,
    private readonly log: LogFn = () => {}, private readonly events: IkeV2Events = {}, opts: IkeV2Options = {}) {
    this.retransmitMs = opts.retransmitMs ?? RETRANSMIT_MS;
    this.halfOpenMs = opts.halfOpenMs ?? HALF_OPEN_MS;
    this.cookieTimer = setInterval(() => this.cookies.rotate(), COOKIE_ROTATE_MS);
    this.cookieTimer.unref?.();
  }

  configure(policy: IkeV2Policy): void { this.policy = policy; }

  get sas(): IkeSaV2[] { return [...this.entries.values()].map((e) => e.sa); }

  /** Child SAs (SPIs) of an SA. */
  childrenOf(sa: IkeSaV2): Array<{ spiIn: number; spiOut: number }> { return (this.entryOf(sa)?.children ?? []).map((c) => ({ spiIn: c.spiIn, spiOut: c.spiOut })); }

  get halfOpen(): number {
    let n = 0;
    for (const e of this.entries.values()) if (!e.sa.initiator && e.sa.state === 'IN-NEG') n++;
    return n;
  }

  /** Starts IKE_SA_INIT with `peer`. */
  initiate(peer: string, port = 500): IkeSaV2 {
    const sa = new IkeSaV2(true, this.local, peer, this.newSpi(), new Uint8Array(SPI_LEN), this.nextConnId++);
    sa.remotePort = port;
    const entry = this.newEntry(sa);
    const init = new IkeInitInitiator(sa, this.policy.proposals, true, Boolean(this.policy.credentials));
    const pending: Pending = {
      messageId: 0, datagrams: [init.build()], tries: 0,
      onResponse: (ps, h, raw, fromPort) => {
        const r = init.process(h, ps, raw, fromPort);
        if (!r.ok && r.retry) {
          this.log('notice', `IKEv2: ${peer}: ${r.error}, sending IKE_SA_INIT again`);
          this.stopTimer(pending);
          pending.datagrams = [r.retry];
          pending.tries = 0;
          entry.pending = pending;
          this.sendAll(sa, pending.datagrams);
          this.armTimer(entry, pending);
          return;
        }
        if (!r.ok) return this.fail(entry, `IKE_SA_INIT: ${r.error}`);
        entry.fragmentation = r.fragmentation ?? false;
        sa.nextRequestId = 1;
        // RFC 7296 2.23: with a NAT between us, the initiator moves to 4500 from IKE_AUTH on
        if (sa.nat) { sa.localPort = NAT_T_PORT_V2; sa.remotePort = NAT_T_PORT_V2; }
        this.startAuth(entry);
      },
    };
    entry.pending = pending;
    this.sendAll(sa, pending.datagrams);
    this.armTimer(entry, pending);
    return sa;
  }

  /** `clear crypto sa` for one SA: a Delete to the peer when established; the SA is gone for us at once. */
  clear(sa: IkeSaV2): void {
    const entry = this.entryOf(sa);
    if (!entry) return;
    if (sa.state === 'READY') {
      this.events.deleted?.(sa);
      sa.state = 'DELETED';
      this.request(entry, { exchange: ExchangeV2.Informational, build: deleteIkeRequest, onResponse: () => this.forget(entry) });
      return;
    }
    this.fail(entry, 'cleared');
  }

  /** Deletes one Child SA pair (by our inbound SPI) with an INFORMATIONAL exchange. */
  deleteChild(sa: IkeSaV2, spiIn: number): boolean {
    const entry = this.entryOf(sa);
    const c = entry?.children.find((x) => x.spiIn === spiIn);
    if (!entry || !c || sa.state !== 'READY') return false;
    this.request(entry, {
      exchange: ExchangeV2.Informational, build: () => deleteChildRequest([spiIn]), portable: true,
      onResponse: () => {
        clearTimeout(c.timer);
        const o = this.owner(entry); // an IKE SA rekey may have moved the pair meanwhile
        o.children = o.children.filter((x) => x !== c);
        this.events.childDeleted?.(o.sa, [c.spiOut]);
      },
    });
    return true;
  }

  /** An empty INFORMATIONAL (RFC 7296 1.4: liveness); the SA dies if it is never answered.
   *  `answered`: called when its (authenticated) response comes. */
  checkLiveness(sa: IkeSaV2, answered: () => void = () => {}): boolean {
    const entry = this.entryOf(sa);
    if (!entry || sa.state !== 'READY') return false;
    this.counters.liveness++;
    this.request(entry, { exchange: ExchangeV2.Informational, build: () => [], onResponse: answered });
    return true;
  }

  /** Rekeys one Child SA pair (by our inbound SPI): CREATE_CHILD_SA with REKEY_SA, then the old pair deleted. */
  rekeyChild(sa: IkeSaV2, spiIn: number): boolean {
    const entry = this.entryOf(sa);
    const c = entry?.children.find((x) => x.spiIn === spiIn);
    if (!entry || !c || c.rekeying || sa.state !== 'READY' || entry.replacedBy) return false;
    c.rekeying = true;
    const task = new ChildCreateInitiator(sa, this.policy, spiIn);
    this.request(entry, {
      exchange: ExchangeV2.CreateChildSa, build: () => task.build(),
      // its keys would come from the old SA's SK_d: try again on the SA that replaced it
      onAbandon: () => { c.rekeying = false; clearTimeout(c.timer); c.timer = setTimeout(() => this.rekeyChild(this.owner(entry).sa, c.spiIn), 200); c.timer.unref?.(); },
      onResponse: (ps) => {
        c.rekeying = false;
        const r = task.process(ps);
        if (!r.ok) { this.log('warn', `IKEv2: ${sa.remote}: Child SA rekey failed: ${r.error}`); return; }
        this.counters.rekeys++;
        const fresh = this.childUp(this.owner(entry), r.child, undefined)!;
        // make-before-break: the new pair is installed before the old one goes
        if (c.peerRekey && lowestNonceIsOurs({ ni: r.ni, nr: r.nr }, c.peerRekey)) {
          this.log('notice', `IKEv2: ${sa.remote}: simultaneous Child SA rekey, ours has the lowest nonce: deleting our new pair`);
          this.deleteChild(this.owner(entry).sa, fresh.spiIn);
        } else {
          if (c.peerRekey) this.log('notice', `IKEv2: ${sa.remote}: simultaneous Child SA rekey, the peer's new pair is redundant (it deletes it)`);
          this.deleteChild(this.owner(entry).sa, c.spiIn);
        }
      },
    });
    return true;
  }

  /** A new Child SA pair on an established SA (CREATE_CHILD_SA without REKEY_SA): the pair that came with
   *  IKE_AUTH was refused, deleted or expired while the IKE SA lives on. */
  createChild(sa: IkeSaV2): boolean {
    const entry = this.entryOf(sa);
    if (!entry || sa.state !== 'READY' || entry.replacedBy || entry.creatingChild) return false;
    entry.creatingChild = true;
    const task = new ChildCreateInitiator(sa, this.policy);
    this.request(entry, {
      exchange: ExchangeV2.CreateChildSa, build: () => task.build(),
      onAbandon: () => { entry.creatingChild = false; },
      onResponse: (ps) => {
        entry.creatingChild = false;
        const r = task.process(ps);
        if (!r.ok) { this.log('warn', `IKEv2: ${sa.remote}: new Child SA refused: ${r.error}`); return; }
        this.childUp(this.owner(entry), r.child, undefined);
      },
    });
    return true;
  }

  /** Rekeys the IKE SA (CREATE_CHILD_SA with an IKE proposal); the old SA is deleted once the new one exists. */
  rekeyIke(sa: IkeSaV2): boolean {
    const entry = this.entryOf(sa);
    if (!entry || sa.state !== 'READY' || entry.replacedBy || entry.ikeRekeying) return false;
    const task = new IkeRekeyInitiator(sa, this.policy, this.newSpi());
    entry.ikeRekeying = { ni: task.ni };
    this.request(entry, {
      exchange: ExchangeV2.CreateChildSa, build: () => task.build(),
      onResponse: (ps) => {
        const r = task.process(ps, this.nextConnId++);
        entry.ikeRekeying = undefined;
        if (!r.ok) { this.log('warn', `IKEv2: ${sa.remote}: IKE SA rekey failed: ${r.error}`); return; }
        const next = this.adoptRekeyed(entry, r.sa);
        if (entry.peerIkeRekey && lowestNonceIsOurs({ ni: task.ni, nr: r.nr }, entry.peerIkeRekey)) {
          // 2.8.1: our new SA is the redundant one; the peer's replaces the old SA and it deletes the old
          this.log('notice', `IKEv2: ${sa.remote}: simultaneous IKE SA rekey, ours has the lowest nonce: deleting our new SA`);
          entry.replacedBy = entry.peerIkeRekey.entry;
          this.request(next, { exchange: ExchangeV2.Informational, build: deleteIkeRequest, onResponse: () => this.forget(next) });
          next.replacedBy = entry.peerIkeRekey.entry;
          return;
        }
        if (entry.peerIkeRekey) {
          // we won: the peer's new SA is the redundant one (it deletes it); the Child SAs stay with ours
          const theirs = entry.peerIkeRekey.entry;
          next.children.push(...theirs.children);
          theirs.children = [];
          theirs.replacedBy = next;
        }
        entry.replacedBy = next;
        this.request(entry, { exchange: ExchangeV2.Informational, build: deleteIkeRequest, onResponse: () => this.forget(entry) });
      },
    });
    return true;
  }

  close(): void {
    clearInterval(this.cookieTimer);
    for (const e of this.entries.values()) this.stopAll(e);
    this.entries.clear();
    this.initIndex.clear();
  }

  handleDatagram(buf: Uint8Array, address: string, port: number, localPort = 500): void {
    this.counters.rxDatagrams++;
    try {
      if (localPort === NAT_T_PORT_V2) {
        if (buf.length < 4 || buf[0] | buf[1] | buf[2] | buf[3]) return this.drop('unknownSa', address, 'ESP-in-UDP on the IKE socket (data plane not attached)');
        buf = buf.subarray(4);
      }
      this.dispatch(buf, address, port, localPort);
    } catch (e) {
      this.counters.internalErrors++;
      this.log('error', `IKEv2: internal error on a datagram from ${address}: ${(e as Error).message}`);
    }
  }

  // ---------- receive ----------

  private dispatch(buf: Uint8Array, address: string, port: number, localPort: number): void {
    const hd = decodeHeaderV2(buf);
    if (!hd.ok) return this.drop('malformed', address, hd.reason);
    const h = hd.value;
    const isResponse = (h.flags & FLAG_R) !== 0;
    if (h.exchange === ExchangeV2.IkeSaInit && !isResponse) return this.initRequest(h, buf, address, port, localPort);
    const fromOriginalInitiator = (h.flags & FLAG_I) !== 0;
    const entry = this.entries.get(hex(fromOriginalInitiator ? h.rspi : h.ispi));
    if (!entry || entry.sa.remote !== address) return this.drop('unknownSa', address, `SPIs ${hex(h.ispi)}/${hex(h.rspi)} of no SA with this peer`);
    const { sa } = entry;
    if (sa.initiator === fromOriginalInitiator) return this.drop('rejected', address, 'I flag contradicts our role');
    const otherSpiOk = fromOriginalInitiator ? equal(sa.ispi, h.ispi) : (equal(sa.rspi, h.rspi) || (h.exchange === ExchangeV2.IkeSaInit && sa.state === 'IN-NEG'));
    if (!otherSpiOk) return this.drop('unknownSa', address, 'peer SPI does not match the SA');

    if (isResponse) {
      const p = entry.pending;
      if (!p || p.messageId !== h.messageId) { this.counters.oldMessageIds++; return this.drop('rejected', address, `response ${h.messageId} to no request outstanding`); }
      if (h.exchange === ExchangeV2.IkeSaInit) {
        const outer = decodeOuterV2(buf, h);
        if (!outer.ok) return this.drop('malformed', address, outer.reason);
        if (outer.value.encrypted) return this.drop('malformed', address, 'encrypted payload in IKE_SA_INIT');
        this.stopTimer(p);
        entry.pending = undefined;
        p.onResponse(outer.value.payloads, h, buf, port);
        return;
      }
      const ps = this.open(entry, h, buf, address, port, localPort);
      if (!ps) return;
      this.stopTimer(p);
      entry.pending = undefined;
      p.onResponse(ps, h, buf, port);
      if (!entry.pending && this.entries.has(hex(this.ourSpi(sa)))) this.next(entry);
      return;
    }

    // a request: window of one (RFC 7296 2.3)
    if (h.messageId + 1 === sa.nextPeerRequestId && entry.lastResponse?.messageId === h.messageId) {
      // the peer did not get our answer: the same answer again, once the request is proven genuine
      if (!this.open(entry, h, buf, address, port, localPort, true)) return;
      this.counters.retransmitted++;
      this.sendAll(sa, entry.lastResponse.datagrams);
      return;
    }
    if (h.messageId !== sa.nextPeerRequestId) { this.counters.oldMessageIds++; return this.drop('rejected', address, `request ${h.messageId}, expected ${sa.nextPeerRequestId}`); }
    const ps = this.open(entry, h, buf, address, port, localPort);
    if (!ps) return;
    const critical = ps.find((p) => 'unknown' in p && p.critical);
    if (critical) {
      this.respond(entry, h, [notify(NotifyV2.UnsupportedCriticalPayload, new Uint8Array([critical.type]))]);
      return this.drop('rejected', address, `unsupported critical payload ${critical.type}`);
    }
    switch (h.exchange) {
      case ExchangeV2.IkeAuth: return this.authRequest(entry, h, ps);
      case ExchangeV2.Informational: return this.informationalRequest(entry, h, ps);
      case ExchangeV2.CreateChildSa: return this.createChildRequest(entry, h, ps);
      default:
        this.respond(entry, h, [notify(NotifyV2.InvalidSyntax)]);
        return this.drop('rejected', address, `exchange ${h.exchange} unknown`);
    }
  }

  private initRequest(h: HeaderV2, buf: Uint8Array, address: string, port: number, localPort: number): void {
    if (h.messageId !== 0 || !isZero(h.rspi) || !(h.flags & FLAG_I)) return this.drop('malformed', address, 'IKE_SA_INIT request with a message ID, responder SPI or without I flag');
    const key = `${address}/${hex(h.ispi)}`;
    const digest = createHash('sha256').update(buf).digest('hex');
    const known = this.initIndex.get(key);
    if (known) {
      if (known.initDigest === digest && known.lastResponse?.messageId === 0 && known.sa.nextPeerRequestId === 1) {
        this.counters.retransmitted++;
        this.sendAll(known.sa, known.lastResponse.datagrams);
        return;
      }
      return this.drop('rejected', address, 'IKE_SA_INIT for an SA we already hold (replay?)');
    }
    const outer = decodeOuterV2(buf, h);
    if (!outer.ok) return this.drop('malformed', address, outer.reason);
    if (outer.value.encrypted) return this.drop('malformed', address, 'encrypted payload in IKE_SA_INIT');
    const ps = outer.value.payloads;
    const critical = ps.find((p) => 'unknown' in p && p.critical);
    if (critical) {
      this.sendTo(initError(h, NotifyV2.UnsupportedCriticalPayload, new Uint8Array([critical.type])), address, port, localPort);
      return this.drop('rejected', address, `unsupported critical payload ${critical.type}`);
    }
    const halfOpen = this.halfOpen;
    if (halfOpen >= MAX_HALF_OPEN) { this.counters.halfOpenRefused++; return this.drop('rejected', address, `${halfOpen} half-open SAs: IKE_SA_INIT refused`); }
    if (this.policy.cookieChallenge !== undefined && halfOpen >= this.policy.cookieChallenge) {
      const ni = findV2<{ type: PayloadV2.Nonce; data: Uint8Array }>(ps, PayloadV2.Nonce)?.data;
      if (!ni) return this.drop('malformed', address, 'IKE_SA_INIT without nonce');
      const cookie = ps[0]?.type === PayloadV2.Notify ? notifiesV2(ps).find((n) => n.notifyType === NotifyV2.Cookie) : undefined;
      if (!cookie || !this.cookies.valid(cookie.data, ni, address, h.ispi)) {
        this.counters.cookiesSent++;
        this.sendTo(initError(h, NotifyV2.Cookie, this.cookies.issue(ni, address, h.ispi)), address, port, localPort);
        return;
      }
    }
    const sa = new IkeSaV2(false, this.local, address, h.ispi, this.newSpi(), this.nextConnId++);
    sa.remotePort = port;
    sa.localPort = localPort;
    const r = respondInit(sa, this.policy.proposals, h, ps, buf, true, this.policy.credentials && certRequest(this.policy.credentials));
    if (!r.ok) {
      if (r.reply) this.sendTo(r.reply, address, port, localPort);
      return this.drop('rejected', address, `IKE_SA_INIT: ${r.error}`);
    }
    const entry = this.newEntry(sa);
    entry.fragmentation = r.fragmentation ?? false;
    entry.initDigest = digest;
    this.initIndex.set(key, entry);
    sa.nextPeerRequestId = 1;
    entry.lastResponse = { messageId: 0, datagrams: [r.reply!] };
    entry.halfOpenTimer = setTimeout(() => { if (sa.state === 'IN-NEG') this.fail(entry, 'not authenticated in time'); }, this.halfOpenMs);
    entry.halfOpenTimer.unref?.();
    this.sendAll(sa, [r.reply!]);
  }

  private authRequest(entry: Entry, h: HeaderV2, ps: PayloadV2Decoded[]): void {
    const { sa } = entry;
    if (sa.initiator || sa.state !== 'IN-NEG' || h.messageId !== 1) {
      this.respond(entry, h, [notify(NotifyV2.InvalidSyntax)]);
      return this.drop('rejected', sa.remote, 'IKE_AUTH outside its place');
    }
    const r = respondAuth(sa, this.policy, ps);
    if (r.reply) this.respond(entry, h, r.reply);
    if (!r.ok) { if (r.peerRefused) this.counters.peerAuthRefused++; return this.fail(entry, `IKE_AUTH: ${r.error}`, 'rejected'); }
    if (r.initialContact) this.forgetOthers(entry);
    this.established(entry);
    this.childUp(entry, r.child, r.childError);
  }

  private createChildRequest(entry: Entry, h: HeaderV2, ps: PayloadV2Decoded[]): void {
    const { sa } = entry;
    if (sa.state !== 'READY' || entry.replacedBy) {
      this.respond(entry, h, [notify(NotifyV2.TemporaryFailure)]);
      return this.drop('rejected', sa.remote, 'CREATE_CHILD_SA on an SA not ready or being replaced');
    }
    const saP = findV2<SaBodyV2>(ps, PayloadV2.SA);
    if (saP?.proposals[0]?.protocol === 1 /* IKE */) {
      const r = respondIkeRekey(sa, this.policy, ps, this.newSpi(), this.nextConnId++);
      this.respond(entry, h, r.reply);
      if (!r.sa) return this.drop('rejected', sa.remote, `IKE SA rekey: ${r.error}`);
      const next = this.adoptRekeyed(entry, r.sa);
      if (entry.ikeRekeying) entry.peerIkeRekey = { ni: r.ni!, nr: r.sa.nr!, entry: next };
      else entry.replacedBy = next;
      return;
    }
    const r = respondCreateChild(sa, this.policy, ps, (spiOut) => entry.children.some((c) => c.spiOut === spiOut));
    this.respond(entry, h, r.reply);
    if (!r.child) return this.drop('rejected', sa.remote, `CREATE_CHILD_SA: ${r.error}`);
    if (r.rekeyedSpiOut !== undefined) this.counters.rekeys++;
    const fresh = this.childUp(entry, r.child, undefined)!;
    const old = entry.children.find((c) => c.spiOut === r.rekeyedSpiOut);
    // a rekey of the pair we are rekeying ourselves: remembered for the nonce comparison (2.8.1)
    if (old?.rekeying) old.peerRekey = { ni: r.ni!, nr: r.nr!, spiIn: fresh.spiIn };
  }

  /** The SA a rekey produced takes over the old one's Child SAs and timers. */
  private adoptRekeyed(old: Entry, sa: IkeSaV2): Entry {
    const next = this.newEntry(sa);
    next.fragmentation = old.fragmentation;
    next.children = old.children;
    old.children = [];
    this.counters.rekeys++;
    this.log('notice', `IKEv2: IKE SA with ${sa.remote} rekeyed (${old.sa.name} -> ${sa.name})`);
    this.events.ikeRekeyed?.(old.sa, sa);
    this.scheduleRekeys(next);
    return next;
  }

  private informationalRequest(entry: Entry, h: HeaderV2, ps: PayloadV2Decoded[]): void {
    const { sa } = entry;
    if (sa.state === 'IN-NEG' && sa.initiator) return this.drop('rejected', sa.remote, 'INFORMATIONAL before IKE_AUTH completed');
    const holder = this.owner(entry); // a delete sent on the old SA during an IKE SA rekey names pairs that moved
    const r = respondInformational(ps, (spiOut) => holder.children.find((c) => c.spiOut === spiOut)?.spiIn);
    this.counters.informational++;
    for (const e of r.errors) this.log('warn', `IKEv2: ${sa.remote} notified error ${e}`);
    this.respond(entry, h, r.reply);
    if (r.deletedChildren.length) {
      const gone = new Set(r.deletedChildren.map((c) => c.spiOut));
      for (const c of holder.children) if (gone.has(c.spiOut)) clearTimeout(c.timer);
      holder.children = holder.children.filter((c) => !gone.has(c.spiOut));
      this.log('notice', `IKEv2: ${sa.remote} deleted Child SA(s) ${[...gone].map((s) => '0x' + s.toString(16)).join(', ')}`);
      this.events.childDeleted?.(holder.sa, [...gone]);
    }
    if (r.deleteIke) {
      this.log('notice', `IKEv2: ${sa.remote} deleted the IKE SA (${sa.name})${entry.replacedBy ? ', replaced by a rekey' : ''}`);
      if (sa.state === 'READY' && !entry.replacedBy) {
        for (const c of entry.children) this.events.childDeleted?.(sa, [c.spiOut]);
        sa.state = 'DELETED';
        this.events.deleted?.(sa);
      }
      sa.state = 'DELETED';
      this.forget(entry);
    }
  }

  /** Verifies, decrypts (reassembling fragments) and decodes an encrypted message; null after counting a drop. */
  private open(entry: Entry, h: HeaderV2, buf: Uint8Array, address: string, port: number, localPort: number, duplicate = false): PayloadV2Decoded[] | null {
    const { sa } = entry;
    const keys = sa.inKeys;
    if (!keys) { this.drop('rejected', address, 'encrypted message before keys exist'); return null; }
    const outer = decodeOuterV2(buf, h);
    if (!outer.ok) { this.drop('malformed', address, outer.reason); return null; }
    const enc = outer.value.encrypted;
    if (!enc || outer.value.payloads.length) { this.drop('malformed', address, 'message not wholly inside an encrypted payload'); return null; }
    const opened = openSkV2(buf, enc, keys);
    if (!opened.ok) { this.drop('rejected', address, `${opened.reason} (wrong keys or a forged message)`); return null; }
    let payloads = opened.value.payloads;
    if (enc.type === PayloadV2.SKF) {
      const n = fragmentNumbers(enc.body)!;
      if (duplicate) return n.number === 1 ? [] : null;
      payloads = this.reassemble(entry, h.messageId, n, enc.innerFirst, opened.value.plain, address) ?? undefined;
      if (!payloads) return null;
    }
    // authenticated: a peer that floated to 4500, or whose NAT moved its port, is answered where it is now (2.23)
    if (localPort === NAT_T_PORT_V2 && (sa.localPort !== localPort || sa.remotePort !== port)) { sa.localPort = localPort; sa.remotePort = port; }
    entry.lastRx = Date.now();
    return payloads ?? [];
  }

  private reassemble(entry: Entry, messageId: number, n: { number: number; total: number }, innerFirst: number, plain: Uint8Array, address: string): PayloadV2Decoded[] | null {
    if (!entry.fragmentation) { this.drop('rejected', address, 'fragment although fragmentation was not negotiated'); return null; }
    if (n.number < 1 || n.number > n.total || n.total > MAX_FRAGMENTS) { this.drop('malformed', address, `fragment ${n.number} of ${n.total}`); return null; }
    let f = entry.frags;
    if (!f || f.messageId !== messageId || f.total !== n.total) f = entry.frags = { messageId, total: n.total, first: 0, parts: new Map(), bytes: 0 };
    if (f.parts.has(n.number)) { this.counters.retransmitted++; return null; }
    if (f.bytes + plain.length > MAX_REASSEMBLY) { entry.frags = undefined; this.drop('rejected', address, 'reassembled message too large'); return null; }
    this.counters.fragmentsIn++;
    f.parts.set(n.number, plain);
    f.bytes += plain.length;
    if (n.number === 1) f.first = innerFirst;
    if (f.parts.size < f.total) return null;
    entry.frags = undefined;
    const whole = new Uint8Array(f.bytes);
    for (let i = 1, off = 0; i <= f.total; i++) { const p = f.parts.get(i)!; whole.set(p, off); off += p.length; }
    const d = decodeInnerV2(f.first, whole);
    if (!d.ok) { this.drop('malformed', address, d.reason); return null; }
    return d.value;
  }

  // ---------- our requests ----------

  private startAuth(entry: Entry): void {
    const auth = new IkeAuthInitiator(entry.sa, this.policy, !this.sas.some((s) => s !== entry.sa && s.remote === entry.sa.remote && s.state === 'READY'));
    this.request(entry, {
      exchange: ExchangeV2.IkeAuth,
      build: () => auth.build(),
      onResponse: (ps) => {
        const r = auth.process(ps);
        if (!r.ok) { if (r.peerRefused) this.counters.peerAuthRefused++; return this.fail(entry, `IKE_AUTH: ${r.error}`, 'rejected'); }
        this.established(entry);
        this.childUp(entry, r.child, r.childError);
      },
    });
  }

  private request(entry: Entry, req: Request): void {
    if (entry.pending) { entry.queue.push(req); return; }
    const payloads = req.build();
    const { sa } = entry;
    if (!payloads) return this.fail(entry, `no pre-shared key for ${sa.remote}`);
    const messageId = sa.nextRequestId++;
    const datagrams = this.seal(entry, { exchange: req.exchange, flags: sa.initiator ? FLAG_I : 0, messageId }, payloads);
    const pending: Pending = { messageId, datagrams, tries: 0, req, onResponse: (ps) => req.onResponse(ps) };
    entry.pending = pending;
    this.sendAll(sa, datagrams);
    this.armTimer(entry, pending);
  }

  private next(entry: Entry): void {
    const req = entry.queue.shift();
    if (req) this.request(entry, req);
  }

  private respond(entry: Entry, h: HeaderV2, payloads: PayloadBodyV2[]): void {
    const { sa } = entry;
    const datagrams = this.seal(entry, { exchange: h.exchange, flags: FLAG_R | (sa.initiator ? FLAG_I : 0), messageId: h.messageId }, payloads);
    entry.lastResponse = { messageId: h.messageId, datagrams };
    sa.nextPeerRequestId = h.messageId + 1;
    this.sendAll(sa, datagrams);
  }

  private seal(entry: Entry, f: { exchange: ExchangeV2; flags: number; messageId: number }, payloads: PayloadBodyV2[]): Uint8Array[] {
    const { sa } = entry;
    const max = entry.fragmentation ? (this.policy.fragmentMtu ?? DEFAULT_FRAGMENT_MTU) - 28 - (sa.localPort === NAT_T_PORT_V2 ? 4 : 0) : Infinity;
    return encodeFragmentsV2({ ispi: sa.ispi, rspi: sa.rspi, ...f }, payloads, sa.outKeys!, max);
  }

  // ---------- SA life ----------

  private established(entry: Entry): void {
    const { sa } = entry;
    sa.state = 'READY';
    sa.establishedAt = Date.now();
    clearTimeout(entry.halfOpenTimer);
    // initIndex keeps the SA for its life: a replayed IKE_SA_INIT then finds it and creates nothing
    this.counters.established++;
    this.log('notice', `IKEv2: SA with ${sa.remote} (${sa.peerId}) established${sa.nat ? ', NAT detected, on UDP 4500' : ''}`);
    this.events.established?.(sa);
    this.scheduleRekeys(entry);
    const dpd = this.policy.dpd;
    if (dpd) {
      entry.dpdTimer = setInterval(() => {
        if (sa.state === 'READY' && !entry.pending && Date.now() - entry.lastRx >= dpd.interval * 1000) this.checkLiveness(sa);
      }, dpd.interval * 1000);
      entry.dpdTimer.unref?.();
    }
  }

  private childUp(entry: Entry, child: ChildSaKeys | undefined, error: string | undefined): ChildRef | undefined {
    const { sa } = entry;
    if (!child) { this.log('warn', `IKEv2: ${sa.remote}: IKE SA up without a Child SA: ${error}`); return undefined; }
    this.counters.childSas++;
    const ref: ChildRef = { spiIn: child.inbound.spi, spiOut: child.outbound.spi, lifetime: child.lifetime };
    entry.children.push(ref);
    // rekey before the lifetime ends, at a random point in its last tenth so both ends rarely collide
    ref.timer = setTimeout(() => this.rekeyChild(entry.sa, ref.spiIn), jittered(child.lifetime));
    ref.timer.unref?.();
    this.log('notice', `IKEv2: Child SA with ${sa.remote} up (${child.mode}, in 0x${child.inbound.spi.toString(16)}, out 0x${child.outbound.spi.toString(16)})`);
    this.events.child?.(sa, child);
    return ref;
  }

  private scheduleRekeys(entry: Entry): void {
    clearTimeout(entry.rekeyTimer);
    entry.rekeyTimer = setTimeout(() => this.rekeyIke(entry.sa), jittered(this.policy.lifetime));
    entry.rekeyTimer.unref?.();
  }

  /** INITIAL_CONTACT (RFC 7296 2.4): the peer rebooted; its older SAs are stale. */
  private forgetOthers(entry: Entry): void {
    for (const e of [...this.entries.values()]) {
      if (e === entry || e.sa.remote !== entry.sa.remote || e.sa.state !== 'READY' || e.sa.peerId !== entry.sa.peerId) continue;
      this.log('notice', `IKEv2: INITIAL_CONTACT from ${e.sa.remote}: its older SA ${e.sa.name} removed`);
      e.sa.state = 'DELETED';
      this.events.deleted?.(e.sa);
      this.forget(e);
    }
  }

  private fail(entry: Entry, reason: string, counter?: DropCounter): void {
    const { sa } = entry;
    if (counter) this.counters[counter]++;
    this.log('warn', `IKEv2: SA with ${sa.remote} failed: ${reason}`);
    const wasUp = sa.state === 'READY';
    sa.state = 'DELETED';
    this.forget(entry);
    if (wasUp) this.events.deleted?.(sa); else this.events.failed?.(sa, reason);
  }

  private forget(entry: Entry): void {
    // requests still waiting on an SA that a rekey replaced: deletes go on the new SA, rekeys start over
    const left = [...(entry.pending?.req ? [entry.pending.req] : []), ...entry.queue];
    entry.queue = [];
    if (entry.replacedBy) {
      const o = this.owner(entry);
      for (const r of left) { if (r.portable && this.entries.has(hex(this.ourSpi(o.sa)))) this.request(o, r); else r.onAbandon?.(); }
    }
    this.stopAll(entry);
    this.entries.delete(hex(this.ourSpi(entry.sa)));
    this.initIndex.delete(`${entry.sa.remote}/${hex(entry.sa.ispi)}`);
  }

  private stopAll(entry: Entry): void {
    if (entry.pending) this.stopTimer(entry.pending);
    clearTimeout(entry.halfOpenTimer);
    clearTimeout(entry.rekeyTimer);
    clearInterval(entry.dpdTimer);
    for (const c of entry.children) clearTimeout(c.timer);
  }

  // ---------- helpers ----------

  private newEntry(sa: IkeSaV2): Entry {
    const entry: Entry = { sa, queue: [], children: [], fragmentation: false, lastRx: Date.now() };
    this.entries.set(hex(this.ourSpi(sa)), entry);
    return entry;
  }

  /** The entry that holds an SA's Child SAs now: itself, or the SA a rekey replaced it with (children move). */
  private owner(entry: Entry): Entry {
    let e = entry;
    for (let i = 0; i < 8 && e.replacedBy; i++) e = e.replacedBy;
    return e;
  }

  private entryOf(sa: IkeSaV2): Entry | undefined {
    const e = this.entries.get(hex(this.ourSpi(sa)));
    return e && e.sa === sa ? e : undefined;
  }

  private ourSpi(sa: IkeSaV2): Uint8Array { return sa.initiator ? sa.ispi : sa.rspi; }

  private newSpi(): Uint8Array {
    for (;;) { const s = new Uint8Array(randomBytes(SPI_LEN)); if (!isZero(s) && !this.entries.has(hex(s))) return s; }
  }

  private drop(counter: DropCounter, address: string, why: string): void {
    this.counters[counter]++;
    this.log('warn', `IKEv2: dropped from ${address}: ${why}`);
  }

  private sendTo(d: Uint8Array, address: string, port: number, localPort: number): void {
    this.counters.txDatagrams++;
    this.send(d, address, port, localPort);
  }

  private sendAll(sa: IkeSaV2, ds: readonly Uint8Array[]): void {
    for (const d of ds) this.sendTo(d, sa.remote, sa.remotePort, sa.localPort);
  }

  private armTimer(entry: Entry, p: Pending): void {
    const delay = this.retransmitMs[p.tries];
    if (delay === undefined) {
      entry.pending = undefined;
      const wasDeleting = entry.sa.state === 'DELETED';
      if (wasDeleting) { this.forget(entry); return; }
      this.fail(entry, 'no answer to our request, retransmissions exhausted');
      return;
    }
    p.timer = setTimeout(() => {
      p.tries++;
      this.counters.retransmitted++;
      this.sendAll(entry.sa, p.datagrams);
      this.armTimer(entry, p);
    }, delay);
    p.timer.unref?.();
  }

  private stopTimer(p: Pending): void { clearTimeout(p.timer); p.timer = undefined; }
}

/** 85-95 % of a lifetime in seconds, in ms (capped to what setTimeout takes). */
const jittered = (lifetime: number) => Math.min(2 ** 31 - 1, Math.round(lifetime * 1000 * (0.85 + Math.random() * 0.1)));

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const isZero = (b: Uint8Array) => b.every((x) => x === 0);
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
