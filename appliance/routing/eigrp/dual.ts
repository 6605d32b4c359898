// DUAL, the Diffusing Update Algorithm (RFC 7868 section 3): the topology table, reported and feasible
// distance, the feasibility condition (a neighbor whose reported distance is below our feasible distance
// cannot be routing through us), successors and feasible successors, passive and active states,
// queries and replies, and stuck-in-active. Pure and event-driven: the speaker feeds it what neighbors
// said and what the links did, then sends what take() returns; time comes in through tick(now).
import { classicComposite, extend, isReachable, UNREACHABLE, wideComposite } from './metric.js';
import type { KValues, LinkCost, PathVector } from './metric.js';
import type { ExternalData } from './types.js';

/** One neighbor's (or our own) way to a destination. */
export interface Path {
  neighbor: string;         // neighbor address, '' for a route we originate
  iface: string;
  reported: PathVector;     // what the neighbor advertised (its own distance)
  vector: PathVector;       // extended over our link to it
  rd: number;               // reported distance (composite of `reported`)
  distance: number;         // composite of `vector`
  nextHop: string;          // where packets go: the neighbor, or the third-party next hop it named
  external?: ExternalData;
}

export interface Dest {
  key: string; prefix: string; len: number;
  paths: Map<string, Path>;
  state: 'passive' | 'active';
  fd: number;               // feasible distance: lowest distance since the last active -> passive
  distance: number;         // our current distance (what we advertise)
  vector: PathVector;       // our current vector (what we advertise)
  successors: Path[];
  /** While active: neighbors whose reply we wait for, each with its SIA deadline. */
  pending: Map<string, { deadline: number; siaSent: number; siaQueries: number }>;
  queryOrigins: Set<string>; // neighbors whose query we answer when we go passive
}

export interface RouteIn { prefix: string; len: number; reported: PathVector; nextHop: string; external?: ExternalData }

export type DualAction =
  | { kind: 'update'; dest: Dest }                      // our advertised state for dest changed
  | { kind: 'query'; dest: Dest; to: string[] }
  | { kind: 'reply'; dest: Dest; to: string }
  | { kind: 'sia-query'; dest: Dest; to: string }
  | { kind: 'sia-reply'; dest: Dest; to: string }
  | { kind: 'route'; dest: Dest }                       // successors changed: reprogram the routing table
  | { kind: 'reset'; neighbor: string; why: string };   // stuck in active: the neighbor never answered

export interface DualOptions {
  k: KValues; wide: boolean; variance: number; maxPaths: number;
  /** IOS `timers active-time`, default 3 minutes. */
  activeTimeMs: number;
  linkCost(iface: string): LinkCost;
  /** Addresses of the neighbors that are up (queried when a destination goes active). */
  neighbors(): string[];
  now(): number;
}

export const keyOf = (prefix: string, len: number): string => `${prefix}/${len}`;

export class Dual {
  readonly table = new Map<string, Dest>();
  private out: DualAction[] = [];
  /** Counters for show and tests. */
  readonly stats = { queriesSent: 0, repliesSent: 0, wentActive: 0, localComputations: 0, stuckInActive: 0 };

  constructor(readonly o: DualOptions) {}

  /** Actions produced since the last call. */
  take(): DualAction[] { const a = this.out; this.out = []; return a; }

  private composite(v: PathVector): number { return this.o.wide ? wideComposite(v, this.o.k) : classicComposite(v, this.o.k); }

  private dest(prefix: string, len: number): Dest {
    const key = keyOf(prefix, len);
    let d = this.table.get(key);
    if (!d) {
      d = { key, prefix, len, paths: new Map(), state: 'passive', fd: Infinity, distance: Infinity, vector: UNREACHABLE, successors: [], pending: new Map(), queryOrigins: new Set() };
      this.table.set(key, d);
    }
    return d;
  }

