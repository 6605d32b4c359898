// Who holds a registered client's binding (NHS side), so they can be purged when the client's NBMA
// address changes (RFC 2332 5.2.5: an NHS purges the stations it gave information to once that
// information is no longer valid). A requester comes to hold client C's binding when we answer its
// resolution of C from our cache, or forward its request to C (C answers it directly and, for a
// request it may learn from, also learns the requester: then C holds the requester's binding too).
// When C registers from an NBMA address other than the one the holders got, registered() returns
// them and forgets them; the engine sends each a Purge Request for C's address. Kept across the
// registration's expiry on purpose: a unique client that waited for its old entry to expire
// registers anew, and the holders of the old binding must hear of it all the same.
// Bounded: a requester list per client and a client count, the oldest dropped first.

/** Requesters per client remembered at most (oldest forgotten first). */
export const MAX_HOLDERS_PER_CLIENT = 256;
/** Clients tracked at most (the least recently handed out forgotten first). */
export const MAX_CLIENTS = 8192;

interface Held { nbma: string; holders: Map<string, string> } // requester tunnel ip -> its NBMA

export class BindingHolders {
  private readonly clients = new Map<string, Held>();

  /** The binding clientIp -> clientNbma went to the requester. */
  handedOut(clientIp: string, clientNbma: string, requesterIp: string, requesterNbma: string): void {
    if (clientIp === requesterIp) return;
    let h = this.clients.get(clientIp);
    if (h && h.nbma !== clientNbma) h = undefined; // an older binding's holders were purged already
    if (!h) h = { nbma: clientNbma, holders: new Map() };
    this.clients.delete(clientIp); // re-insert: most recent last
    this.clients.set(clientIp, h);
    h.holders.delete(requesterIp);
    h.holders.set(requesterIp, requesterNbma);
    if (h.holders.size > MAX_HOLDERS_PER_CLIENT) h.holders.delete(h.holders.keys().next().value!);
    if (this.clients.size > MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value!);
  }

  /** clientIp registered with nbma: the holders of a different, older binding (to purge), forgotten. */
  registered(clientIp: string, nbma: string): Array<{ ip: string; nbma: string }> {
    const h = this.clients.get(clientIp);
    if (!h || h.nbma === nbma) return [];
    this.clients.delete(clientIp);
    return [...h.holders].map(([ip, n]) => ({ ip, nbma: n }));
  }

  /** clientIp's registration was withdrawn (its IKE identity revoked): the holders of its binding, forgotten. */
  withdrawn(clientIp: string): Array<{ ip: string; nbma: string }> {
    const h = this.clients.get(clientIp);
    this.clients.delete(clientIp);
    return h ? [...h.holders].map(([ip, n]) => ({ ip, nbma: n })) : [];
  }

  clear(): void { this.clients.clear(); }
}
