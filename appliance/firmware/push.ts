// `firmware push <spoke|all> [wave N]` on the hub: which spokes are told to update, in which wave,
// and what each reported. A wave's spokes are told (in the answer to their next report, report.ts);
// the next wave starts when every spoke of this one runs the new version committed; the first
// failure (refused, failed, rolled back, a refusal to start, no success within the wave timeout)
// stops the push: later waves are not started, and the failure names the spoke and its reason.
// What is pushed is chosen once, at the start (the newest bundle of each arch): a later wave gets the
// version the earlier ones proved, even if the serve directory changes meanwhile, and a report costs
// no directory read.
//
// A push outlives the hub's supervisor (a crash its watchdog heals, a reload, a power cut): the push
// and its rows are written to a store (push-store.ts) at every change of state (not at every progress
// report), and a new controller takes them up: the wave goes on with its timer's remaining time, the
// spokes already told are not told again (their baseline is kept, so a result they report later is
// still judged as new or not), and a push whose bundle is gone from the serve directory meanwhile
// stops, saying so. A finished push is kept too, so `show firmware push` still shows how it ended.
import { compareVersions, type Arch } from './manifest.js';
import type { HubAnswer, SpokeReport } from './report.js';
import { decodePush, encodePush, type SavedPush, type PushBundle, type PushRow } from './push-store.js';

export type { PushBundle, PushRow, RowState } from './push-store.js';

export interface PushOptions {
  /** the served bundles whose heads verified (the newest of the spoke's arch is pushed); read at a push's start */
  bundles(): PushBundle[];
  url(name: string): string;
  waveTimeoutMs: number;
  log(level: 'info' | 'notice' | 'warn' | 'error', mnemonic: string, text: string): void;
  /** where the push is kept across restarts (none: in memory only) */
  store?: { load(): string | undefined; save(text: string): void };
}

interface Push extends Omit<SavedPush, 'bundles' | 'rows'> { bundles: Map<Arch, PushBundle>; rows: Map<string, PushRow>; timer?: NodeJS.Timeout }

function newestByArch(bundles: PushBundle[]): Map<Arch, PushBundle> {
  const m = new Map<Arch, PushBundle>();
  for (const b of bundles) { const cur = m.get(b.arch); if (!cur || compareVersions(b.version, cur.version) > 0) m.set(b.arch, b); }
  return m;
}

const sleepOrWake = (ms: number, signal: AbortSignal, set: (wake: () => void) => void) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms);
  const done = () => { clearTimeout(t); resolve(); };
  set(done);
  signal.addEventListener('abort', done, { once: true });
});

export class PushController {
  private push?: Push;
  /** each peer's last report, push or not (show firmware push lists them) */
  readonly reports = new Map<string, { report: SpokeReport; at: number }>();
  private readonly wakers = new Map<string, () => void>();
  private prunedAt = 0;

  constructor(private readonly o: PushOptions) { this.restore(); }

  /** Takes up the push the store holds (written by the supervisor before this one). */
  private restore(): void {
    let text: string | undefined;
    try { text = this.o.store?.load(); } catch (e) { this.o.log('error', 'PUSH', `push state unreadable (${(e as Error).message}): no push taken up`); return; }
    if (text === undefined) return;
    const saved = decodePush(text);
    if (typeof saved === 'string') { this.o.log('error', 'PUSH', `push state unreadable (${saved}): no push taken up`); return; }
    const p: Push = { ...saved, bundles: new Map(saved.bundles.map((b) => [b.arch, b])), rows: new Map(saved.rows.map((r) => [r.address, r])) };
    this.push = p;
    if (p.state !== 'running') return;
    p.resumedAt = Date.now();
    const served = this.o.bundles();
    const gone = [...p.bundles.values()].find((b) => !served.some((s) => s.name === b.name && s.version === b.version && s.arch === b.arch));
    if (gone) { this.fail(p, `bundle ${gone.name} (${gone.version}) is no longer served: the push cannot go on after the restart`); return; }
    this.o.log('notice', 'PUSH', `push taken up after a restart: wave ${p.wave + 1} of ${p.waves.length}`);
    this.armWaveTimer(p, Math.max(0, p.waveStartedAt + this.o.waveTimeoutMs - Date.now()));
  }

