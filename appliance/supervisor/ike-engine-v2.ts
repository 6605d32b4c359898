// IKEv2 as an IkeEngine (ike-engine.ts), for an ipsec profile with `set ikev2-profile NAME`: the
// IkeV2Manager with the policy ikeV2SettingsFrom() builds from the crypto config. Differences from
// IKEv1 that the service must see: the first Child SA comes with IKE_AUTH (childWithAuth), a further
// child exchange is CREATE_CHILD_SA rekeying a pair, DPD is an empty INFORMATIONAL (liveness check),
// and the Child SAs of an IKE SA end with it (RFC 7296 1.4.1): the adapter remembers which pairs each
// SA carries, so `deleted` is preceded by `childDeleted` for them, and follows them across IKE SA rekeys.
import type { CryptoConfig } from '../config/model.js';
import { ikeV2Policy, ikeV2SettingsFrom, keyFor, type IkeV2Policy } from '../ike/config-v2.js';
import { IkeV2Manager } from '../ike/manager/ike-v2.js';
import type { IkeSaV2 } from '../ike/sa/ike-sa-v2.js';
import type { LogFn } from '../log/log.js';
import type { KeyLookup } from '../ike/pki/trustpoint.js';
import type { PeerCertCheck } from '../ike/tasks/v2/cert-auth.js';
import type { IkeEngine, IkeEngineEvents, Send } from './ike-engine.js';

export interface IkeV2Engine extends IkeEngine<IkeSaV2> {
  readonly policy: IkeV2Policy;
  /** the manager itself (IKE SA rekey, Child SAs per SA) */
  readonly manager: IkeV2Manager;
}

/** The IKEv2 policy of `profile`'s ikev2-profile, or why there is none (undefined: the profile uses IKEv1). */
export function ikeV2PolicyFor(crypto: CryptoConfig, profile: string, keys?: KeyLookup): { policy: IkeV2Policy; warnings: string[] } | { error: string } | undefined {
  const s = ikeV2SettingsFrom(crypto, profile, keys);
  if (!s) return undefined;
  if (!s.ok) return { error: s.reason };
  const p = ikeV2Policy(s.value);
  if (!p.ok) return { error: p.reason };
  return { policy: p.value, warnings: [...s.warnings, ...p.warnings] };
}

/** Throws (with the reason) when the profile's IKEv2 config cannot be used: nothing is started then.
 *  `certAccepted`: the box's further say over peer certificates (IkeV2Policy.certAccepted), kept across
 *  policy changes. */
export function ikeV2Engine(crypto: CryptoConfig, profile: string, local: string, send: Send, log: LogFn,
  events: IkeEngineEvents<IkeSaV2>, keys?: KeyLookup, certAccepted?: PeerCertCheck): IkeV2Engine {
  const first = ikeV2PolicyFor(crypto, profile, keys);
  if (!first || 'error' in first) throw new Error(first ? first.error : `ipsec profile ${profile} has no ikev2-profile`);
  let policy: IkeV2Policy = { ...first.policy, certAccepted };
  /** outbound SPIs of the Child SAs each IKE SA carries */
  const carried = new Map<IkeSaV2, Set<number>>();
  const m = new IkeV2Manager(policy, local, send, log, {
    established: (sa) => events.established(sa),
    failed: (sa, reason) => { carried.delete(sa); events.failed(sa, reason); },
    child: (sa, keys) => {
      const set = carried.get(sa) ?? new Set<number>();
      set.add(keys.outbound.spi);
      carried.set(sa, set);
      events.child(sa, keys);
    },
    childDeleted: (sa, spis) => { for (const s of spis) carried.get(sa)?.delete(s); events.childDeleted(sa, spis); },
    deleted: (sa) => {
      const left = [...(carried.get(sa) ?? [])];
      carried.delete(sa);
      if (left.length) events.childDeleted(sa, left);
      events.deleted(sa);
    },
    ikeRekeyed: (old, next) => {
      const set = carried.get(old);
      carried.delete(old);
      if (set) carried.set(next, set);
      events.ikeRekeyed?.(old, next);
    },
  });
  return {
    get counters() { return m.counters as unknown as Record<string, number>; },
    get sas() { return m.sas; },
    get policy() { return policy; },
    manager: m,
    version: 2,
    childWithAuth: true,
    isEstablished: (sa) => sa.state === 'READY',
    isDeleting: (sa) => sa.state === 'DELETED',
    hasKeyFor: (peer) => policy.credentials !== undefined || keyFor(policy.keyring, peer) !== undefined,
    handleDatagram: (buf, address, port, localPort) => m.handleDatagram(buf, address, port, localPort),
    initiate: (peer, port) => m.initiate(peer, port),
    // a further pair on an SA is a rekey of its oldest one (the first pair came with IKE_AUTH); an SA
    // whose pairs are all gone gets a new one
    initiateChild: (sa) => { const c = m.childrenOf(sa)[0]; return c ? m.rekeyChild(sa, c.spiIn) : m.createChild(sa); },
    deleteChildren: (sa, spis) => spis.map((s) => m.deleteChild(sa, s)).some(Boolean),
    dpdProbe: (sa) => m.checkLiveness(sa, () => events.alive(sa)),
    clear: (sa) => m.clear(sa),
    configure: (c) => {
      const next = ikeV2PolicyFor(c, profile, keys);
      if (!next) return [`ipsec profile ${profile}: no ikev2-profile any more; IKEv2 keeps its previous policy`];
      if ('error' in next) return [`IKEv2 config refused, previous policy kept: ${next.error}`];
      policy = { ...next.policy, certAccepted };
      m.configure(policy);
      return next.warnings;
    },
    close: () => m.close(),
  };
}
