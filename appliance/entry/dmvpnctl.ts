// dmvpnctl [--control SOCK] <exec command...>: runs one exec-mode command on a running appliance.
import { callControl, DEFAULT_CONTROL } from '../supervisor/control.js';

const argv = process.argv.slice(2);
let sock = process.env.DMVPN_CONTROL ?? DEFAULT_CONTROL;
if (argv[0] === '--control') { sock = argv[1]; argv.splice(0, 2); }
if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help') {
  process.stderr.write('usage: dmvpnctl [--control SOCK] <exec command...>   e.g. dmvpnctl show dmvpn\n');
  process.exit(argv.length === 0 ? 2 : 0);
}
try {
  const r = await callControl(sock, argv.join(' '));
  process.stdout.write(r.output.endsWith('\n') || r.output === '' ? r.output : r.output + '\n');
  process.exit(r.ok && !r.output.startsWith('%') ? 0 : 1);
} catch (e) {
  process.stderr.write(`dmvpnctl: ${(e as Error).message}\n`);
  process.exit(1);
}
