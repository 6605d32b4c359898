// What exec-mode commands may see of a running appliance: read-only views and the few actions exec
// mode has (clear the NHRP cache, turn debugging on and off, apply a configuration, fault-injection hooks). ExecCommands
// (exec.ts) takes this, never the Appliance, so a show command cannot reach into the supervisor's
// state; the appliance hands one out (Appliance.execContext) and dmvpnd passes it on.
import type { ApplianceConfig, TunnelConfig } from '../config/model.js';
import type { CacheEntry } from '../nhrp/cache.js';
import type { NhrpCounters } from '../nhrp/engine.js';
import type { NhsStatus } from '../nhrp/registration-client.js';
import type { SaRow } from '../dataplane/sa.js';
import type { IsakmpSaRow, CryptoSessionChild } from '../show/crypto-isakmp.js';
import type { DaemonStatus } from '../routing/frr/daemons.js';
import type { Address, Link, Route } from '../routing/kernel-table.js';
import type { EigrpSpeaker } from '../routing/eigrp/speaker.js';
import type { KeyStore } from './key-store.js';
import type { RefusedPeer } from './ike-service.js';
import type { PeerCertCheck } from '../ike/tasks/v2/cert-auth.js';

/** IKE as exec mode sees it: the ISAKMP SAs, the Child SAs it installed, and `clear crypto ...`. */
export interface ExecIke {
  sas(): IsakmpSaRow[];
  children(): CryptoSessionChild[];
  /** `clear crypto sa [peer X]`: IPsec and ISAKMP SAs; returns how many were cleared. */
  clear(peer?: string): number;
  /** `clear crypto isakmp [conn-id]` */
  clearIsakmp(connId?: number): number;
  /** `show crypto ikev2 sa [detail]` text; undefined when the service runs IKEv1 */
  ikev2Sa?(detail: boolean): string | undefined;
  /** IKE SAs whose peer certificate `refuse` now refuses, taken down, with the NHRP registrations made
   *  through them (`clear dmvpn enrollment binding`: the device is cut off at once) */
  clearRefused?(refuse: PeerCertCheck): Array<RefusedPeer & { registrations: string[] }>;
  /** what IKE counted (datagrams, drops by reason, SAs, evictions, DPD, first-packet queue) */
  counters(): Record<string, number>;
}

/** The NHRP engine as exec mode sees it. */
export interface ExecNhrp {
  cacheEntries(): CacheEntry[];
  nhsStatus(): NhsStatus[];
  counters(): NhrpCounters;
  clearCache(): void;
}

export interface ExecContext {
  readonly startedAt: number;
  /** the running config (loaded before the control socket serves exec commands) */
  config(): ApplianceConfig;
  tunnel(): TunnelConfig | undefined;
  /** the tunnel's NBMA source address, once known */
  tunnelSource(): string | undefined;
  /** the tunnel's line protocol is up: its overlay runs and, with `if-state nhrp`, an NHS answers */
  overlayUp(): boolean;
  /** the OS interface a configured interface drives */
  osNameOf(name: string): string | undefined;
  /** the kernel's main table and addresses (netlink), with when each route appeared */
  kernel(): { routes(): Route[]; addresses(): Address[]; since(r: Route): number | undefined; link(name: string): Link | undefined };
  /** the NHRP engine, while the tunnel runs */
  nhrp(): ExecNhrp | undefined;
  /** percent of the NHRP max-send budget used in the last 10 s */
  nhrpSendUsage(): number;
  /** data-plane counters, while the data plane runs */
  dataplaneCounters(): Record<string, number> | undefined;
  /** per data-plane worker: its packet counts and restarts (`show dataplane workers`) */
  dataplaneWorkers(): Array<{ worker: number; restarts: number; counters: Record<string, number> }> | undefined;
  /** the SA table and the SA names, while IPsec runs */
  ipsecSas(): { rows: SaRow[]; nameOf(index: number): string; originOf?(index: number): string } | undefined;
  /** IKE, while it runs (a tunnel protected with crypto isakmp keys) */
  ike(): ExecIke | undefined;
  /** the log's recent lines (`show logging`) */
  logLines(): string[];
  /** `debug <facility>`: its debug-level lines are logged from now on */
  debugOn(facility: string): void;
  /** `undebug all` */
  debugOffAll(): void;
  /** configuration mode: apply a whole candidate config live, or refuse it and change nothing */
  reconfigure(next: ApplianceConfig): Promise<{ ok: boolean; message?: string }>;
  /** the data plane for fault-injection commands (test-hooks.ts), while it runs */
  dataplaneForTest(): { crashWorkerForTest(worker?: number): boolean } | undefined;
  /** FRR's JSON answer to a vtysh command, or undefined when no routing protocol runs (supervisor/routing.ts) */
  routingJson?(command: string): Promise<unknown>;
  /** the FRR daemons this appliance runs, with their restart counts */
  routingDaemons?(): DaemonStatus[];
  /** the running EIGRP speakers (supervisor/eigrp.ts), one per `router eigrp` process */
  eigrpSpeakers?(): EigrpSpeaker[];
  /** `clear ip eigrp neighbors`: resets every adjacency; resolves to how many there were */
  clearEigrpNeighbors?(): Promise<number>;
  /** the key store of `crypto key generate` (next to the startup-config) */
  keyStore?(): KeyStore | undefined;
}
