// dmvpnd --config FILE [--control SOCK] [--pcap FILE]: one DMVPN appliance in this network namespace.
import { Appliance, ConfigError } from '../supervisor/appliance.js';
import { serveControl, DEFAULT_CONTROL } from '../supervisor/control.js';
import { SystemError } from '../supervisor/system.js';

function parseArgs(argv: string[]) {
  const o: { config?: string; control: string; pcap?: string } = { control: DEFAULT_CONTROL };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (a === '--config' && v) { o.config = v; i++; }
    else if (a === '--control' && v) { o.control = v; i++; }
    else if (a === '--pcap' && v) { o.pcap = v; i++; }
    else if (a === '-h' || a === '--help') { usage(0); }
    else { process.stderr.write(`dmvpnd: unknown or incomplete option '${a}'\n`); usage(2); }
  }
  if (!o.config) { process.stderr.write('dmvpnd: --config FILE is required\n'); usage(2); }
  return o as { config: string; control: string; pcap?: string };
}

function usage(code: number): never {
  process.stderr.write('usage: dmvpnd --config FILE [--control SOCK] [--pcap FILE]\n');
  process.exit(code);
}

const opts = parseArgs(process.argv.slice(2));
const app = new Appliance({ configPath: opts.config, pcapPath: opts.pcap });
try {
  await app.start();
} catch (e) {
  const known = e instanceof ConfigError || e instanceof SystemError || (e as { code?: string }).code !== undefined;
  process.stderr.write(`dmvpnd: ${known ? '' : 'internal error: '}${(e as Error).message}\n`);
  await app.stop().catch(() => undefined);
  process.exit(1);
}
const server = serveControl(opts.control, (cmd) => app.exec.run(cmd));
let stopping = false;
const shutdown = async (sig: string) => {
  if (stopping) return;
  stopping = true;
  app.log.emit('SYS', 'notice', 'SHUTDOWN', `${sig}: stopping`);
  server.close();
  await app.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
// A bug in one handler must not take the appliance down with its tunnels: log and go on.
process.on('uncaughtException', (e) => app.log.emit('SYS', 'error', 'BUG', `uncaught: ${e.stack ?? e.message}`));
