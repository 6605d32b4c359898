// The IKEv1 task manager for every SA of one local address: turns datagrams into verified messages for
// the right SA and task, sends what the tasks answer, retransmits, and forgets SAs that fail. It does no
// I/O itself (the UDP shell in transport/ gives it datagrams and a send function), so tests can drive it
// directly. handleDatagram never throws: a bug in a task is counted and the datagram dropped.
import { randomBytes, randomInt, createHash } from 'node:crypto';
import type { CryptoConfig } from '../../config/model.js';
import { phase1Policy, phase2Proposal, pskFor, sortedPolicies, type Phase1Policy, type Phase2Proposal } from '../config.js';
import { COOKIE_LEN, DOI_IPSEC, ExchangeV1, FLAG_ENCRYPTION, NAT_T_PORT, NotifyV1, PayloadV1, ProtocolId } from '../encoding/constants.js';
import { asNotify } from '../encoding/payloads-v1.js';
import { decodeHeaderV1, decodePayloadsV1 } from '../encoding/message-v1.js';
import { IkeSaV1, type InboundV1 } from '../sa/ike-sa-v1.js';
import { MainMode } from '../tasks/main-mode.js';
import { QuickMode } from '../tasks/quick-mode.js';
import { connected, deleteIke, informational, processInformational } from '../tasks/informational.js';
import { spiBytes } from '../tasks/phase2-proposal.js';
import type { ChildSaKeys } from '../sa/child-sa.js';
import { zeroCounters, type IkeCounters } from './counters.js';
import type { LogFn } from '../../log/log.js';

/** Sends from our `localPort` (500, or 4500 after floating: the transport adds the non-ESP marker there). */
export type Send = (datagram: Uint8Array, address: string, port: number, localPort: number) => void;

/** Retransmission of our last request: 1, 2, 4, 8, 16 s, then the exchange is given up (IOS: 5 tries). */
const RETRANSMIT_MS = [1000, 2000, 4000, 8000, 16000];
/** Half-open (not yet established) SAs we keep at most: a flood of first messages cannot exhaust memory. */
const MAX_HALF_OPEN = 1024;
/** A responder's SA that is not established this long after the peer's first message is forgotten
 * (the initiator retransmits for 31 s in all; a peer that stops half-way, e.g. with a wrong key, or a
 * flood of first messages, leaves nothing behind). */
const HALF_OPEN_MS = 40000;
/** Quick mode exchanges in progress per ISAKMP SA (a peer opening more is refused). */
const MAX_QUICK_MODES = 8;

interface Entry {
  sa: IkeSaV1;
  mainMode: MainMode;
  lastSent?: Uint8Array;
  lastRequestDigest?: string; // the request lastSent answered, when we were that exchange's responder
  timer?: NodeJS.Timeout;
  tries: number;
  quick: Map<number, QuickMode>; // by message ID
  /** SPI pairs of the Child SAs negotiated (the keys went to the `child` event, not kept here). */
  children: Array<{ spiIn: number; spiOut: number }>;
  /** the sequence number of our next R-U-THERE on this SA (RFC 3706 7: random start, then +1) */
  dpdSeq: number;
}

export interface IkeV1Events {
  established?(sa: IkeSaV1): void;
  failed?(sa: IkeSaV1, reason: string): void;
  /** Quick mode done: the ESP SA pair to install (the lead wires this to the WASM SA table). A promise
   *  resolves once the inbound half is in the data plane: what tells the peer it may send on it (our
   *  message 3, CONNECTED) waits for that. */
  child?(sa: IkeSaV1, keys: ChildSaKeys): void | Promise<unknown>;
  /** The peer deleted Child SAs: the SPIs it named are its inbound ones, our outbound. */
  childDeleted?(sa: IkeSaV1, spis: number[]): void;
  /** CONNECTED from the quick mode responder: it installed its inbound SA, our outbound `spi`. */
  childConnected?(sa: IkeSaV1, spi: number): void;
  deleted?(sa: IkeSaV1): void;
  /** An authenticated informational message came from the peer (DPD: it is alive). */
  alive?(sa: IkeSaV1): void;
  /** The peer sent INITIAL-CONTACT with the now established `sa`: SAs older than it are stale. */
  initialContact?(sa: IkeSaV1): void;
}