  private setPath(d: Dest, neighbor: string, iface: string, r: RouteIn | undefined): void {
    if (!r) { d.paths.delete(neighbor); return; }
    const vector = neighbor ? extend(r.reported, this.o.linkCost(iface)) : r.reported;
    const p: Path = { neighbor, iface, reported: r.reported, vector, rd: neighbor ? this.composite(r.reported) : 0, distance: this.composite(vector), nextHop: r.nextHop };
    if (r.external) p.external = r.external;
    if (!isReachable(vector)) p.distance = Infinity;
    d.paths.set(neighbor, p);
  }

  // ---- inputs ----

  /** A network we originate (connected or redistributed) appears (`vector`) or goes (undefined). */
  local(prefix: string, len: number, iface: string, vector: PathVector | undefined, external?: ExternalData): void {
    const d = this.dest(prefix, len);
    this.setPath(d, '', iface, vector && { prefix, len, reported: vector, nextHop: '0.0.0.0', external });
    this.changed(d);
  }

  update(neighbor: string, iface: string, r: RouteIn): void {
    const d = this.dest(r.prefix, r.len);
    this.setPath(d, neighbor, iface, r);
    if (d.state === 'passive') this.changed(d);
  }

  query(neighbor: string, iface: string, r: RouteIn): void {
    const d = this.dest(r.prefix, r.len);
    const fromSuccessor = d.successors.some((s) => s.neighbor === neighbor);
    this.setPath(d, neighbor, iface, r);
    if (d.state === 'active') {
      // our successor started its own computation: answer when ours ends; anyone else now
      if (fromSuccessor) d.queryOrigins.add(neighbor); else this.reply(d, neighbor);
      return;
    }
    this.changed(d, neighbor);
  }

  reply(d: Dest, to: string): void { this.stats.repliesSent++; this.out.push({ kind: 'reply', dest: d, to }); }

  replyFrom(neighbor: string, iface: string, r: RouteIn): void {
    const d = this.table.get(keyOf(r.prefix, r.len));
    if (!d) return;
    this.setPath(d, neighbor, iface, r);
    if (d.state === 'active' && d.pending.delete(neighbor) && !d.pending.size) this.goPassive(d);
    else if (d.state === 'passive') this.changed(d);
  }

  siaQuery(neighbor: string, r: { prefix: string; len: number }): void {
    const d = this.table.get(keyOf(r.prefix, r.len));
    if (!d) return;
    if (d.state === 'active') this.out.push({ kind: 'sia-reply', dest: d, to: neighbor });
    else this.reply(d, neighbor);
  }

  siaReply(neighbor: string, r: { prefix: string; len: number }): void {
    const w = this.table.get(keyOf(r.prefix, r.len))?.pending.get(neighbor);
    if (w) { w.deadline = this.o.now() + this.o.activeTimeMs / 2; w.siaSent = 0; }
  }

  /** A neighbor went down: its paths are gone, and it will never reply. */
  neighborDown(neighbor: string): void {
    for (const d of [...this.table.values()]) {
      const had = d.paths.delete(neighbor);
      d.queryOrigins.delete(neighbor);
      if (d.state === 'active') { if (d.pending.delete(neighbor) && !d.pending.size) this.goPassive(d); }
      else if (had) this.changed(d);
    }
  }

  /** Stuck-in-active: half-way through the active time ask each silent neighbor (SIA-query, up to 3
   *  times, each answer buys another half period); at the deadline reset it. */
  tick(now: number): void {
    const half = this.o.activeTimeMs / 2;
    for (const d of this.table.values()) {
      if (d.state !== 'active') continue;
      for (const [n, w] of [...d.pending]) {
        if (now >= w.deadline) {
          this.stats.stuckInActive++;
          this.out.push({ kind: 'reset', neighbor: n, why: `stuck in active for ${d.key}` });
          d.pending.delete(n);
        } else if (!w.siaSent && w.siaQueries < 3 && now >= w.deadline - half) {
          w.siaSent = now; w.siaQueries++;
          this.out.push({ kind: 'sia-query', dest: d, to: n });
        }
      }
      if (!d.pending.size) this.goPassive(d);
    }
  }

  // ---- the algorithm ----

