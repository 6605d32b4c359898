// What applying a config changed, so a failure part-way can put the system back as it was
// (atomic apply: appliance.ts). Each step records its own undo before the next step runs.
import { linkState, restoreLink, routeDelete, sysctlGet, sysctlSet, type KernelRoute } from './system.js';

interface Undo { what: string; run: () => void | Promise<void> }

export class ApplyJournal {
  private readonly undos: Undo[] = [];

  record(what: string, run: () => void | Promise<void>): void { this.undos.push({ what, run }); }

  /** Snapshot an interface before it is changed. */
  link(linuxName: string): void {
    const before = linkState(linuxName);
    this.record(`interface ${linuxName} (${before.addresses.join(' ') || 'no address'}, ${before.up ? 'up' : 'down'})`, () => restoreLink(linuxName, before));
  }

  /** Set a sysctl, remembering its value to put back. */
  sysctl(key: string, value: string): void {
    const before = sysctlGet(key);
    if (before === value) return;
    sysctlSet(key, value);
    if (before !== undefined) this.record(`${key}=${before}`, () => sysctlSet(key, before));
  }

  route(r: KernelRoute): void { this.record(`route ${r.prefix}/${r.len}`, () => routeDelete(r)); }

  /** Undo everything, newest first; an undo that fails is reported, the rest still run. */
  async rollback(): Promise<{ undone: string[]; failed: string[] }> {
    const undone: string[] = [], failed: string[] = [];
    for (const u of this.undos.splice(0).reverse()) {
      try { await u.run(); undone.push(u.what); } catch (e) { failed.push(`${u.what}: ${(e as Error).message}`); }
    }
    return { undone, failed };
  }
}
