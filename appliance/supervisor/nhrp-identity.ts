// Identity-bound NHRP (issue 10): the hub binds each registered tunnel address to the IKE identity
// (the authenticated peer ID of the SA the registration came through: PSK ID or certificate subject).
// A registration or purge of that address arriving over an SA authenticated as another identity is
// refused; the same identity may re-register from a new NBMA address at once (its SA changed, it did
// not). Plain DMVPN lets any spoke that has the group key register (hijack) another's address.
// The binding lasts as long as the registration: when the cache entry goes, so does the binding.
// With certificates (IKEv2) the certificate itself says which tunnel addresses its holder may claim:
// its subjectAltName IP addresses. A registration or purge of any other address over an SA
// authenticated by certificate is refused, even when no one holds that address yet, so a spoke with a
// valid certificate of its own cannot take another's address first ("first registration wins" is
// what a pre-shared key leaves).

/** What the NHRP engine asks while it handles one packet (nhrp/engine.ts NhrpOwnership). */
export interface ClaimSource {
  /** the IKE identity the packet being handled was protected by; undefined: not through an IKE SA */
  identity(): string | undefined;
  /** the addresses the certificate that authenticated `identity` names; undefined: not by certificate */
  certified?(identity: string): readonly string[] | undefined;
}

export class NhrpIdentityBinding {
  private readonly owners = new Map<string, string>();
  readonly counters = { bound: 0, refused: 0 };

  constructor(private readonly source: ClaimSource) {}

  /** Why the current packet may not register or purge `tunnelIp`; undefined = it may. */
  check(tunnelIp: string): string | undefined {
    const id = this.source.identity();
    const certified = id === undefined ? undefined : this.source.certified?.(id);
    if (certified && !certified.includes(tunnelIp)) {
      this.counters.refused++;
      return `the certificate of IKE identity ${id} names ${certified.join(', ') || 'no IP address'}, not ${tunnelIp}`;
    }
    const owner = this.owners.get(tunnelIp);
    if (owner === undefined) return undefined;
    if (id === owner) return undefined;
    this.counters.refused++;
    return `${tunnelIp} is bound to IKE identity ${owner}, the packet came ${id === undefined ? 'through no IKE SA' : `over an SA authenticated as ${id}`}`;
  }

  /** The current packet comes from the identity `tunnelIp` is bound to: a unique registration of it
   *  from a new NBMA address replaces the old one at once (nhrp/registration-server.ts). */
  isOwner(tunnelIp: string): boolean {
    const owner = this.owners.get(tunnelIp);
    return owner !== undefined && owner === this.source.identity();
  }

  /** A registration of `tunnelIp` was accepted: it belongs to the identity that sent it. */
  bind(tunnelIp: string): void {
    const id = this.source.identity();
    if (id === undefined || this.owners.get(tunnelIp) === id) return;
    this.owners.set(tunnelIp, id);
    this.counters.bound++;
  }

  /** The registration of `tunnelIp` is gone (expired, purged, cleared). */
  release(tunnelIp: string): void { this.owners.delete(tunnelIp); }

  ownerOf(tunnelIp: string): string | undefined { return this.owners.get(tunnelIp); }

  /** the tunnel addresses bound to `identity` */
  addressesOf(identity: string): string[] { return [...this.owners].filter(([, id]) => id === identity).map(([ip]) => ip); }
  get size(): number { return this.owners.size; }
}
