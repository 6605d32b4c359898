// Exec commands of the hub's firmware push (appliance/firmware/push-service.ts, docs/firmware.md):
// `firmware push <spoke-tunnel-address|all> [wave N]`, `firmware push cancel`, `firmware fetch <url>`
// (a bundle into the serve directory) (privileged exec) and
// `show firmware push [json]`: the push, the server's counters, and one row per spoke.
import type { Args } from '../cli/tree.js';
import type { PushService } from '../firmware/push-service.js';
import { iosTime } from '../show/time.js';

type Handler = (a: Args) => string;

export function firmwarePushCommands(s: PushService): Record<string, Handler> {
  return {
    'firmware push all': () => s.startPush('all', 1),
    'firmware push all wave {n:range:1-10000}': (a) => s.startPush('all', Number(a.p.n)),
    'firmware push {target:ipv4}': (a) => s.startPush(a.p.target, 1),
    'firmware push {target:ipv4} wave {n:range:1-10000}': (a) => s.startPush(a.p.target, Number(a.p.n)),
    'firmware push cancel': () => s.push.cancel(),
    'firmware fetch {url:word}': (a) => s.fetch(a.p.url),
    'show firmware push': () => formatFirmwarePush(s.view()),
    'show firmware push json': () => JSON.stringify(s.view(), null, 1) + '\n',
  };
}

/** how long ago, as IOS's show commands print it (show/time.ts) */
const ago = (ms: number) => iosTime(Math.round(ms / 1000));

function progress(r: { bytes?: number; total?: number }): string {
  if (r.bytes === undefined) return '-';
  return r.total ? `${Math.floor((r.bytes / r.total) * 100)}% of ${(r.total / 1e6).toFixed(1)}MB` : `${r.bytes} bytes`;
}

/** `show firmware push` */
export function formatFirmwarePush(v: ReturnType<PushService['view']>, now = Date.now()): string {
  const c = v.counters;
  const lines = [v.push
    ? `Firmware push: ${v.push.state}, wave ${v.push.wave} of ${v.push.waves}, started ${ago(now - v.push.startedAt)} ago${v.push.resumedAt ? ` (taken up after a restart ${ago(now - v.push.resumedAt)} ago)` : ''}${v.push.message ? `: ${v.push.message}` : ''}`
    : 'Firmware push: none since start'];
  lines.push(v.serving ? `Serving on ${v.serving}: ${c.requests} requests, ${c.statusPosts} reports, ${c.bundleFull} full and ${c.bundleRanged} ranged downloads${v.rangeStarts.length ? ` (from byte ${v.rangeStarts.join(', ')})` : ''}, ${c.bytesServed} bytes; refused: ${c.notPeer} not a peer, ${c.badRequest} bad, ${c.notFound} not found`
    : `Not serving: ${v.notServing}`);
  if (v.fetching || v.lastFetch) lines.push(v.fetching ? `Fetching ${v.fetching}` : `Last fetch: ${v.lastFetch}`);
  lines.push(`Bundles: ${v.bundles.length ? v.bundles.map((b) => `${b.name} (${b.version}, ${b.arch})`).join(', ') : 'none verified'}`);
  lines.push('', 'Spoke            Wave  Version     State        Progress          Detail');
  const shown = new Set<string>();
  for (const r of v.rows) {
    shown.add(r.address);
    lines.push(`${r.address.padEnd(17)}${String(r.wave).padEnd(6)}${(r.version ?? '-').padEnd(12)}${r.state.padEnd(13)}${progress(r).padEnd(18)}${r.detail}`);
  }
  // peers that report but are not in the push: what they run
  for (const p of v.reports) {
    if (shown.has(p.address)) continue;
    lines.push(`${p.address.padEnd(17)}${'-'.padEnd(6)}${p.report.running.padEnd(12)}${p.report.phase.padEnd(13)}${progress(p.report).padEnd(18)}reported ${ago(now - p.at)} ago`);
  }
  return lines.join('\n') + '\n';
}