  /** Writes the push to the store (after every change of state; a failed write is logged, the push
   *  goes on in memory). */
  private save(): void {
    if (!this.o.store || !this.push) return;
    const p = this.push;
    try { this.o.store.save(encodePush({ ...p, bundles: [...p.bundles.values()], rows: [...p.rows.values()] })); } catch (e) {
      this.o.log('error', 'PUSH', `push state not saved (${(e as Error).message}): a restart now would forget the push`);
    }
  }

  /** Starts a push to `targets` (tunnel addresses of registered peers), `waveSize` at a time. */
  start(targets: string[], waveSize: number): string {
    if (this.push?.state === 'running') return `% A firmware push is running (wave ${this.push.wave + 1} of ${this.push.waves.length}): wait for it or "firmware push cancel"\n`;
    if (!targets.length) return '% No registered NHRP peer to push to\n';
    const bundles = newestByArch(this.o.bundles());
    if (!bundles.size) return '% No verified firmware bundle to serve (the serve directory holds none whose signature checks)\n';
    const waves: string[][] = [];
    for (let i = 0; i < targets.length; i += waveSize) waves.push(targets.slice(i, i + waveSize));
    const rows = new Map<string, PushRow>();
    waves.forEach((w, i) => w.forEach((a) => rows.set(a, { address: a, wave: i + 1, state: 'waiting', detail: i === 0 ? 'waiting for its report' : `wave ${i + 1}`, updatedAt: Date.now() })));
    this.push = { waves, wave: 0, bundles, rows, state: 'running', message: '', startedAt: Date.now(), waveStartedAt: Date.now() };
    const what = [...bundles.values()].map((b) => `${b.version} (${b.arch}, ${b.name})`).join(', ');
    this.o.log('notice', 'PUSH', `push of ${what} to ${targets.length} spoke(s) in ${waves.length} wave(s) of ${waveSize}`);
    this.startWave();
    return `Firmware push of ${what} to ${targets.length} spoke(s) in ${waves.length} wave(s) of ${waveSize} started (show firmware push follows it)\n`;
  }

  cancel(): string {
    const p = this.push;
    if (p?.state !== 'running') return '% No firmware push is running\n';
    this.fail(p, `cancelled by the operator in wave ${p.wave + 1}`);
    return 'Firmware push cancelled: spokes already told finish their update; later waves are not started\n';
  }

  private startWave(): void {
    const p = this.push!;
    p.waveStartedAt = Date.now();
    this.armWaveTimer(p, this.o.waveTimeoutMs);
    for (const a of p.waves[p.wave]) {
      const r = p.rows.get(a)!;
      r.detail = 'waiting for its report';
      this.wakers.get(a)?.();
    }
    this.o.log('info', 'PUSH', `wave ${p.wave + 1} of ${p.waves.length}: ${p.waves[p.wave].join(', ')}`);
    this.save();
  }

  private armWaveTimer(p: Push, ms: number): void {
    clearTimeout(p.timer);
    p.timer = setTimeout(() => this.waveTimeout(p), ms);
    p.timer.unref?.();
  }

  private waveTimeout(p: Push): void {
    if (this.push !== p || p.state !== 'running') return;
    const late = p.waves[p.wave].map((a) => p.rows.get(a)!).filter((r) => r.state !== 'done');
    for (const r of late) this.setFailed(r, `no success within ${Math.round(this.o.waveTimeoutMs / 1000)} s (last state: ${r.state})`);
    if (late.length) this.fail(p, `spoke ${late[0].address} failed: ${late[0].detail}`);
  }

  private setFailed(r: PushRow, why: string): void { r.state = 'failed'; r.detail = why; r.updatedAt = Date.now(); }

  private fail(p: Push, message: string): void {
    p.state = 'failed';
    p.message = message;
    clearTimeout(p.timer);
    for (const r of p.rows.values()) if (r.state === 'waiting') { r.state = 'not started'; r.detail = 'the push stopped'; }
    this.o.log('error', 'PUSH', `push stopped in wave ${p.wave + 1}: ${message}`);
    this.save();
  }

  /** A peer's report (already parsed); resolves to the answer, held up to report.wait seconds when
   *  there is nothing to say (long poll), and answered early when a wave including the peer starts. */
  async onReport(peer: string, report: SpokeReport, signal: AbortSignal): Promise<HubAnswer> {
    const now = Date.now();
    this.reports.set(peer, { report, at: now });
    // peers that stopped reporting (gone, or no longer registered) are forgotten after 10 minutes
    if (now - this.prunedAt > 60_000) {
      this.prunedAt = now;
      for (const [a, r] of this.reports) if (now - r.at > 600_000) this.reports.delete(a);
    }
    let answer = this.evaluate(peer, report);
    // one held report per peer: a peer opening many cannot make the hub hold many
    if (answer.update || report.wait === 0 || signal.aborted || this.wakers.has(peer)) return answer;
    await sleepOrWake(report.wait * 1000, signal, (wake) => this.wakers.set(peer, wake));
    this.wakers.delete(peer);
    answer = signal.aborted ? {} : this.evaluate(peer, report);
    return answer;
  }

