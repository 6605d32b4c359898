// Where a tunnel's source address is, and a poll that follows it: a tunnel whose source is on no
// interface stays down and comes up when it appears (appliance.ts). Polling `ip addr` once a second
// costs little and needs no netlink listener in the addon.
//
// When the address changes (DHCP, PPPoE: `tunnel source <interface>`), the tunnel restarts on the new
// one (appliance.ts followSource): the data plane's sockets, IKE and NAT-T bind to it, and the new
// NHRP engine registers at once with the new NBMA address, not at the next registration timer. Peers
// that hold our old binding hear of the new one from the NHS, which purges them when it accepts our
// registration from the new address (nhrp/holders.ts).
import { interfaceAddresses, interfaceExists, localAddresses } from './system.js';

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
