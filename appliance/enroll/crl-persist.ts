// The spoke's CRLs kept across restarts (crl-file.ts has the file's form): written whenever the CRL a
// trustpoint holds changes, loaded at start. A stored CRL is not trusted for being ours: it is verified
// with the trustpoint's CA exactly as a fetched one (crl-store.ts verifiedCrl, then accept: one with a
// number below the one held is refused too); a file or entry that fails is refused, logged and counted,
// never used. An entry whose CA certificate is not the trustpoint's any more (a CA change), or whose
// trustpoint fetches no CRL any more, is dropped.
import { CrlStore, verifiedCrl, type HeldCrl, type TrustpointCa } from './crl-store.js';
import { caOf, parseCrlFile, renderCrlFile, MAX_CRL_FILE, type StoredCrl } from './crl-file.js';
import type { Level } from '../log/log.js';

/** the persistent store of the CRLs: `where` names it in messages; read() undefined when there is none,
 *  write() replaces it whole (temp file and rename: supervisor/startup-config.ts writeFileAtomic) */
export interface CrlStorage { where: string; read(): string | undefined; write(text: string): void }


type Log = (level: Level, mnemonic: string, text: string) => void;

const when = (ms: number) => new Date(ms).toISOString();

export class CrlPersistence {
  /** what the file holds (or will, once written), by trustpoint */
  private readonly stored = new Map<string, StoredCrl>();
  readonly counters = { loaded: 0, storedRefused: 0, writeFailed: 0 };

  constructor(private readonly storage: CrlStorage | undefined, private readonly log: Log) {}

  get where(): string | undefined { return this.storage?.where; }

  /**
   * Loads the stored CRLs of `tps` into `store`, each verified with its trustpoint's CA; the CRLs taken
   * (their serials may refuse SAs established before: the caller asks them again). `now`: the load time.
   */
  async load(tps: readonly TrustpointCa[], store: CrlStore, now: number): Promise<HeldCrl[]> {
    if (!this.storage) return [];
    // from here `stored` is what the file holds and is used of (an entry refused is written over at sync)
    this.stored.clear();
    let text: string | undefined;
    try { text = this.storage.read(); } catch (e) { return this.refuseFile(`unreadable (${(e as Error).message})`); }
    if (text === undefined) return [];
    const file = parseCrlFile(text);
    if (typeof file === 'string') return this.refuseFile(file);
    const taken: HeldCrl[] = [];
    let changed = false;
    for (const [tp, e] of file) {
      const t = tps.find((x) => x.trustpoint === tp);
      if (!t) { this.log('notice', 'CRL_STORED', `trustpoint ${tp} fetches no CRL any more: its stored CRL dropped`); changed = true; continue; }
      if (e.ca !== caOf(t.ca)) { this.log('notice', 'CRL_STORED', `trustpoint ${tp}: its CA certificate changed since the CRL was stored: the stored CRL dropped`); changed = true; continue; }
      const c = await verifiedCrl(e.pem, t.caPem);
      const r = typeof c === 'string' ? c : store.accept(c);
      if (typeof r === 'string' || typeof c === 'string') {
        this.counters.storedRefused++;
        // the file is left as it is (to be looked at) until a fetched CRL replaces the entry
        this.log('error', 'CRL_STORED_REFUSED', `trustpoint ${tp}: the CRL stored in ${this.storage.where} is refused, not used: ${r}`);
        continue;
      }
      this.stored.set(tp, e);
      if (store.of(t.ca) !== c) continue; // the same CRL is held already (another trustpoint of the CA)
      c.origin = { from: 'storage', at: now, fetchedAt: e.fetchedAt };
      this.counters.loaded++;
      taken.push(c);
      this.log('notice', 'CRL_LOADED', `trustpoint ${tp}: CRL ${c.number} of ${c.issuer} loaded from ${this.storage.where} (fetched ${when(e.fetchedAt)}, nextUpdate ${when(c.nextUpdate)}${c.nextUpdate < now ? ', past it: it still refuses what it lists' : ''}), ${c.serials.size} revoked`);
    }
    if (changed) this.write();
    return taken;
  }

  /**
   * Keeps the file in step with what is held: for each of `tps`, the CRL `heldOf` gives it (written
   * when it is not the one stored), entries of other trustpoints or of a previous CA dropped.
   */
  sync(tps: readonly TrustpointCa[], heldOf: (t: TrustpointCa) => HeldCrl | undefined, now: number): void {
    if (!this.storage) return;
    let changed = false;
    for (const tp of [...this.stored.keys()]) {
      if (!tps.some((t) => t.trustpoint === tp)) { this.stored.delete(tp); changed = true; }
    }
    for (const t of tps) {
      const ca = caOf(t.ca), e = this.stored.get(t.trustpoint);
      if (e && e.ca !== ca) {
        this.log('notice', 'CRL_STORED', `trustpoint ${t.trustpoint}: its CA certificate changed: the stored CRL dropped`);
        this.stored.delete(t.trustpoint);
        changed = true;
      }
      const h = heldOf(t);
      if (!h || this.stored.get(t.trustpoint)?.pem === h.pem) continue;
      this.stored.set(t.trustpoint, { ca, pem: h.pem, fetchedAt: h.origin?.from === 'storage' ? h.origin.fetchedAt : h.origin?.at ?? now });
      changed = true;
    }
    if (changed) this.write();
  }

  private write(): void {
    try {
      const text = renderCrlFile(this.stored);
      // what load would refuse is not written (the previous file stays)
      if (text.length > MAX_CRL_FILE) throw new Error(`the file would be larger than ${MAX_CRL_FILE} bytes`);
      this.storage!.write(text);
    } catch (e) {
      this.counters.writeFailed++;
      // what the file holds is not known now: the next sync writes all that is held again
      this.stored.clear();
      this.log('error', 'CRL_STORE', `CRLs not written to ${this.storage!.where} (${(e as Error).message}): held in memory only, written again at the next fetch round`);
    }
  }

  private refuseFile(why: string): [] {
    this.counters.storedRefused++;
    this.log('error', 'CRL_STORED_REFUSED', `the CRL file ${this.storage!.where} is refused, no CRL loaded from it: ${why}`);
    return [];
  }
}
