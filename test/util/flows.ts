// Paced UDP flows through a lab, with per-flow order and loss checked at the receiver: the sender
// (python3 in one namespace) sends `perFlow` numbered datagrams on each of `flows` flows, round robin,
// flow f from source port BASE_PORT + f to address dst(f); the receiver (python3 in another namespace)
// counts per flow what arrived and how often a number was not above the last one (reordering or a
// duplicate). No timing is asserted: the receiver stops at the senders' end markers or its deadline.
// Both run detached (a shell in the namespace puts them in the background) and leave their result in
// a file, which the test polls.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor, nsExec } from './lab.js';

export const BASE_PORT = 40000;
export const DST_PORT = 9000;
const END = 0xffffffff;
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const RECEIVER = `
import socket, struct, json, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(('0.0.0.0', ${DST_PORT}))
s.settimeout(0.5)
flows, deadline = int(sys.argv[1]), time.time() + float(sys.argv[2])
count, last, disorder, ended = {}, {}, {}, set()
print('ready', flush=True)
while time.time() < deadline and len(ended) < flows:
    try:
        d, _ = s.recvfrom(4096)
    except socket.timeout:
        continue
    if len(d) < 8:
        continue
    f, q = struct.unpack('!II', d[:8])
    if q == ${END}:
        ended.add(f)
        continue
    count[f] = count.get(f, 0) + 1
    if q <= last.get(f, -1):
        disorder[f] = disorder.get(f, 0) + 1
    last[f] = max(q, last.get(f, -1))
print(json.dumps({'count': count, 'disorder': disorder, 'ended': sorted(ended)}), flush=True)
`;

const SENDER = `
import socket, struct, sys, time
flows, per_flow, pps, size = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
dsts = sys.argv[5].split(',')
socks = []
for f in range(flows):
    x = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    x.bind(('0.0.0.0', ${BASE_PORT} + f))
    socks.append(x)
pad = bytes(max(0, size - 8))
start, sent = time.time(), 0
for i in range(per_flow):
    for f in range(flows):
        socks[f].sendto(struct.pack('!II', f, i) + pad, (dsts[f % len(dsts)], ${DST_PORT}))
        sent += 1
    ahead = start + sent / pps - time.time()
    if ahead > 0:
        time.sleep(ahead)
for k in range(5):
    for f in range(flows):
        socks[f].sendto(struct.pack('!II', f, ${END}), (dsts[f % len(dsts)], ${DST_PORT}))
    time.sleep(0.2)
print(sent, flush=True)
`;

export interface FlowResult { count: Record<string, number>; disorder: Record<string, number>; ended: number[] }

/** Runs python `code` with `args` detached in `ns`; its stdout and stderr go to `out`. */
function detached(ns: string, code: string, args: string[], out: string): void {
  const script = path.join(path.dirname(out), `${path.basename(out)}.py`);
  fs.writeFileSync(script, code);
  const q = (x: string) => `'${x.replace(/'/g, "'\\''")}'`;
  nsExec(ns, ['sh', '-c', `${PYTHON} -u ${[script, ...args].map(q).join(' ')} > ${q(out)} 2>&1 < /dev/null &`]);
}

/** A fresh directory for the scripts and their output. */
export const flowDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'flows-'));

/**
 * Starts the receiver in `ns`; resolves once its socket is bound (its "ready" line), with `result`, a
 * promise of what it received (read from its output file once it has written it). Wrapped in an object:
 * an async function resolving to a bare promise would resolve only when that one does.
 */
export async function startReceiver(ns: string, flows: number, deadlineS: number, dir = flowDir()): Promise<{ result: Promise<FlowResult> }> {
  const out = path.join(dir, `recv-${ns}`);
  detached(ns, RECEIVER, [String(flows), String(deadlineS)], out);
  const bound = await waitFor(() => fs.existsSync(out) && fs.readFileSync(out, 'utf8').startsWith('ready\n'), 30000, 100);
  if (!bound) throw new Error(`receiver in ${ns} did not bind port ${DST_PORT}: ${fs.readFileSync(out, 'utf8')}`);
  const result = (async () => {
    const line = () => fs.readFileSync(out, 'utf8').split('\n').find((l) => l.startsWith('{'));
    const done = await waitFor(line, (deadlineS + 30) * 1000, 250);
    if (!done) throw new Error(`receiver gave no result: ${fs.readFileSync(out, 'utf8')}`);
    return JSON.parse(done) as FlowResult;
  })();
  return { result };
}

/** Sends the flows from `ns`; resolves to the datagrams sent. `dsts`: destination of flow f is dsts[f % length]. */
export async function sendFlows(ns: string, o: { flows: number; perFlow: number; pps: number; size: number; dsts: string[] }, dir = flowDir()): Promise<number> {
  const out = path.join(dir, `send-${ns}`);
  detached(ns, SENDER, [String(o.flows), String(o.perFlow), String(o.pps), String(o.size), o.dsts.join(',')], out);
  const expectS = (o.flows * o.perFlow) / o.pps;
  const sent = await waitFor(() => /^\d+$/m.exec(fs.readFileSync(out, 'utf8'))?.[0], (expectS * 3 + 60) * 1000, 250);
  if (!sent) throw new Error(`sender did not finish: ${fs.readFileSync(out, 'utf8')}`);
  return Number(sent);
}
