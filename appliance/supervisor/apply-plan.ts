// What preflight decided about a config before anything is applied (appliance.ts), shared by the
// startup apply and the live apply of configuration mode (live-config.ts).
import type { EthernetConfig, TunnelConfig } from '../config/model.js';
import type { TunnelParams } from './dataplane-host.js';
import type { PlannedSa } from './ipsec-plan.js';
import type { TunnelSource } from './tunnel-source.js';

export interface Plan {
  ethernets: EthernetConfig[];
  osNames: Map<string, string>;
  tunnel?: TunnelConfig;
  params?: TunnelParams;
  sas?: PlannedSa[];
  source?: TunnelSource;
  /** the configured tunnel stays down, and why (`shutdown`; while typing: not complete yet) */
  down?: string;
}

/**
 * Why a tunnel being typed in configuration mode cannot run yet (undefined when it can). IOS accepts
 * these states and shows the tunnel down; a startup-config with them is refused instead (preflight).
 */
export function incompleteTunnel(t: TunnelConfig): string | undefined {
  if (!t.address) return 'no ip address';
  if (!t.source) return 'no tunnel source';
  if (t.mode === 'gre-ip' && !t.destination) return 'tunnel mode gre ip without a tunnel destination';
  return undefined;
}