  private best(paths: Path[]): number { return paths.reduce((m, p) => Math.min(m, p.distance), Infinity); }

  private pickSuccessors(paths: Path[], min: number): Path[] {
    if (!Number.isFinite(min)) return [];
    const limit = min * Math.max(1, this.o.variance);
    return paths.filter((p) => p.distance <= limit && (p.distance === min || p.rd < min))
      .sort((a, b) => a.distance - b.distance || a.neighbor.localeCompare(b.neighbor)).slice(0, Math.max(1, this.o.maxPaths));
  }

  /** Something about d changed while passive: local computation if a feasible successor exists,
   *  otherwise a diffusing computation (go active and query). `queryFrom` answers a query. */
  private changed(d: Dest, queryFrom?: string): void {
    const all = [...d.paths.values()];
    const feasible = all.filter((p) => Number.isFinite(p.distance) && p.rd < d.fd);
    const hadRoute = Number.isFinite(d.distance);
    if (feasible.length || !hadRoute) {
      this.stats.localComputations++;
      const min = this.best(feasible);
      this.settle(d, this.pickSuccessors(feasible, min), min);
      d.fd = Math.min(d.fd, min);
      if (queryFrom !== undefined) this.reply(d, queryFrom);
      this.forgetIfGone(d);
      return;
    }
    // no feasible successor for a route we had: ask everyone (RFC 7868 3.5)
    this.stats.wentActive++;
    d.state = 'active';
    const deadline = this.o.now() + this.o.activeTimeMs;
    const kept = d.successors[0] && d.paths.get(d.successors[0].neighbor);
    const current = kept && Number.isFinite(kept.distance) ? kept : undefined;
    d.distance = current ? current.distance : Infinity;
    d.vector = current ? current.vector : UNREACHABLE;
    if (queryFrom !== undefined) d.queryOrigins.add(queryFrom);
    const to = this.o.neighbors().filter((n) => n !== queryFrom); // the querier is answered, not asked
    for (const n of to) d.pending.set(n, { deadline, siaSent: 0, siaQueries: 0 });
    if (!current) this.setRoute(d, []);
    if (!to.length) { this.goPassive(d); return; }
    this.stats.queriesSent += to.length;
    this.out.push({ kind: 'query', dest: d, to });
  }

  private goPassive(d: Dest): void {
    d.state = 'passive';
    d.pending.clear();
    const all = [...d.paths.values()];
    const min = this.best(all);
    d.fd = min; // a new feasible distance starts with every computation
    this.settle(d, this.pickSuccessors(all, min), min, true);
    for (const n of d.queryOrigins) this.reply(d, n);
    d.queryOrigins.clear();
    this.forgetIfGone(d);
  }

  private settle(d: Dest, successors: Path[], min: number, forceUpdate = false): void {
    const vector = successors[0]?.vector ?? UNREACHABLE;
    const distanceChanged = d.distance !== min;
    d.distance = min;
    d.vector = vector;
    this.setRoute(d, successors);
    if (distanceChanged || forceUpdate) this.out.push({ kind: 'update', dest: d });
  }

  private setRoute(d: Dest, successors: Path[]): void {
    const sig = (ps: Path[]) => ps.map((p) => `${p.neighbor}|${p.nextHop}|${p.iface}|${p.distance}`).join(',');
    const changed = sig(d.successors) !== sig(successors);
    d.successors = successors;
    if (changed) this.out.push({ kind: 'route', dest: d });
  }

  /** An unreachable destination nobody offers a way to leaves the table (after its update went out). */
  private forgetIfGone(d: Dest): void {
    const none = [...d.paths.values()].every((p) => !Number.isFinite(p.distance));
    if (d.state === 'passive' && none && !Number.isFinite(d.distance)) this.table.delete(d.key);
  }

  /** Feasible successors: paths meeting the feasibility condition that are not successors. */
  feasibleSuccessors(d: Dest): Path[] {
    return [...d.paths.values()].filter((p) => p.neighbor && Number.isFinite(p.distance) && p.rd < d.fd && !d.successors.includes(p));
  }
}
