// dmvpnctl [--control SOCK] <exec command...>: runs one exec-mode command on a running appliance.
import { callControl, DEFAULT_CONTROL } from '../supervisor/control.js';
import { runProbe } from '../console/ping.js';

const argv = process.argv.slice(2);
let sock = process.env.DMVPN_CONTROL ?? DEFAULT_CONTROL;
if (argv[0] === '--control') { sock = argv[1]; argv.splice(0, 2); }
if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help') {
  process.stderr.write('usage: dmvpnctl [--control SOCK] <exec command...>   e.g. dmvpnctl show dmvpn\n');
  process.exit(argv.length === 0 ? 2 : 0);
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
  const r = await callControl(sock, argv.join(' '));
  process.stdout.write(r.output.endsWith('\n') || r.output === '' ? r.output : r.output + '\n');
  process.exit(r.ok && !r.output.startsWith('%') ? 0 : 1);
} catch (e) {
  process.stderr.write(`dmvpnctl: ${(e as Error).message}\n`);
  process.exit(1);
}
