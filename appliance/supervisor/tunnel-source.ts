// Where a tunnel's source address is, and a watch that follows it: a tunnel whose source is on no
// interface stays down and comes up when it appears (appliance.ts). The watch runs on the kernel
// table's address and link events (routing/kernel-table.ts, netlink), with a slow poll as a safety net.
//
// When the address changes (DHCP, PPPoE: `tunnel source <interface>`), the tunnel restarts on the new
// one (appliance.ts followSource): the data plane's sockets, IKE and NAT-T bind to it, and the new
// NHRP engine registers at once with the new NBMA address, not at the next registration timer. Peers
// that hold our old binding hear of the new one from the NHS, which purges them when it accepts our
// registration from the new address (nhrp/holders.ts); we resolve the peers we knew again at once
// (reresolveOnceRegistered), so our data plane accepts their traffic to the new address.
import { interfaceAddresses, interfaceExists, localAddresses } from './system.js';
import type { CacheEntry } from '../nhrp/cache.js';
import type { NhsStatus } from '../nhrp/registration-client.js';

/** `tunnel source` resolved at preflight: an address to find, or the OS interface whose first address it is. */
export interface TunnelSource { address?: string; linux?: string }

/** The source address if it is on an interface now. */
export function presentSourceAddress(s: TunnelSource): string | undefined {
  if (s.address) return localAddresses().has(s.address) ? s.address : undefined;
  return interfaceExists(s.linux!) ? interfaceAddresses(s.linux!)[0]?.split('/')[0] : undefined;
}

/** Runs `step` every `ms`, never two at once; a step that throws is reported, the poll goes on. */
export function pollEvery(ms: number, step: () => Promise<void>, onError: (e: Error) => void): NodeJS.Timeout {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    step().catch((e) => onError(e as Error)).finally(() => { busy = false; });
  }, ms);
  timer.unref();
  return timer;
}

/** What of the kernel table the watch needs. */
export interface AddressEvents { subscribe(fn: (ev: { kind: string }) => void): () => void }

/**
 * Runs `step` on every address or link change, never two at once (a change during a step runs it
 * once more after), and every `safetyMs` in case an event was missed. Returns the stop function.
 */
export function followAddressChanges(table: AddressEvents, safetyMs: number, step: () => Promise<void>,
  onError: (e: Error) => void): () => void {
  let busy = false, again = false, stopped = false;
  const run = (): void => {
    if (stopped) return;
    if (busy) { again = true; return; }
    busy = true;
    step().catch((e) => onError(e as Error)).finally(() => {
      busy = false;
      if (again) { again = false; run(); }
    });
  };
  const unsubscribe = table.subscribe((ev) => { if (ev.kind === 'addr' || ev.kind === 'link') run(); });
  const timer = setInterval(run, safetyMs);
  timer.unref();
  return () => { stopped = true; unsubscribe(); clearInterval(timer); };
}

/** What of the NHRP engine the source follower needs. */
export interface ReresolveEngine {
  cacheEntries(): CacheEntry[];
  nhsStatus(): NhsStatus[];
  /** resolve a tunnel next hop (as for a packet without entry) */
  noEntry(nextHop: string, destination: string): void;
}

/** Tunnel addresses of the peers we had bindings for (not NHSes, not shortcuts' prefixes, not spokes
 *  registered with us: those re-register on their own). */
export function peersToReresolve(engine: ReresolveEngine): string[] {
  const ips = engine.cacheEntries()
    .filter((e) => e.type === 'dynamic' && !e.via && !e.flags.registered && !e.flags.nhs && e.nbma)
    .map((e) => e.tunnelIp);
  return [...new Set(ips)];
}

/**
 * The restarted tunnel knows none of the peers the old one talked to, and a multipoint data plane
 * drops GRE from an NBMA address that is no peer: a peer that resolved us anew through the NHS (it
 * was purged) sends straight to us, and if our side of the conversation only ever answers, nothing
 * would make us resolve it. So once an NHS accepts the new address, resolve them again: now if one
 * has, else on the first NHS change that leaves one up (`nhsChanges` subscribes to the engine's
 * nhsChanged; the subscription ends with it or with the tunnel, which drops its listeners).
 */
export function reresolveOnceRegistered(engine: ReresolveEngine, peers: string[],
  nhsChanges: (fn: () => void) => () => void, done: (n: number) => void): void {
  if (!peers.length) return;
  const resolveIfRegistered = (): boolean => {
    if (!engine.nhsStatus().some((s) => s.up)) return false;
    for (const ip of peers) engine.noEntry(ip, ip);
    done(peers.length);
    return true;
  };
  if (resolveIfRegistered()) return;
  const unsubscribe = nhsChanges(() => { if (resolveIfRegistered()) unsubscribe(); });
}