  /** evaluateRow, and the push saved when the row's state changed (not for mere progress) */
  private evaluate(peer: string, rep: SpokeReport): HubAnswer {
    const before = this.push?.rows.get(peer)?.state;
    const answer = this.evaluateRow(peer, rep);
    if (this.push?.rows.get(peer)?.state !== before) this.save();
    return answer;
  }

  private evaluateRow(peer: string, rep: SpokeReport): HubAnswer {
    const p = this.push;
    const r = p?.rows.get(peer);
    if (!p || !r || r.wave > p.wave + 1 || r.state === 'done' || r.state === 'failed' || r.state === 'not started') return {};
    r.running = rep.running;
    r.updatedAt = Date.now();
    const b = p.bundles.get(rep.arch);
    if (!b) { this.setFailed(r, `no bundle for ${rep.arch}`); this.settle(p, r); return {}; }
    r.version = b.version;
    const tell = (): HubAnswer => {
      if (p.state !== 'running') return {}; // stopped: nobody is told any more
      r.state = 'told'; r.detail = `told to update to ${b.version}`; r.baseline = rep.last?.at;
      return { update: { version: b.version, url: this.o.url(b.name) } };
    };
    if (r.state === 'waiting') {
      if (compareVersions(rep.running, b.version) >= 0 && rep.phase !== 'trial') { r.state = 'done'; r.detail = `already runs ${rep.running}`; this.settle(p, r); return {}; }
      return tell();
    }
    if (rep.refusal?.version === b.version) { this.setFailed(r, `refused to start: ${rep.refusal.message}`); this.settle(p, r); return {}; }
    const l = rep.last;
    // interrupted (the spoke restarted mid-download or mid-write, its slot untouched) is no failure:
    // it falls through to "told again" below, and resumes
    if (l && l.at !== r.baseline && l.version === b.version && l.result !== 'committed' && l.result !== 'interrupted') {
      this.setFailed(r, `${l.result}: ${l.message}`); this.settle(p, r); return {};
    }
    if (rep.running === b.version && rep.phase === 'idle') { r.state = 'done'; r.detail = l?.result === 'committed' ? 'committed' : `runs ${b.version}`; this.settle(p, r); return {}; }
    if (rep.phase !== 'idle') {
      r.state = rep.phase;
      r.bytes = rep.bytes; r.total = rep.total;
      r.detail = rep.phase === 'trial' ? `on trial with ${rep.running}` : rep.phase;
      return {};
    }
    // idle, not updated, no new result: it restarted mid-download or lost the answer; tell it again (it resumes)
    return tell();
  }

  /** After a row changed: a failure stops the push; a wave all done starts the next. */
  private settle(p: Push, r: PushRow): void {
    this.o.log(r.state === 'failed' ? 'error' : 'notice', 'PUSH', `spoke ${r.address}: ${r.state}: ${r.detail}`);
    if (p.state !== 'running') return;
    if (r.state === 'failed') return this.fail(p, `spoke ${r.address} failed: ${r.detail}`);
    if (!p.waves[p.wave].every((a) => p.rows.get(a)!.state === 'done')) return;
    if (p.wave + 1 < p.waves.length) { p.wave++; this.startWave(); return; }
    clearTimeout(p.timer);
    p.state = 'done';
    p.message = `all ${p.rows.size} spoke(s) updated`;
    this.o.log('notice', 'PUSH', `push done: ${p.message}`);
    this.save();
  }

  view() {
    const p = this.push;
    return {
      push: p && { state: p.state, message: p.message, wave: p.wave + 1, waves: p.waves.length, startedAt: p.startedAt, ...(p.resumedAt ? { resumedAt: p.resumedAt } : {}) },
      rows: p ? [...p.rows.values()].map((r) => ({ ...r })) : [],
      reports: [...this.reports].map(([address, v]) => ({ address, ...v })),
    };
  }

  stop(): void { clearTimeout(this.push?.timer); for (const w of this.wakers.values()) w(); }
}