export class IkeV1Manager {
  readonly counters: IkeCounters = zeroCounters();
  private readonly entries = new Map<string, Entry>(); // by initiator cookie (hex): unique per SA we hold
  private nextConnId = 1001; // IOS numbers conn-ids from 1001
  private policies: Phase1Policy[] = [];
  private proposals: Phase2Proposal[] = [];

  constructor(private crypto: CryptoConfig, readonly local: string, private readonly send: Send,
    private readonly log: LogFn = () => {}, private readonly events: IkeV1Events = {}) {
    this.configure(crypto);
  }

  /** (Re)reads the ISAKMP policies; returns the warnings and refusals to show at load. */
  configure(crypto: CryptoConfig): string[] {
    const notes: string[] = [];
    const policies: Phase1Policy[] = [];
    for (const p of sortedPolicies(crypto.isakmpPolicies ?? [])) {
      const r = phase1Policy(p);
      if (r.ok) { policies.push(r.value); notes.push(...r.warnings); } else notes.push(r.reason);
    }
    // tunnel protection names one ipsec profile; its transform sets are what quick mode offers and accepts
    const proposals: Phase2Proposal[] = [];
    const profile = crypto.ipsecProfiles?.[0];
    for (const name of profile?.transformSets ?? []) {
      const ts = crypto.transformSets?.find((x) => x.name === name);
      if (!ts) { notes.push(`ipsec profile ${profile!.name}: transform-set ${name} not defined`); continue; }
      const r = phase2Proposal(ts, profile!.pfs, profile!.lifetimeSeconds, profile!.lifetimeKilobytes);
      if (r.ok && r.value.espId === undefined) notes.push(`transform-set ${ts.name}: ${r.value.cipher.name} has no IKEv1 transform ID: IKEv2 only`);
      else if (r.ok) { proposals.push(r.value); notes.push(...r.warnings); } else notes.push(r.reason);
    }
    this.crypto = crypto;
    this.policies = policies;
    this.proposals = proposals;
    return notes;
  }

  get sas(): IkeSaV1[] { return [...this.entries.values()].map((e) => e.sa); }

  /** Starts main mode with `peer` (UDP 500 unless told). */
  initiate(peer: string, port = 500): IkeSaV1 {
    const sa = new IkeSaV1(true, this.local, peer, new Uint8Array(randomBytes(COOKIE_LEN)), new Uint8Array(COOKIE_LEN), this.nextConnId++);
    sa.remotePort = port;
    const entry: Entry = { sa, tries: 0, mainMode: new MainMode(sa, this.mainModeConfig(peer)), quick: new Map(), children: [], dpdSeq: randomInt(1, 2 ** 31) };
    this.entries.set(hex(sa.ispi), entry);
    this.transmit(entry, entry.mainMode.start(), true);
    return sa;
  }

  /** Starts quick mode on an established SA; false when the SA is not ready or nothing is configured. */
  initiateQuick(sa: IkeSaV1): boolean {
    const entry = this.entries.get(hex(sa.ispi));
    if (!entry || entry.sa !== sa || sa.state !== 'QM_IDLE' || !this.proposals.length) return false;
    let mid = 0;
    while (mid === 0 || entry.quick.has(mid)) mid = randomBytes(4).readUInt32BE(0);
    const task = new QuickMode(sa, this.proposals, mid, true);
    entry.quick.set(mid, task);
    this.transmit(entry, task.start(), true);
    return true;
  }

  /** `clear crypto sa` for one SA: a delete notification to the peer (when established), then forget it. */
  clear(sa: IkeSaV1): void {
    const entry = this.entries.get(hex(sa.ispi));
    if (!entry || entry.sa !== sa) return;
    if (sa.state === 'QM_IDLE') this.sendRaw(deleteIke(sa), sa);
    this.stopTimer(entry);
    this.entries.delete(hex(sa.ispi));
    sa.state = 'MM_NO_STATE_DELETED';
    this.events.deleted?.(sa);
  }

