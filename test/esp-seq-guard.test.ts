// SeqGuard / SeqStore (appliance/supervisor/seq-guard.ts, seq-store.ts): the supervisor side of
// persisted sequence numbers. A reservation is on disk before the data plane's limit is raised; a
// restart continues after the last reservation; a failed write holds the limit; new keys start at 0;
// inbound edges are restored; a corrupt file is an error, not a guess.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SeqGuard } from '../appliance/supervisor/seq-guard.js';
import { SeqStore } from '../appliance/supervisor/seq-store.js';
import type { PlannedSa } from '../appliance/supervisor/ipsec-plan.js';
import type { SaCommands, SaRow } from '../appliance/dataplane/sa.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'seqguard-'));
function fakeCmds(onLimit?: (i: number, l: bigint) => void) {
  const limits: Array<[number, bigint, bigint]> = [];
  return { limits, cmds: { saLimit: (i: number, l: bigint, w: bigint) => { onLimit?.(i, l); limits.push([i, l, w]); return true; } } as unknown as SaCommands };
}
const sa = (dir: string, direction: 'in' | 'out', key = 1, block = 100): PlannedSa & { index: number } => ({
  index: direction === 'out' ? 0 : 1, name: 'TO-HUB', direction, spi: direction === 'out' ? 0x1001 : 0x2002, peer: '192.0.2.1',
  transform: { cipher: 'aes-gcm-256', integrity: 'none', icvLen: 16, mode: 'transport' },
  key: new Uint8Array(36).fill(key), authKey: new Uint8Array(0), udpEncap: false, persistence: { dir, block },
});
const logs: string[] = [];
const log = (_l: string, m: string) => { logs.push(m); };

t.test('reservations: on disk before the limit rises; a restart continues after the last one', async (t) => {
  const dir = tmp();
  const file = path.join(dir, 'TO-HUB.seq');
  const { cmds, limits } = fakeCmds((_i, l) => {
    t.equal(BigInt(JSON.parse(fs.readFileSync(file, 'utf8')).out.reserved), l, `limit ${l} is on disk before SA_LIMIT`);
  });
  const g = new SeqGuard(cmds, log);
  t.same(g.prepare(sa(dir, 'out')), { initialSeq: 0n, seqLimited: true }, 'first start: from 0, limited');
  g.openAll();
  g.reserve(0); g.reserve(0);
  t.same(limits, [[0, 100n, 50n], [0, 200n, 150n], [0, 300n, 250n]]);
  // restart: whatever was sent, the next SA starts after 300
  const g2 = new SeqGuard(fakeCmds().cmds, log);
  t.same(g2.prepare(sa(dir, 'out')), { initialSeq: 300n, seqLimited: true });
  // new keys: a new nonce space, from 0
  const g3 = new SeqGuard(fakeCmds().cmds, log);
  t.same(g3.prepare(sa(dir, 'out', 2)), { initialSeq: 0n, seqLimited: true });
  t.notOk(fs.existsSync(`${file}.tmp`), 'no temp file left behind');
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'file is root-only');
});

t.test('a failed write holds the limit (the SA stops rather than risk reuse)', async (t) => {
  const dir = tmp();
  const { cmds, limits } = fakeCmds();
  const g = new SeqGuard(cmds, log);
  g.prepare(sa(dir, 'out'));
  g.openAll();
  const f = path.join(dir, 'TO-HUB.seq');
  fs.rmSync(f); fs.mkdirSync(`${f}.tmp`); // the temp path cannot be opened as a file (also as root)
  t.notOk(g.reserve(0), 'reserve refused');
  t.equal(limits.length, 1, 'no SA_LIMIT after the failed write');
  t.match(logs.at(-1), /cannot persist sequence reservation .* held at 100/);
});

t.test('inbound edge: saved when it moves, restored as the initial sequence', async (t) => {
  const dir = tmp();
  const g = new SeqGuard(fakeCmds().cmds, log);
  t.same(g.prepare(sa(dir, 'in')), {}, 'nothing saved yet: empty window');
  g.saveEdges([{ index: 1, dir: 'in', seq: 1234n } as SaRow]);
  const g2 = new SeqGuard(fakeCmds().cmds, log);
  t.same(g2.prepare(sa(dir, 'in')), { initialSeq: 1234n });
  fs.writeFileSync(path.join(dir, 'TO-HUB.seq'), '{ torn');
  t.throws(() => new SeqGuard(fakeCmds().cmds, log).prepare(sa(dir, 'in')), /not a sequence file/);
  t.same(new SeqStore(tmp(), 'X').load(), {}, 'no file: nothing');
});
