// The one message of a firmware push (docs/firmware.md), pure. The spoke POSTs its report to
// /firmware/v1/status on the hub it is registered with, over the tunnel; the hub's answer may carry
// the instruction to update. So the spoke listens on nothing and takes instructions only as answers
// to its own requests to its NHS. Both directions are input from the network: every field is checked,
// strings are bounded, anything unknown is refused.
import { isVersion, ARCHES, type Arch } from './manifest.js';

export const STATUS_PATH = '/firmware/v1/status';
export const BUNDLE_PATH = '/firmware/bundle/';
/** A bundle's name under BUNDLE_PATH: no slash, so never a path out of the serve directory */
export const BUNDLE_NAME = /^[A-Za-z0-9._-]+\.fw$/;
/** TCP port of the hub's firmware server on its tunnel address */
export const FIRMWARE_PORT = 8737;
export const MAX_REPORT = 4096;
/** the longest a hub holds a report before answering (long poll) */
export const MAX_WAIT_S = 30;

export const REPORT_PHASES = ['idle', 'downloading', 'verifying', 'writing', 'rebooting', 'trial'] as const;
export type ReportPhase = (typeof REPORT_PHASES)[number];
const RESULTS = ['committed', 'rolled back', 'refused', 'failed', 'interrupted'] as const;

export interface SpokeReport {
  v: 1;
  arch: Arch;
  /** the version this spoke runs */
  running: string;
  phase: ReportPhase;
  /** the version being installed or tried */
  version?: string;
  bytes?: number;
  total?: number;
  /** the updater's last result (state.json), with its time as the spoke's clock gave it */
  last?: { result: (typeof RESULTS)[number]; version?: string; message: string; at: string };
  /** a pushed version the spoke refused to start (not newer, rolled back here before, busy) */
  refusal?: { version: string; message: string };
  /** seconds the hub may hold the answer (0..MAX_WAIT_S) */
  wait: number;
}

export interface HubAnswer { update?: { version: string; url: string } }

export class ReportError extends Error {}

const str = (v: unknown, max: number, what: string): string => {
  if (typeof v !== 'string' || v.length > max || /[\x00-\x1f\x7f]/.test(v)) throw new ReportError(`${what} is not a string of at most ${max} printable characters`);
  return v;
};
const count = (v: unknown, what: string): number => {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new ReportError(`${what} is not a byte count`);
  return v as number;
};
const version = (v: unknown, what: string): string => {
  if (!isVersion(v)) throw new ReportError(`${what} is not a dotted version`);
  return v;
};
function only(o: Record<string, unknown>, keys: string[], what: string): void {
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length) throw new ReportError(`${what} has unknown fields: ${extra.slice(0, 4).join(', ')}`);
}
const object = (v: unknown, what: string): Record<string, unknown> => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ReportError(`${what} is not an object`);
  return v as Record<string, unknown>;
};

/** A spoke's report as the hub receives it: JSON bytes, checked field by field. */
export function parseReport(body: Buffer): SpokeReport {
  if (body.length > MAX_REPORT) throw new ReportError(`report longer than ${MAX_REPORT} bytes`);
  let j: unknown;
  try { j = JSON.parse(body.toString('utf8')); } catch { throw new ReportError('report is not JSON'); }
  const o = object(j, 'report');
  only(o, ['v', 'arch', 'running', 'phase', 'version', 'bytes', 'total', 'last', 'refusal', 'wait'], 'report');
  if (o.v !== 1) throw new ReportError(`report version ${String(o.v)} is not 1`);
  if (!ARCHES.includes(o.arch as Arch)) throw new ReportError('report arch is unknown');
  if (!REPORT_PHASES.includes(o.phase as ReportPhase)) throw new ReportError('report phase is unknown');
  const r: SpokeReport = { v: 1, arch: o.arch as Arch, running: version(o.running, 'running'), phase: o.phase as ReportPhase, wait: 0 };
  if (o.version !== undefined) r.version = version(o.version, 'version');
  if (o.bytes !== undefined) r.bytes = count(o.bytes, 'bytes');
  if (o.total !== undefined) r.total = count(o.total, 'total');
  if (o.wait !== undefined) r.wait = Math.min(count(o.wait, 'wait'), MAX_WAIT_S);
  if (o.last !== undefined) {
    const l = object(o.last, 'last');
    only(l, ['result', 'version', 'message', 'at'], 'last');
    if (!RESULTS.includes(l.result as (typeof RESULTS)[number])) throw new ReportError('last result is unknown');
    r.last = { result: l.result as (typeof RESULTS)[number], message: str(l.message, 400, 'last message'), at: str(l.at, 40, 'last at') };
    if (l.version !== undefined) r.last.version = version(l.version, 'last version');
  }
  if (o.refusal !== undefined) {
    const f = object(o.refusal, 'refusal');
    only(f, ['version', 'message'], 'refusal');
    r.refusal = { version: version(f.version, 'refusal version'), message: str(f.message, 400, 'refusal message') };
  }
  return r;
}

/** The hub's answer as the spoke receives it. The URL must be the hub's own bundle path on the
 *  address and port the spoke asked (a hub cannot send its spokes to fetch from elsewhere). */
export function parseAnswer(body: Buffer, hub: string, port: number): HubAnswer {
  if (body.length > MAX_REPORT) throw new ReportError('answer too long');
  let j: unknown;
  try { j = JSON.parse(body.toString('utf8')); } catch { throw new ReportError('answer is not JSON'); }
  const o = object(j, 'answer');
  only(o, ['update'], 'answer');
  if (o.update === undefined) return {};
  const u = object(o.update, 'update');
  only(u, ['version', 'url'], 'update');
  const url = str(u.url, 300, 'update url');
  const prefix = `http://${hub}:${port}${BUNDLE_PATH}`;
  if (!url.startsWith(prefix) || !BUNDLE_NAME.test(url.slice(prefix.length))) {
    throw new ReportError(`update url ${JSON.stringify(url.slice(0, 80))} is not a bundle on ${hub}:${port}`);
  }
  return { update: { version: version(u.version, 'update version'), url } };
}