  /** Delete notification (RFC 2408 3.15) for our inbound ESP SPIs `spis` (their Child SAs are gone here). */
  deleteChildren(sa: IkeSaV1, spis: number[]): boolean {
    const entry = this.entries.get(hex(sa.ispi));
    if (!entry || entry.sa !== sa || sa.state !== 'QM_IDLE' || !spis.length) return false;
    entry.children = entry.children.filter((c) => !spis.includes(c.spiIn));
    this.sendRaw(informational(sa, [{ type: PayloadV1.Delete, doi: DOI_IPSEC, protocol: ProtocolId.ESP, spiSize: 4, spis: spis.map(spiBytes) }]), sa);
    return true;
  }

  /** DPD (RFC 3706): an R-U-THERE with the SA's next sequence number; the ACK raises `alive`. The
   *  number is the SA's, not the caller's: periodic DPD and a silent NHS's probe share one sequence. */
  dpdProbe(sa: IkeSaV1): boolean {
    const entry = this.entries.get(hex(sa.ispi));
    if (!entry || entry.sa !== sa || sa.state !== 'QM_IDLE') return false;
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, entry.dpdSeq);
    entry.dpdSeq = (entry.dpdSeq + 1) >>> 0 || 1;
    this.sendRaw(informational(sa, [{ type: PayloadV1.Notify, doi: DOI_IPSEC, protocol: ProtocolId.ISAKMP,
      spi: Buffer.concat([sa.ispi, sa.rspi]), notifyType: NotifyV1.DpdRUThere, data }]), sa);
    return true;
  }

  /** The Child SAs (SPIs only) negotiated on `sa`. */
  childrenOf(sa: IkeSaV1): Array<{ spiIn: number; spiOut: number }> { return [...(this.entries.get(hex(sa.ispi))?.children ?? [])]; }

  close(): void {
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.entries.clear();
  }

  /** A datagram that arrived on our UDP `localPort` (500, or 4500 with its non-ESP marker still on). */
  handleDatagram(buf: Uint8Array, address: string, port: number, localPort = 500): void {
    this.counters.rxDatagrams++;
    try {
      if (localPort === NAT_T_PORT) {
        // RFC 3948 2.2: IKE after a zero non-ESP marker; anything else here is ESP for the data plane
        if (buf.length < 4 || buf[0] | buf[1] | buf[2] | buf[3]) return this.drop('unknownSa', address, 'ESP-in-UDP on the IKE socket (data plane not attached)');
        buf = buf.subarray(4);
      }
      this.dispatch(buf, address, port, localPort);
    } catch (e) {
      this.counters.internalErrors++;
      this.log('error', `IKE: internal error on a datagram from ${address}: ${(e as Error).message}`);
    }
  }

  private mainModeConfig(peer: string) {
    const key = pskFor(this.crypto, peer);
    // INITIAL-CONTACT only when we hold no other SA with the peer (as IOS): with one, it is not our first contact
    const first = ![...this.entries.values()].some((e) => e.sa.remote === peer);
    return { policies: this.policies, psk: key === undefined ? undefined : new TextEncoder().encode(key), initialContact: first, natT: true };
  }

  private drop(counter: 'malformed' | 'unknownSa' | 'rejected', address: string, why: string): void {
    this.counters[counter]++;
    this.log('warn', `IKE: dropped from ${address}: ${why}`);
  }

  private dispatch(buf: Uint8Array, address: string, port: number, localPort: number): void {
    const h = decodeHeaderV1(buf);
    if (!h.ok) return this.drop('malformed', address, h.reason);
    const { header, body } = h.value;
    let entry = this.entries.get(hex(header.ispi));
    if (entry && entry.sa.remote !== address) return this.drop('unknownSa', address, 'cookie of an SA with another peer');
    if (entry && !entry.sa.initiator && !equal(entry.sa.rspi, header.rspi) && !isZero(header.rspi)) {
      return this.drop('unknownSa', address, 'responder cookie does not match');
    }
    if (entry && entry.sa.initiator && entry.sa.state !== 'MM_NO_STATE' && !equal(entry.sa.rspi, header.rspi)) {
      return this.drop('unknownSa', address, 'responder cookie does not match');
    }

    // A duplicate of the request we last answered: the answer was lost, send it again (RFC 2408 5.x).
    const digest = createHash('sha1').update(buf.subarray(0, header.length)).digest('hex');
    if (entry && entry.lastRequestDigest === digest && entry.lastSent) {
      this.counters.retransmitted++;
      this.sendRaw(entry.lastSent, entry.sa);
      return;
    }

    if (!entry) {
      if (header.exchange !== ExchangeV1.IdentityProtection || !isZero(header.rspi) || header.messageId !== 0) {
        return this.drop('unknownSa', address, `exchange ${header.exchange} for no SA we hold`);
      }
      if (this.halfOpen() >= MAX_HALF_OPEN && !this.oldestFirstMessageOnly()) return this.drop('rejected', address, 'too many half-open SAs');
      const sa = new IkeSaV1(false, this.local, address, header.ispi, new Uint8Array(randomBytes(COOKIE_LEN)), this.nextConnId++);
      sa.remotePort = port;
      sa.localPort = localPort;
      entry = { sa, tries: 0, mainMode: new MainMode(sa, this.mainModeConfig(address)), quick: new Map(), children: [], dpdSeq: randomInt(1, 2 ** 31) };
      // kept only once message 1 is accepted (below), so refused first messages leave nothing behind
    }

    const inbound = this.open(entry.sa, header, body, address);
    if (!inbound) return;
    // the peer floated to 4500 (RFC 3947 4), or its NAT moved its port: answer where it now is
    if (localPort === NAT_T_PORT && entry.sa.natT) { entry.sa.localPort = NAT_T_PORT; entry.sa.remotePort = port; }

    if (header.exchange === ExchangeV1.IdentityProtection) {
      if (entry.sa.state === 'QM_IDLE') return this.drop('rejected', address, 'main mode message for an established SA');
      const step = entry.mainMode.process(inbound);
      if (!step.ok) {
        this.drop('rejected', address, `main mode: ${step.error}`);
        return;
      }
      if (!this.entries.has(hex(entry.sa.ispi))) {
        if (!entry.sa.initiator && this.halfOpen() >= MAX_HALF_OPEN) this.evictOldest();
        this.entries.set(hex(entry.sa.ispi), entry);
        if (!entry.sa.initiator) this.expireHalfOpen(entry);
      }
      // the reply (message 6) leaves before the established event, whose handler may start quick
      // mode: that request's retransmission timer must not be stopped here afterwards
      if (step.reply) {
        if (!entry.sa.initiator) entry.lastRequestDigest = digest;
        this.transmit(entry, step.reply, entry.sa.initiator && !step.established);
      } else {
        this.stopTimer(entry);
      }
      if (step.established) {
        this.counters.established++;
        entry.sa.establishedAt = Date.now();
        this.log('notice', `IKE: SA with ${address} established (conn-id ${entry.sa.connId})`);
        this.events.established?.(entry.sa);
        // RFC 2407 4.6.3.3: the peer holds no other SA with us (it rebooted): our older ones are stale
        if (inbound.payloads.some((p) => p.type === PayloadV1.Notify && asNotify(p)?.notifyType === NotifyV1.InitialContact)) {
          this.events.initialContact?.(entry.sa);
        }
      }
      return;
    }
    if (header.exchange === ExchangeV1.QuickMode) return this.quickMode(entry, inbound, digest);
    if (header.exchange === ExchangeV1.Informational) return this.informational(entry, inbound);
    this.drop('rejected', address, `exchange ${header.exchange} not handled`);
  }

  private informational(entry: Entry, m: InboundV1): void {
    const { sa } = entry;
    if (sa.state !== 'QM_IDLE') {
      // cannot be authenticated yet: say what the peer claims, act on nothing
      const types = m.payloads.filter((p) => p.type === PayloadV1.Notify).map((p) => asNotify(p)?.notifyType);
      return this.drop('rejected', sa.remote, `unauthenticated informational (notify ${types.join(',') || 'none'}) ignored`);
    }
    const r = processInformational(sa, m);
    if (!r.ok) return this.drop('rejected', sa.remote, r.error);
    this.counters.informational++;
    this.events.alive?.(sa);
    for (const n of r.notifies) if (n < 16384) this.log('warn', `IKE: ${sa.remote} notified error ${n}`);
    if (r.reply) this.sendRaw(r.reply, sa);
    for (const spi of r.connectedSpis) if (entry.children.some((c) => c.spiOut === spi)) this.events.childConnected?.(sa, spi);
    if (r.deleteSpis.length) {
      entry.children = entry.children.filter((c) => !r.deleteSpis.includes(c.spiOut));
      this.events.childDeleted?.(sa, r.deleteSpis);
    }
    if (r.deleteIke) {
      this.stopTimer(entry);
      this.entries.delete(hex(sa.ispi));
      sa.state = 'MM_NO_STATE_DELETED';
      this.log('notice', `IKE: ${sa.remote} deleted the ISAKMP SA (conn-id ${sa.connId})`);
      this.events.deleted?.(sa);
    }
  }

  private quickMode(entry: Entry, m: InboundV1, digest: string): void {
    const { sa } = entry, mid = m.header.messageId;
    if (sa.state !== 'QM_IDLE' || mid === 0) return this.drop('rejected', sa.remote, 'quick mode outside an established SA');
    let task = entry.quick.get(mid);
    if (!task) {
      if (entry.quick.size >= MAX_QUICK_MODES) return this.drop('rejected', sa.remote, 'too many quick modes in progress');
      task = new QuickMode(sa, this.proposals, mid, false);
    }
    const step = task.process(m);
    if (!step.ok) {
      sa.crypter?.forget(mid);
      return this.drop('rejected', sa.remote, `quick mode: ${step.error}`);
    }
    entry.quick.set(mid, task);
    // The initiator's inbound SA goes in before its message 3 leaves: the responder installs on
    // message 3 and may send on the new pair at once. The responder's goes in before its CONNECTED:
    // the initiator sends on the pair when it sees it. "In" means applied by the data plane, not only
    // handed to it (the `child` handler's promise): either message ahead of that cost the peer's first
    // packet on the new pair an unknown-SPI drop under load (a spoke's registration, integration-heal).
    let installed: void | Promise<unknown> = undefined;
    const child = step.child;
    if (child) {
      this.counters.childSas++;
      entry.children.push({ spiIn: child.inbound.spi, spiOut: child.outbound.spi });
      this.log('notice', `IKE: IPsec SA with ${sa.remote} up (in 0x${child.inbound.spi.toString(16)}, out 0x${child.outbound.spi.toString(16)})`);
      installed = this.events.child?.(sa, child);
    }
    const reply = step.reply;
    const tellPeer = () => {
      if (child && step.connected && sa.state === 'QM_IDLE' && this.entries.get(hex(sa.ispi))?.sa === sa) {
        this.sendRaw(connected(sa, spiBytes(child.inbound.spi)), sa);
      }
      if (reply) {
        // our message 2 is resent when message 1 comes again, our message 3 when message 2 does
        entry.lastRequestDigest = digest;
        this.transmit(entry, reply, false);
      }
    };
    const waits = installed instanceof Promise;
    if (!reply || waits) this.stopTimer(entry); // transmit() stops it too, when it runs
    if (waits) void (installed as Promise<unknown>).then(tellPeer, tellPeer); else tellPeer();
    if (task.done) { entry.quick.delete(mid); sa.crypter?.forget(mid); }
  }

  /** Decrypts (when flagged) and decodes the payload chain; null after counting a drop. */
  private open(sa: IkeSaV1, header: InboundV1['header'], body: Uint8Array, address: string): InboundV1 | null {
    if (header.flags & FLAG_ENCRYPTION) {
      if (!sa.crypter) { this.drop('rejected', address, 'encrypted message before keys exist'); return null; }
      const d = sa.crypter.decrypt(header.messageId, body);
      if (!d) { this.drop('malformed', address, 'encrypted body is not whole cipher blocks'); return null; }
      const p = decodePayloadsV1(header.nextPayload, d.plain, true);
      // with a wrong pre-shared key the keys differ and decryption yields garbage: say so (IOS does too)
      if (!p.ok) { this.drop('malformed', address, `decrypted message undecodable (wrong pre-shared key?): ${p.reason}`); return null; }
      return { header, payloads: p.value, commitIv: d.commit };
    }
    if (sa.crypter && sa.state !== 'MM_KEY_EXCH' && header.exchange !== ExchangeV1.Informational) {
      this.drop('rejected', address, 'cleartext message after keys exist');
      return null;
    }
    const p = decodePayloadsV1(header.nextPayload, body, false);
    if (!p.ok) { this.drop('malformed', address, p.reason); return null; }
    return { header, payloads: p.value, commitIv: () => {} };
  }

  private expireHalfOpen(entry: Entry): void {
    const t = setTimeout(() => {
      if (entry.sa.state === 'QM_IDLE' || this.entries.get(hex(entry.sa.ispi)) !== entry) return;
      this.stopTimer(entry);
      this.entries.delete(hex(entry.sa.ispi));
      this.log('warn', `IKE: SA with ${entry.sa.remote} not established in ${HALF_OPEN_MS / 1000} s (state ${entry.sa.state}): forgotten`);
      this.events.failed?.(entry.sa, 'not established in time');
    }, HALF_OPEN_MS);
    t.unref?.();
  }

  /**
   * The oldest responder SA that has seen only message 1 (a spoofed source never gets further: it
   * cannot see our message 2). Under a flood of first messages the newest arrivals push the oldest
   * out, so a real peer, which answers within a round trip and then leaves that state, still gets in.
   */
  private oldestFirstMessageOnly(): Entry | undefined {
    for (const e of this.entries.values()) if (!e.sa.initiator && e.sa.state === 'MM_SA_SETUP') return e;
    return undefined;
  }

  private evictOldest(): void {
    const e = this.oldestFirstMessageOnly();
    if (!e) return;
    this.stopTimer(e);
    this.entries.delete(hex(e.sa.ispi));
    this.counters.evicted++;
  }

  private halfOpen(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.sa.state !== 'QM_IDLE') n++;
    return n;
  }

  private sendRaw(datagram: Uint8Array, sa: IkeSaV1): void {
    this.counters.txDatagrams++;
    this.send(datagram, sa.remote, sa.remotePort, sa.localPort);
  }

  private transmit(entry: Entry, datagram: Uint8Array, expectAnswer: boolean): void {
    this.stopTimer(entry);
    entry.lastSent = datagram;
    entry.tries = 0;
    this.sendRaw(datagram, entry.sa);
    if (expectAnswer) this.armTimer(entry);
  }

  private armTimer(entry: Entry): void {
    const delay = RETRANSMIT_MS[entry.tries];
    if (delay === undefined) {
      this.entries.delete(hex(entry.sa.ispi));
      this.log('warn', `IKE: no answer from ${entry.sa.remote}, SA given up`);
      this.events.failed?.(entry.sa, 'retransmissions exhausted');
      return;
    }
    entry.timer = setTimeout(() => {
      entry.tries++;
      this.counters.retransmitted++;
      this.sendRaw(entry.lastSent!, entry.sa);
      this.armTimer(entry);
    }, delay);
    entry.timer.unref?.();
  }

  private stopTimer(entry: Entry): void { clearTimeout(entry.timer); entry.timer = undefined; }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const isZero = (b: Uint8Array) => b.every((x) => x === 0);
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
