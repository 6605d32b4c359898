// Builds the plain view objects the show formatters take (appliance/show/) from live state: the
// NHRP engine's cache and NHS status. Pure functions of their inputs so they are easy to test.
import type { CacheEntry } from '../nhrp/cache.js';
import type { NhsStatus } from '../nhrp/registration-client.js';
import type { DmvpnInterfaceView, DmvpnPeerView } from '../show/dmvpn.js';
import type { NhrpEntryView } from '../show/nhrp.js';
import { ipToU32 } from '../net/ipv4.js';

const seconds = (ms: number) => Math.max(0, Math.floor(ms / 1000));

/** IOS Attrb letters: S static, D dynamic, I incomplete, N NAT-ed. */
function attrs(e: CacheEntry): string {
  const base = e.type === 'static' ? 'S' : e.type === 'incomplete' || e.type === 'negative' ? 'I' : 'D';
  return base + (e.flags.nat ? 'N' : '');
}

export function dmvpnInterface(name: string, isSpoke: boolean, entries: CacheEntry[], nhs: NhsStatus[], now: number,
  extra: Partial<DmvpnInterfaceView> = {}): DmvpnInterfaceView {
  const shown = entries.filter((e) => e.type !== 'local');
  // a shortcut route (prefix via a tunnel next hop) counts with the peer it goes through (# Ent)
  const nbmaOfTunnel = new Map(shown.filter((e) => e.nbma && !e.via).map((e) => [e.tunnelIp, e.nbma!]));
  // Spokes behind one NAT register with the same (public) NBMA: each is still its own peer (IOS).
  const registered = new Map<string, number>();
  for (const e of shown) if (e.nbma && !e.via && e.flags.registered) registered.set(e.nbma, (registered.get(e.nbma) ?? 0) + 1);
  const byNbma = new Map<string, CacheEntry[]>();
  for (const e of shown) {
    let k = e.nbma ?? (e.via && nbmaOfTunnel.get(e.via)) ?? `unresolved:${e.via ?? e.tunnelIp}`;
    if ((registered.get(k) ?? 0) > 1) k = `${k}|${e.via ?? e.tunnelIp}`;
    byNbma.set(k, [...(byNbma.get(k) ?? []), e]);
  }
  const peers: DmvpnPeerView[] = [];
  for (const [nbma, list] of byNbma) {
    const e = list.find((x) => !x.via) ?? list[0];
    const server = nhs.find((n) => n.nbma === e.nbma);
    // An NHS we have not heard from yet is shown as NHRP (IOS: the NHRP session is not up).
    const state: DmvpnPeerView['state'] = e.type === 'incomplete' || e.type === 'negative' ? 'NHRP'
      : server && !server.up ? 'NHRP' : 'UP';
    const since = server?.up && server.lastReplyAt !== undefined ? Math.min(e.created, server.lastReplyAt) : e.created;
    // the other entries with this peer (shortcut routes through it), one row each as on IOS
    const more = list.filter((x) => x !== e).map((x) => ({
      tunnel: x.via ?? x.tunnelIp, state, upDownSeconds: seconds(now - x.created),
      attrs: attrs(x) + (x.flags.rib ? 'T1' : ''), target: `${x.tunnelIp}/${x.prefixLen}`,
    }));
    peers.push({
      nbma: nbma.startsWith('unresolved:') ? 'UNKNOWN' : nbma.split('|')[0], tunnel: e.tunnelIp, state,
      upDownSeconds: seconds(now - since), attrs: attrs(e) + (list.some((x) => x.flags.rib) ? 'T1' : ''), entries: list.length,
      target: `${e.tunnelIp}/${e.prefixLen}`, ...(more.length ? { more } : {}),
    });
  }
  peers.sort((a, b) => ipToU32(a.tunnel) - ipToU32(b.tunnel));
  return { name, type: isSpoke ? 'Spoke' : 'Hub', peers, ...extra };
}

export function nhrpEntries(iface: string, entries: CacheEntry[], now: number): NhrpEntryView[] {
  return entries.filter((e) => e.type !== 'local').map((e) => ({
    prefix: e.tunnelIp, prefixLen: e.prefixLen, via: e.via ?? e.tunnelIp, iface,
    createdSeconds: seconds(now - e.created),
    expiresSeconds: e.expires === undefined ? null : seconds(e.expires - now),
    type: e.type === 'static' || e.type === 'dynamic' || e.type === 'incomplete' || e.type === 'negative' ? e.type : 'dynamic',
    flags: (Object.entries(e.flags) as Array<[string, boolean]>).filter(([, v]) => v).map(([k]) => k),
    nbma: e.nbma, nat: e.flags.nat, claimedNbma: e.claimedNbma,
  })).sort((a, b) => ipToU32(a.prefix) - ipToU32(b.prefix));
}
