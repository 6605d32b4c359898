// The control socket while a factory box enrolls (docs/enrollment.md "At the console while the box
// enrolls"). There is no config to start the appliance from yet, so the supervisor's exec commands
// (exec.ts, over the running appliance) do not exist; without this handler the console waited minutes
// for a supervisor and then answered every line "% ... not answering", and the operator at the box could
// neither see why it was not admitted nor take it over. Here: `show dmvpn enrollment [json]` (what the
// enrollment does, what the hub said), `show logging`, `show version`, and two actions, `dmvpn
// enrollment retry` (now, not after the backoff) and `dmvpn enrollment stop` (the box then starts its
// factory default). Any other command is answered with why it is not available yet; configuration
// needs `dmvpn enrollment stop` first. Privilege is the caller's, as for the running supervisor: the
// console lets user exec reach `show` only, dmvpnctl is root.
import { root, define, type Node, type Action } from '../cli/tree.js';
import { tokenize, matchCommand, formatError } from '../cli/match.js';
import { help, complete } from '../cli/complete.js';
import type { ControlHandler, ControlSession } from './control.js';
import type { EnrollProgress } from '../enroll/enroll-progress.js';
import { formatEnrollProgress } from '../show/enroll-progress.js';

export interface EnrollingBox {
  progress: EnrollProgress;
  /** `show logging`: the log's recent lines */
  logLines: () => string[];
  /** `show version` */
  version: () => string;
}

const WAITING = '% Not available while the box enrolls with its hub (no startup-config yet): `show dmvpn enrollment` says why it is not admitted;'
  + ' `dmvpn enrollment stop` starts the factory default instead\n';

const HELP_WORDS: Record<string, string> = {
  show: 'Show running system information', dmvpn: 'DMVPN information', enrollment: 'Zero-touch enrollment with the hub',
  json: 'Machine-readable output', logging: 'Show the contents of logging buffers', version: 'System hardware and software status',
  retry: 'Ask the hub again now', stop: 'Stop enrolling and start the factory default (configure by hand)',
};

/** The command tree of the enrolling box. */
function commands(b: EnrollingBox): Node {
  const r = root();
  const cmd = (spec: string, f: () => string) => define(r, spec, (() => f()) as Action, HELP_WORDS);
  cmd('show dmvpn enrollment', () => formatEnrollProgress(b.progress.view(), false));
  cmd('show dmvpn enrollment json', () => formatEnrollProgress(b.progress.view(), true));
  cmd('show logging', () => b.logLines().join('\n') + '\n');
  cmd('show version', () => b.version());
  cmd('dmvpn enrollment retry', () => b.progress.retryNow());
  cmd('dmvpn enrollment stop', () => b.progress.stop());
  return r;
}

/** One line: `?` help, a command of the tree, or why the rest is not available. */
function runLine(tree: Node, line: string): string {
  if (line.endsWith('?')) return help(tree, line.slice(0, -1));
  const toks = tokenize(line);
  if (!toks.length) return '';
  const m = matchCommand(tree, line, toks);
  if (m.ok) return (m.action(undefined, m.args) as string | undefined) ?? '';
  // a typo in `dmvpn enrollment ...` gets IOS's caret; anything else is a command of the running
  // appliance (show ip nhrp, configure terminal, ...) that is not there yet
  return 'dmvpn'.startsWith(toks[0].text.toLowerCase()) && toks[0].text.length >= 2 ? formatError(m) : WAITING;
}

export function enrollingControl(b: EnrollingBox, hostname: () => string): ControlHandler {
  const tree = commands(b);
  return {
    run: (command) => runLine(tree, command),
    // a lasting session (configure terminal, dmvpnctl -): exec lines only; the prompt never shows a
    // configuration mode, so the console leaves its configuration mode at once with the answer
    openSession: (privileged): ControlSession => {
      let closed = false;
      return {
        feed: async (line) => {
          if (/^\s*(exit|logout|quit)\s*$/i.test(line)) { closed = true; return ''; }
          // user exec reaches `show` only (the actions change what the box does)
          if (!privileged && /^\s*dm/i.test(line)) return '% This command needs privileged exec (enable)\n';
          return runLine(tree, line);
        },
        complete: (line) => complete(tree, line),
        get prompt() { return `${hostname()}${privileged ? '#' : '>'}`; },
        get closed() { return closed; },
      };
    },
  };
}
