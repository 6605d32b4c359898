// SaCommands.whenApplied: resolves only once the data plane has applied every SA command handed to it
// (the worker frees a ctlTx slot after applying it), not when it was published. IKEv1 waits for this
// before its quick mode message 3 or CONNECTED tells the peer to send on the new pair: telling it at
// publish time cost the peer's first packet an unknown-SPI drop when the worker was preempted between
// its ctlTx and espRx drains (ike-v1.ts). A real worker instance on shared memory, polled by hand.
import t from 'tap';
import { computeLayout, writeLayout, pagesFor } from '../appliance/dataplane/layout.js';
import { Ring } from '../appliance/dataplane/ring.js';
import { compileDataplane, instantiateDataplane } from '../appliance/dataplane/wasm.js';
import { SaCommands, ESP_ENC } from '../appliance/dataplane/sa.js';
import { ipToU32 as ip } from '../appliance/net/ipv4.js';

t.test('whenApplied: pending until the worker takes the SA_ADD, then true; a stalled worker ends it false', async (t) => {
  const l = computeLayout({ tunSlots: 16, nbmaSlots: 16, ctlSlots: 64, peerCapacity: 16, fibCapacity: 16, saCapacity: 16, tunSlotSize: 4096, workers: 1 });
  const memory = new WebAssembly.Memory({ initial: Math.max(512, pagesFor(l)), maximum: 4096, shared: true });
  writeLayout(memory.buffer, l);
  const w0 = instantiateDataplane(memory, () => {}, compileDataplane(), l.base, 0);
  const sa = new SaCommands(new Ring(memory.buffer, l.ctlTx));
  t.equal(await sa.whenApplied(), true, 'nothing handed over: applied at once');
  t.ok(sa.saAdd({ index: 1, dir: 'in', spi: 0x1001, peer: ip('203.0.113.2'), enc: ESP_ENC.AES_GCM_128, key: new Uint8Array(20).fill(7) }), 'SA_ADD published');
  let settled: boolean | undefined;
  const p = sa.whenApplied(5000).then((v) => { settled = v; return v; });
  await new Promise((r) => setTimeout(r, 30));
  t.equal(settled, undefined, 'published but not applied: still pending');
  w0.poll(64, 0);
  t.equal(await p, true, 'applied by the worker: true');
  t.ok(sa.saAdd({ index: 2, dir: 'in', spi: 0x1002, peer: ip('203.0.113.2'), enc: ESP_ENC.AES_GCM_128, key: new Uint8Array(20).fill(8) }));
  t.equal(await sa.whenApplied(50), false, 'a worker that never polls: false after maxMs');
});
