// dmvpnctl [--control SOCK] <exec command...>: runs one exec-mode command on a running appliance.
// dmvpnctl [--control SOCK] -: runs the lines of stdin in one privileged CLI session, so
// `configure terminal` and configuration lines work (applied live, each line on its own); prints the
// transcript (prompt, line, output). Exit status 1 if any line was refused ("% ..." other than a note).
import readline from 'node:readline';
import { callControl, ControlClient, DEFAULT_CONTROL } from '../supervisor/control.js';
import { runProbe } from '../console/ping.js';

const argv = process.argv.slice(2);
let sock = process.env.DMVPN_CONTROL ?? DEFAULT_CONTROL;
if (argv[0] === '--control') { sock = argv[1]; argv.splice(0, 2); }
if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help') {
  process.stderr.write('usage: dmvpnctl [--control SOCK] <exec command...>   e.g. dmvpnctl show dmvpn\n' +
    '       dmvpnctl [--control SOCK] -                    lines from stdin in one session, e.g. configure terminal\n');
  process.exit(argv.length === 0 ? 2 : 0);
}

/** A refusal, not a note: "% Invalid input", "% Incomplete command", "% <reason>". */
const refused = (output: string) => /^%(?! Note:)/m.test(output);

async function session(): Promise<number> {
  const client = new ControlClient(sock, true);
  let failed = false;
  let prompt = (await client.send('')).prompt ?? '';
  for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    const r = await client.send(line);
    process.stdout.write(`${prompt}${line}\n${r.output}`);
    prompt = r.prompt ?? prompt;
    if (!r.ok || refused(r.output)) failed = true;
    if (r.closed) break;
  }
  client.close();
  return failed ? 1 : 0;
}

// ping and traceroute run here, in the caller's network namespace, with their output streamed
if (/^(pi|trac)/i.test(argv[0])) {
  const line = argv.join(' ');
  const r = await runProbe(line, { write: (t) => process.stdout.write(t), aborted: () => false },
    async (c) => (await callControl(sock, c)).output);
  if (typeof r === 'number') process.stderr.write(`${line}\n${' '.repeat(r)}^\n% Invalid input detected at '^' marker.\n`);
  else process.stdout.write(r);
  process.exit(r === '' ? 0 : 1);
}
try {
  if (argv.length === 1 && argv[0] === '-') process.exit(await session());
  const r = await callControl(sock, argv.join(' '));
  process.stdout.write(r.output.endsWith('\n') || r.output === '' ? r.output : r.output + '\n');
  process.exit(r.ok && !r.output.startsWith('%') ? 0 : 1);
} catch (e) {
  process.stderr.write(`dmvpnctl: ${(e as Error).message}\n`);
  process.exit(1);
}
