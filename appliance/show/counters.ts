// `show dataplane counters` formatter: the non-zero data-plane counters, one per line, names padded to
// one column; `json` is every counter.

export function formatDataplaneCounters(c: Record<string, number>, json: boolean): string {
  if (json) return JSON.stringify(c) + '\n';
  const rows = Object.entries(c).filter(([, v]) => v !== 0);
  const w = Math.max(8, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}
