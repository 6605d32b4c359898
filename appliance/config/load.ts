// Startup-config loading: all-or-nothing. Every line runs through the same command trees as the
// interactive CLI; the first bad line fails the whole load (with its 1-based line number, the
// 1-based column of the '^' marker, and the IOS message), and no partial config is returned.
import type { ApplianceConfig } from './model.js';
import { configTrees, emptyConfig } from './grammar.js';
import { runConfigLine, stripPrompt, ModeState } from './modes.js';
import { errorMessage } from '../cli/match.js';

export type Inactive = ApplianceConfig['inactive'];
export interface LoadError { line: number; column: number; text: string; message: string }
export type LoadResult = { ok: true; config: ApplianceConfig; inactive: Inactive } | { ok: false; errors: LoadError[] };

// The line each route, interface and interface address came from, so an apply failure can name the
// line. Kept beside the model (not in it) so configs stay plain data that compares and renders as before.
const origins = new WeakMap<object, number>();
/** 1-based startup-config line of a route, interface or `ip address` (undefined if not loaded from text). */
export const originLine = (o: object): number | undefined => origins.get(o);

function noteOrigins(cfg: ApplianceConfig, line: number): void {
  const mark = (o: object | undefined) => { if (o && !origins.has(o)) origins.set(o, line); };
  cfg.routes.forEach(mark);
  for (const i of cfg.interfaces) { mark(i); mark(i.address); }
}

export function parseStartupConfig(text: string): LoadResult {
  const cfg = emptyConfig();
  const trees = configTrees();
  let mode: ModeState = { id: 'config' };
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n];
    const body = stripPrompt(raw);
    const offset = raw.length - body.length; // caret column must point into the line as written
    const r = runConfigLine(trees, mode, cfg, body);
    if (!r.ok) {
      const e = r.error;
      const column = e.kind === 'invalid' ? offset + e.col + 1 : 1;
      const message = e.kind === 'action' ? `% ${e.message}` : errorMessage(e);
      return { ok: false, errors: [{ line: n + 1, column, text: raw, message }] };
    }
    noteOrigins(cfg, n + 1);
    if (r.inactive) cfg.inactive.push({ line: n + 1, text: body.trim(), reason: r.inactive });
    // A config file never leaves configuration mode: `exit`/`end` at the top just return to global
    // config (IOS transcripts paste several `exit`/`end` between sections).
    mode = r.mode.id === 'priv' || r.mode.id === 'exec' ? { id: 'config' } : r.mode;
  }
  if (mode.id === 'config-pubkey') {
    return { ok: false, errors: [{ line: lines.length, column: 1, text: lines[lines.length - 1] ?? '', message: '% certificate data not ended with quit' }] };
  }
  return { ok: true, config: cfg, inactive: cfg.inactive };
}
