// Preloaded into dmvpnd by the NHRP benchmarks (node --expose-gc -r bench/lib/memprobe.cjs dist/dmvpnd.mjs):
// on SIGUSR2, collect garbage and write process.memoryUsage() + V8 heap statistics to $DMV_MEMPROBE.
const fs = require('node:fs');
const v8 = require('node:v8');
const out = process.env.DMV_MEMPROBE;
if (out) {
  process.on('SIGUSR2', () => {
    if (global.gc) { global.gc(); global.gc(); }
    const h = v8.getHeapStatistics();
    fs.writeFileSync(out + '.tmp', JSON.stringify({ ...process.memoryUsage(), usedHeap: h.used_heap_size, totalHeap: h.total_heap_size, t: Date.now() }));
    fs.renameSync(out + '.tmp', out);
  });
}
