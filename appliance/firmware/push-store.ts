// A firmware push as the hub keeps it across restarts of its supervisor (push.ts takes it up): the
// rows, the waves and the bundles chosen at the start, as one JSON document written atomically next
// to the serve directory. The text is checked field by field when read back (a damaged or foreign
// file is refused with the reason, never half taken up), and bounded: at most MAX_PUSH_SPOKES rows.
import { ARCHES, type Arch } from './manifest.js';
import { BUNDLE_NAME } from './report.js';
import { ipv4Bytes } from '../net/ipv4.js';

export interface PushBundle { name: string; version: string; arch: Arch }

export const ROW_STATES = ['waiting', 'told', 'downloading', 'verifying', 'writing', 'rebooting', 'trial', 'done', 'failed', 'not started'] as const;
export type RowState = (typeof ROW_STATES)[number];

export interface PushRow {
  address: string;
  wave: number;
  state: RowState;
  /** the version pushed to it */
  version?: string;
  running?: string;
  bytes?: number;
  total?: number;
  detail: string;
  /** the spoke's last-result time when it was told: a result with another time is new */
  baseline?: string;
  updatedAt: number;
}

export interface SavedPush {
  waves: string[][];
  /** the wave under way (0-based) */
  wave: number;
  bundles: PushBundle[];
  rows: PushRow[];
  state: 'running' | 'done' | 'failed';
  message: string;
  startedAt: number;
  /** when the wave under way started: its timeout runs from here, across restarts */
  waveStartedAt: number;
  /** when a supervisor last took it up after a restart */
  resumedAt?: number;
}

/** more rows than a hub has spokes: the file is not ours */
export const MAX_PUSH_SPOKES = 65536;
/** the file's size bound, checked before it is read (a row is ~250 bytes) */
export const MAX_PUSH_FILE = 32 << 20;
const FORMAT = 1;
const MAX_TEXT = 2048;

export function encodePush(p: SavedPush): string {
  const { waves, wave, bundles, rows, state, message, startedAt, waveStartedAt, resumedAt } = p;
  return JSON.stringify({ format: FORMAT, waves, wave, bundles, rows, state, message, startedAt, waveStartedAt, ...(resumedAt ? { resumedAt } : {}) }) + '\n';
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown, max = MAX_TEXT): v is string => typeof v === 'string' && v.length <= max;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isAddress = (v: unknown): v is string => typeof v === 'string' && ipv4Bytes(v) !== null;

/** The push a text holds, or why it is refused. */
export function decodePush(text: string): SavedPush | string {
  let o: unknown;
  try { o = JSON.parse(text); } catch (e) { return `not JSON: ${(e as Error).message}`; }
  if (!isObj(o)) return 'not a push';
  if (o.format !== FORMAT) return `format ${JSON.stringify(o.format)}, not ${FORMAT}`;
  const { waves, wave, bundles, rows, state, message, startedAt, waveStartedAt, resumedAt } = o;
  if (!Array.isArray(waves) || !waves.length || !waves.every((w) => Array.isArray(w) && w.length && w.every(isAddress))) return 'waves: not lists of addresses';
  const addresses = waves.flat() as string[];
  if (addresses.length > MAX_PUSH_SPOKES) return `more than ${MAX_PUSH_SPOKES} spokes`;
  if (new Set(addresses).size !== addresses.length) return 'a spoke in two waves';
  if (!isCount(wave) || wave >= waves.length) return `wave ${JSON.stringify(wave)} out of range`;
  if (state !== 'running' && state !== 'done' && state !== 'failed') return `state ${JSON.stringify(state)}`;
  if (!isText(message) || !isTime(startedAt) || !isTime(waveStartedAt) || (resumedAt !== undefined && !isTime(resumedAt))) return 'message or times';
  if (!Array.isArray(bundles) || !bundles.length || bundles.length > ARCHES.length) return 'bundles: not a list of one per arch';
  for (const b of bundles) {
    if (!isObj(b) || !isText(b.name, 255) || !BUNDLE_NAME.test(b.name) || !isText(b.version, 64) || !ARCHES.includes(b.arch as Arch)) return `bundle ${JSON.stringify(b).slice(0, 100)}`;
  }
  if (new Set(bundles.map((b) => b.arch)).size !== bundles.length) return 'two bundles for one arch';
  if (!Array.isArray(rows) || rows.length !== addresses.length) return 'rows: not one per spoke';
  const seen = new Set<string>();
  for (const r of rows) {
    const why = rowProblem(r, waves as string[][]);
    if (why) return `row ${seen.size + 1}: ${why}`;
    seen.add((r as PushRow).address);
  }
  if (seen.size !== addresses.length) return 'rows: a spoke twice';
  return {
    waves: waves as string[][], wave, bundles: bundles as PushBundle[], rows: rows as PushRow[], state, message, startedAt, waveStartedAt,
    ...(resumedAt !== undefined ? { resumedAt: resumedAt as number } : {}),
  };
}

function rowProblem(r: unknown, waves: string[][]): string | undefined {
  if (!isObj(r) || !isAddress(r.address)) return 'no address';
  if (!isCount(r.wave) || waves[r.wave - 1]?.includes(r.address) !== true) return `${r.address}: not in its wave ${JSON.stringify(r.wave)}`;
  if (!ROW_STATES.includes(r.state as RowState)) return `${r.address}: state ${JSON.stringify(r.state)}`;
  if (!isText(r.detail) || !isTime(r.updatedAt)) return `${r.address}: detail or time`;
  for (const k of ['version', 'running', 'baseline'] as const) if (r[k] !== undefined && !isText(r[k], 64)) return `${r.address}: ${k}`;
  for (const k of ['bytes', 'total'] as const) if (r[k] !== undefined && !isCount(r[k])) return `${r.address}: ${k}`;
  return undefined;
}
