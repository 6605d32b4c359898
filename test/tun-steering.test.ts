// The multi-queue TUN's steering program (appliance/native/tun-steering.c, docs/dataplane.md "Every core
// forwards"), in a namespace: without it the kernel sends a flow out on the queue that wrote its reply
// (with one SA pair, the one worker that decrypts everything); with it, every outbound packet leaves on
// the queue its own flow hash names (the oracle in test/util/spread.ts), UDP by addresses and ports,
// ICMP by addresses, and the flows spread over all the queues.
import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { requireTools } from './util/needs.js';
import { tunSteerQueue } from './util/spread.js';

requireTools(t, ['ip', 'ping']);
const repo = join(import.meta.dirname, '..');
const QUEUES = 4;
const LOCAL = '10.77.0.1';
const SPORT = 40000;

t.test('outbound packets leave on the queue their flow hash names, not the one that wrote the reply', async (t) => {
  const ns = `dmvtest-steer-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  t.teardown(() => { try { execFileSync('ip', ['netns', 'del', ns]); } catch { /* gone */ } });
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const flows = Array.from({ length: 24 }, (_, i) => ({ dst: `10.88.${i % 5}.${10 + i}`, dport: 5000 + 7 * i }));
  const predicted = flows.map((f) => tunSteerQueue(LOCAL, f.dst, (SPORT << 16) | f.dport, QUEUES));
  t.equal(new Set(predicted).size, QUEUES, 'the chosen flows hash to every queue (a precondition of the spread check)');
  // a flow whose reply is written on a queue other than the one its hash names
  const cand = Array.from({ length: 16 }, (_, i) => ({ dst: `10.88.9.${i + 1}`, dport: 7000 }));
  const l = cand.find((c) => tunSteerQueue(LOCAL, c.dst, (SPORT << 16) | c.dport, QUEUES) !== 3)!;
  const learned = { ...l, queue: 3 };
  const pings = ['10.88.20.1', '10.88.20.2', '10.88.21.7', '10.88.33.9'];
  const args = { native: join(repo, 'appliance/native/build/Release/dmvpn_io.node'), tun: 'dmvs0', queues: QUEUES, sport: SPORT, flows, learned, pings };
  const r = await new Promise<any>((res, rej) => execFile('ip', ['netns', 'exec', ns, process.execPath, join(repo, 'test/native/tun-steer-child.mjs'), JSON.stringify(args)],
    { timeout: 60000 }, (err, stdout, stderr) => {
      if (err) return rej(new Error(`child failed: ${err.message}\n${stderr}`));
      try { res(JSON.parse(stdout.trim().split('\n').pop()!)); } catch { rej(new Error(`bad child output: ${stdout}\n${stderr}`)); }
    }));
  t.equal(r.learnedBefore, 3, 'without the program: the flow leaves on queue 3, where its reply was written');
  const lq = tunSteerQueue(LOCAL, learned.dst, (SPORT << 16) | learned.dport, QUEUES);
  t.equal(r.learnedAfter, lq, `with it: on queue ${lq}, its hash's, though its reply came in on 3`);
  t.same(r.flows.map((f: { queue: number }) => f.queue), predicted, `each of ${flows.length} UDP flows on the queue its addresses and ports name`);
  t.equal(new Set(r.flows.map((f: { queue: number }) => f.queue)).size, QUEUES, 'spread over all the queues');
  t.same(r.pings.map((p: { queue: number }) => p.queue), pings.map((d) => tunSteerQueue(LOCAL, d, undefined, QUEUES)), 'ICMP echo on the queue its addresses name');
  t.match(r.badFd?.message ?? '', /TUNSETSTEERINGEBPF on fd 12345/, 'a bad fd refused with the reason');
});
