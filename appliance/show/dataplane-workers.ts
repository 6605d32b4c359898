// `show dataplane workers`: one line per data-plane worker with its own packet counts (each worker
// counts into its own array; `show dataplane counters` gives the sums), so one sees every core forward.

export interface WorkerRow { worker: number; restarts: number; counters: Record<string, number> }

const COLUMNS: Array<[string, string]> = [
  ['tunRxPackets', 'TunRx'], ['greTxPackets', 'GreTx'], ['espTxPackets', 'EspTx'],
  ['greRxPackets', 'GreRx'], ['espRxPackets', 'EspRx'], ['tunTxPackets', 'TunTx'],
];

export function formatDataplaneWorkers(rows: WorkerRow[], json: boolean): string {
  if (json) return JSON.stringify(rows) + '\n';
  if (!rows.length) return '% No data plane is running\n';
  const head = ['Worker', ...COLUMNS.map(([, h]) => h), 'Restarts'];
  const table = rows.map((r) => [String(r.worker), ...COLUMNS.map(([k]) => String(r.counters[k] ?? 0)), String(r.restarts)]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...table.map(line)].join('\n') + '\n';
}
