// What the protocol handler modules (resolution, responder, forwarding, redirect, shortcut, purge,
// error) need from the engine. One narrow interface keeps the modules testable and the engine the
// only place that knows about configuration and NHS clients.
import type { NhrpCache } from './cache.js';
import type { Clock } from './clock.js';
import type { LogFn } from '../log/log.js';
import type { NhrpExtension, NhrpMessage } from './types.js';

export interface OwnedPrefix { prefix: string; len: number }

/** Supervisor hooks for Phase 3 shortcut routes (installed into the RIB as IOS/FRR do). */
export interface ShortcutRoutes {
  installShortcut(prefix: string, len: number, nextHopTunnelIp: string): void;
  removeShortcut(prefix: string, len: number): void;
}

export interface NhrpContext {
  selfIp: string;
  selfNbma: string;
  /** our `ip nhrp holdtime` (s): advertised in what we answer and request */
  holdtime: number;
  mtu: number;
  auth?: NhrpExtension;
  cache: NhrpCache;
  clock: Clock;
  log: LogFn;
  send(nbmaDst: string, msg: NhrpMessage): void;
  allocRequestId(): number;
  /** the NHS resolution requests go to (best priority that is responding), if any */
  bestNhs(): { nbma: string; tunnelIp?: string } | undefined;
  /** our post-NAT NBMA address learnt from an NHS (Cisco NAT extension); undefined when not NATed */
  natNbma(): string | undefined;
  /** the prefix of ours covering addr: our tunnel address (/32) or a local network */
  owned(addr: string): OwnedPrefix | undefined;
  /** tunnel next hop of the route towards addr (RIB lookup; default: our NHS), if via this tunnel */
  nextHop(addr: string): string | undefined;
  drop(reason: string): void;
  /** is this the NBMA address of one of our configured NHSes? */
  isNhs(nbma: string): boolean;
  /** do we know this sender: an NHS, a static map, a registered or resolved peer? */
  knownNbma(nbma: string): boolean;
  /** is addr inside our tunnel subnet (the only addresses NHRP may bind)? */
  inTunnel(addr: string): boolean;
  /** true on a hub with no NHS of its own: it learns bindings only from registrations */
  topLevelHub: boolean;
  /** count a refusal under `reason` (show ip nhrp traffic) and log `text`, rate limited */
  refuse(reason: string, text: string): void;
}

/** Hop count of packets we originate: RFC 2332 leaves it to us; 64 covers any hub hierarchy. */
export const ORIGIN_HOP_COUNT = 64;
