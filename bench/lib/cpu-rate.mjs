// Throughput of a synchronous function in MB/s per CPU-second, shared by the cipher benchmarks.
// Time is this process's CPU time (process.cpuUsage), so other load on the host skews less.

/**
 * Runs fn (which processes `bytes` payload bytes per call) for a warm-up (lets V8 tier the wasm up
 * to TurboFan), then `runs` times for `cpuSeconds / runs` CPU seconds each; returns the MB/s
 * (1e6 bytes per CPU-second) of every run.
 */
export function cpuRates(fn, bytes, cpuSeconds, runs) {
  const w0 = Date.now();
  while (Date.now() - w0 < 60) for (let i = 0; i < 50; i++) fn();
  const out = [];
  for (let r = 0; r < runs; r++) {
    let n = 0, el = 0;
    const c0 = process.cpuUsage();
    do {
      for (let i = 0; i < 50; i++) fn();
      n += 50;
      const c = process.cpuUsage(c0);
      el = (c.user + c.system) / 1e6;
    } while (el < cpuSeconds / runs);
    out.push((n * bytes) / el / 1e6);
  }
  return out;
}

export const best = (xs) => Math.max(...xs);
export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
