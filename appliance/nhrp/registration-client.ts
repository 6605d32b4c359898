// NHRP registration client (NHC side), one per configured NHS. Registers our tunnel address with the
// NHS at start and every registration timeout; unanswered requests are retransmitted with
// exponential backoff (IOS: 1, 2, 4, ... 32, 64 s, then every 64 s) and after DOWN_AFTER_UNANSWERED
// consecutive unanswered requests the NHS is declared down. A reply changes only NHS state here
// (the NHS's own cache entry comes from `ip nhrp map` / `nhs ... nbma`).
import type { Clock, TimerHandle } from './clock.js';
import {
  CieCode, FLAG_CISCO_NAT, FLAG_REG_UNIQUE, NhrpExtType, NhrpType, cieCodeName,
} from './types.js';
import type { NhrpExtension, NhrpMessage } from './types.js';
import type { LogFn } from '../log/log.js';

/** retransmissions of one registration whose replies are still accepted */
const OUTSTANDING_MAX = 8;

export const BACKOFF_INITIAL_S = 1;
export const BACKOFF_MAX_S = 64;
/** Consecutive unanswered Registration Requests before the NHS is considered down. */
export const DOWN_AFTER_UNANSWERED = 3;

export interface NhcOptions {
  clock: Clock;
  /** NHS tunnel address; undefined for `nhs dynamic` (learnt from the first reply) */
  nhsTunnelIp?: string;
  nhsNbma: string;
  selfTunnelIp: string;
  selfNbma: string;
  holdtime: number; // s
  registrationTimeout: number; // s
  unique: boolean;
  mtu: number;
  /** authentication extension to attach, if configured */
  auth?: NhrpExtension;
  allocRequestId(): number;
  send(nbmaDst: string, msg: NhrpMessage): void;
  log: LogFn;
  /** this NHS went up (a reply accepted our registration) or down (refused, unanswered, stopped) */
  upChanged?(up: boolean): void;
  /** this NHS was declared down because DOWN_AFTER_UNANSWERED requests in a row went unanswered (not
   *  refused: a refusal came back, so the path works) */
  unanswered?(): void;
}

/** IOS `show ip nhrp nhs` letters: R responding, E expecting replies, W waiting. */
export interface NhsStatus {
  tunnelIp?: string;
  nbma: string;
  up: boolean;
  flags: string;
  requestsSent: number;
  requestsFailed: number;
  repliesReceived: number;
  lastReplyAt?: number;
  /** seconds until the next retransmission while unanswered */
  backoff: number;
  lastNak?: { code: number; meaning: string };
  /** our NBMA address as this NHS sees it, when that differs from ours (we are behind NAT) */
  natNbma?: string;
}

export class NhsClient {
  private up = false;
  private responding = false;
  private expecting = false;
  private started = false;
  private timer: TimerHandle | undefined;
  private backoff = BACKOFF_INITIAL_S;
  private unanswered = 0;
  /** every request id of the current (unanswered) cycle: a late reply to a retransmit still counts */
  private outstanding = new Set<number>();
  /** ids of the retransmissions the last reply made moot: their own late replies are ours, not forged */
  private superseded = new Set<number>();
  /** replies that came after another reply had answered the same registration (retransmission races) */
  lateReplies = 0;
  private sent = 0;
  private failed = 0;
  private replies = 0;
  private lastReplyAt: number | undefined;
  private lastNak: { code: number; meaning: string } | undefined;
  private nhsTunnelIp: string | undefined;
  private natAddr: string | undefined;

  constructor(private readonly o: NhcOptions) {
    this.nhsTunnelIp = o.nhsTunnelIp;
  }

  get nbma(): string { return this.o.nhsNbma; }
  get tunnelIp(): string | undefined { return this.nhsTunnelIp; }
  /** Our post-NAT NBMA address as learnt from this NHS's last successful reply (undefined: no NAT seen). */
  get natNbma(): string | undefined { return this.natAddr; }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.sendRequest();
  }

  stop(): void {
    // FRR and IOS send nothing on shutdown: the NHS entry simply ages out after the holdtime.
    this.started = false;
    this.clearTimer();
    this.outstanding.clear();
    this.superseded.clear();
    // no upChanged: a stopped client is being replaced or torn down with its engine
    this.up = this.responding = this.expecting = false;
  }

  /** The path to this NHS was just repaired (its stale IPsec SAs renegotiated, supervisor/ike-service.ts):
   *  one more request goes now rather than only at the backoff (8 s away when the NHS was declared
   *  down). The retransmission timer and its backoff stand, so this request lost costs nothing. Only
   *  while unanswered and down: an answered client keeps its registration timer. */
  retransmitNow(): void {
    if (!this.started || this.up || !this.expecting) return;
    this.sendRequest(false);
  }

  owns(requestId: number): boolean {
    return this.outstanding.has(requestId);
  }

  /** A reply to a retransmission of a registration another reply already answered: counted and dropped. */
  lateReply(requestId: number): boolean {
    if (!this.superseded.delete(requestId)) return false;
    this.lateReplies++;
    return true;
  }

  /** Handle a Registration Reply whose request id we own. */
  onReply(msg: NhrpMessage): void {
    if (!this.started || !this.outstanding.has(msg.requestId)) return;
    this.outstanding.delete(msg.requestId);
    this.superseded = this.outstanding;
    this.outstanding = new Set();
    this.replies++;
    this.lastReplyAt = this.o.clock.now();
    this.responding = true;
    this.expecting = false;
    this.unanswered = 0;
    const nak = msg.cies.find((c) => c.code !== CieCode.Success);
    if (nak || msg.cies.length === 0) {
      const code = nak?.code ?? -1;
      const meaning = nak ? cieCodeName(code) : 'reply without CIE';
      this.lastNak = { code, meaning };
      this.failed++;
      this.o.log('error', `NHRP: registration of ${this.o.selfTunnelIp} with NHS ${this.label()} refused: ` +
        `code ${code} (${meaning})`);
      if (this.up) this.o.log('warn', `NHRP: NHS ${this.label()} down (registration refused)`);
      this.setUp(false);
      this.schedule(this.backoff, () => this.retry());
      this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_S);
      return;
    }
    // RFC 2332 5.2.3 / FRR: an NHS that was unknown (`nhs dynamic`) names itself as reply dst proto.
    if (!this.nhsTunnelIp) this.nhsTunnelIp = msg.dstProto;
    this.learnNat(msg);
    this.lastNak = undefined;
    this.backoff = BACKOFF_INITIAL_S;
    if (!this.up) this.o.log('info', `NHRP: NHS ${this.label()} up`);
    this.setUp(true);
    this.schedule(this.o.registrationTimeout, () => this.sendRequest());
  }

  status(): NhsStatus {
    const flags = this.up ? `R${this.expecting ? 'E' : ''}`
      : this.expecting ? 'E' : this.responding ? 'R' : 'W';
    return {
      tunnelIp: this.nhsTunnelIp, nbma: this.o.nhsNbma, up: this.up, flags,
      requestsSent: this.sent, requestsFailed: this.failed, repliesReceived: this.replies,
      lastReplyAt: this.lastReplyAt, backoff: this.backoff, lastNak: this.lastNak,
      ...(this.natAddr ? { natNbma: this.natAddr } : {}),
    };
  }

  /**
   * Cisco NAT detection (FRR nhrp_reg_reply): the NHS answers the NAT extension with the address our
   * request really came from, in a CIE naming our tunnel address. If that is not the NBMA address we
   * put in the packet we are behind NAT, and that outside address is what peers must send to: it goes
   * into the NAT extension of our resolution requests and replies. No such CIE: the NHS saw no NAT.
   */
  private learnNat(msg: NhrpMessage): void {
    const ext = msg.extensions.find((e) => e.type === NhrpExtType.NatAddress);
    if (!ext) return; // an NHS that does not do NAT detection tells us nothing
    const seen = ext.cies?.find((c) => c.proto === this.o.selfTunnelIp && c.nbma)?.nbma;
    const nat = seen && seen !== this.o.selfNbma ? seen : undefined;
    if (nat === this.natAddr) return;
    if (nat) {
      this.o.log('info', `NHRP: NAT detected by NHS ${this.label()}: our NBMA ${this.o.selfNbma} is seen as ${nat}`);
    } else {
      this.o.log('info', `NHRP: NHS ${this.label()} no longer sees us behind NAT (was ${this.natAddr})`);
    }
    this.natAddr = nat;
  }

  private setUp(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.o.upChanged?.(up);
  }

  private label(): string {
    return `${this.nhsTunnelIp ?? 'dynamic'} (NBMA ${this.o.nhsNbma})`;
  }

  private retry(): void {
    if (this.expecting) {
      this.failed++;
      this.unanswered++;
      if (this.unanswered >= DOWN_AFTER_UNANSWERED && (this.up || this.responding)) {
        this.o.log('warn', `NHRP: NHS ${this.label()} down (${this.unanswered} registration requests unanswered)`);
        this.setUp(false);
        this.responding = false;
        this.o.unanswered?.();
      }
    }
    this.sendRequest();
  }

  /** `rearm` false: an extra request, the retransmission timer left as it is. */
  private sendRequest(rearm = true): void {
    if (!this.started) return;
    const id = this.o.allocRequestId();
    // a reply to any of the last few retransmissions answers the registration; older ids are dropped
    if (this.outstanding.size >= OUTSTANDING_MAX) this.outstanding.delete(this.outstanding.values().next().value as number);
    this.outstanding.add(id);
    this.sent++;
    this.expecting = true;
    // Retransmit if unanswered; the interval doubles per retransmission, capped at 64 s. Armed
    // before sending so a reply delivered synchronously by send() can re-arm it correctly.
    if (rearm) {
      const wait = this.backoff;
      this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_S);
      this.schedule(wait, () => this.retry());
    }
    this.o.send(this.o.nhsNbma, this.buildRequest(id));
  }

  private buildRequest(requestId: number): NhrpMessage {
    const o = this.o;
    const nhsProto = this.nhsTunnelIp;
    const extensions: NhrpExtension[] = [
      // Empty placeholders the NHS fills in / appends to (as FRR and IOS send them).
      { type: NhrpExtType.ForwardTransitNhs, compulsory: true, cies: [] },
      { type: NhrpExtType.ReverseTransitNhs, compulsory: true, cies: [] },
      { type: NhrpExtType.ResponderAddress, compulsory: true, cies: [] },
      // Cisco NAT detection: tell the NHS which address we sent to; it answers with what it saw.
      {
        type: NhrpExtType.NatAddress, compulsory: false,
        cies: [{ code: 0, prefixLen: 32, mtu: o.mtu, holdingTime: 0, preference: 0,
          nbma: o.nhsNbma, proto: nhsProto ?? '0.0.0.0' }],
      },
    ];
    if (o.auth) extensions.push(o.auth);
    return {
      type: NhrpType.RegistrationRequest,
      hopCount: 1, // addressed to the NHS itself, never forwarded (FRR)
      srcNbma: o.selfNbma,
      srcProto: o.selfTunnelIp,
      // RFC 2332 5.2.3: with the NHS address unknown, the NHC uses its own address as destination.
      dstProto: nhsProto ?? o.selfTunnelIp,
      flags: (o.unique ? FLAG_REG_UNIQUE : 0) | FLAG_CISCO_NAT,
      requestId,
      // One CIE for our address; RFC 2332 5.2.1: prefix length 0xff when unique.
      cies: [{ code: 0, prefixLen: o.unique ? 0xff : 32, mtu: o.mtu, holdingTime: o.holdtime, preference: 0 }],
      extensions,
    };
  }

  private schedule(seconds: number, fn: () => void): void {
    this.clearTimer();
    this.timer = this.o.clock.timers.setTimeout(() => { this.timer = undefined; fn(); }, seconds * 1000);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.o.clock.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
