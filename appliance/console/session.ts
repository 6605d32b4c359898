// One interactive CLI session (serial console, ctl socket): feed it a line, get IOS-style output.
// Config-mode commands edit a copy of the running config; the copy is handed to the supervisor's
// applyConfig() as a whole, so each accepted command is applied atomically or not at all.
// Exec commands (`show dmvpn`, `clear ip nhrp`, ...) are registered by the supervisor as spec
// strings in the tree DSL (tree.ts define()), e.g. 'show ip nhrp {addr:ipv4}' or 'show dmvpn detail'.
import type { ApplianceConfig } from '../config/model.js';
import { Node, Args, root, define, type Action } from '../cli/tree.js';
import { tokenize, matchCommand, formatError } from '../cli/match.js';
import { help as helpText, complete as completeLine } from '../cli/complete.js';
import { ModeState, prompt, isConfigMode, runConfigLine } from '../config/modes.js';
import { configTrees } from '../config/grammar.js';
import { renderConfig } from '../config/render.js';

export interface ApplyResult { ok: boolean; message?: string }

export interface CliHost {
  hostname(): string;
  getConfig(): ApplianceConfig;
  /** Apply a whole candidate config (atomically); a refusal leaves the running config as it was. */
  applyConfig(next: ApplianceConfig): ApplyResult | Promise<ApplyResult>;
  /** exec commands by spec; `show ...` ones are also available before `enable`. A command that waits
   *  for another process (FRR's vtysh, a key generation) returns a promise: only feedAsync() runs it. */
  exec: Record<string, (a: Args) => string | Promise<string>>;
  /** Commands IOS types in global configuration mode that are no config line (`crypto key generate`,
   *  `crypto pki authenticate|import`): run in global config and in privileged exec. */
  configExec?: Record<string, (a: Args) => string | Promise<string> | PasteRequest>;
}

/** A command that reads pasted text (a PEM block) until a blank line or `quit`, then acts on it. */
export interface PasteRequest { intro: string; finish(text: string): string | Promise<string> }

type ExecAction = (s: CliSession, a: Args) => string | Promise<string>;

const ASYNC_COMMAND = 'this command runs asynchronously: use feedAsync()';

/** The exec trees hold ExecActions where the config grammar's trees hold config Actions; runExec()
 *  casts them back. */
const defineExec = (n: Node, spec: string, f: ExecAction) => define(n, spec, f as unknown as Action);

/** a pasted PEM certificate is 10-40 lines; more is a mistake (or a flood), not a certificate */
const MAX_PASTE_LINES = 400;

export class CliSession {
  mode: ModeState;
  /** set by `exit`/`logout` from exec mode: the console should end the session. */
  closed = false;
  private user: Node;
  private priv: Node;
  private configExec: Node;
  /** lines of a paste being read (PasteRequest), until a blank line or quit */
  private paste?: { lines: string[]; finish: PasteRequest['finish'] };

  constructor(private host: CliHost, opts: { privileged?: boolean } = {}) {
    this.mode = { id: opts.privileged ? 'priv' : 'exec' };
    this.user = root();
    this.priv = root();
    this.configExec = root();
    const both = (spec: string, f: ExecAction) => { defineExec(this.user, spec, f); defineExec(this.priv, spec, f); };
    both('exit', s => { s.closed = true; return ''; });
    both('logout', s => { s.closed = true; return ''; });
    define(this.user, 'enable', s => { s.mode = { id: 'priv' }; return ''; });
    define(this.priv, 'enable', () => '');
    define(this.priv, 'disable', s => { s.mode = { id: 'exec' }; return ''; });
    define(this.priv, 'configure terminal', s => {
      s.mode = { id: 'config' };
      return 'Enter configuration commands, one per line.  End with CNTL/Z.\n';
    });
    define(this.priv, 'show running-config', s => {
      const text = renderConfig(s.host.getConfig());
      return `Building configuration...\n\nCurrent configuration : ${text.length} bytes\n${text}`;
    });
    for (const [spec, f] of Object.entries(host.exec)) {
      const act: ExecAction = (_s, a) => f(a);
      if (/^show\b/i.test(spec)) both(spec, act); else defineExec(this.priv, spec, act);
    }
    for (const [spec, f] of Object.entries(host.configExec ?? {})) {
      const act: ExecAction = (s, a) => {
        const r = f(a);
        if (typeof r === 'string' || r instanceof Promise) return r;
        s.paste = { lines: [], finish: r.finish };
        return r.intro;
      };
      defineExec(this.priv, spec, act);
      defineExec(this.configExec, spec, act);
    }
  }

  /** reading a pasted block (crypto pki authenticate|import) until a blank line or quit */
  get pasting(): boolean { return this.paste !== undefined; }

  get prompt(): string { return this.paste ? '' : prompt(this.host.hostname(), this.mode); }

  private tree(): Node {
    if (this.mode.id === 'exec') return this.user;
    if (this.mode.id === 'priv') return this.priv;
    return configTrees()[this.mode.id]!;
  }

  /** Run one line; returns what the console prints before the next prompt. For a host whose
   *  applyConfig() is synchronous (tests, one-shot control requests); live sessions use feedAsync. */
  feed(line: string): string {
    const p = this.pasteLine(line);
    if (p instanceof Promise) throw new Error('this paste finishes asynchronously: use feedAsync()');
    if (p !== undefined) return p;
    const r = this.step(line);
    if (r instanceof Promise) { r.catch(() => undefined); throw new Error(ASYNC_COMMAND); }
    if (typeof r === 'string') return r;
    const res = this.host.applyConfig(r.candidate);
    if (res instanceof Promise) throw new Error('this host applies configuration asynchronously: use feedAsync()');
    return r.finish(res);
  }

  /** As feed(), for a host that applies configuration asynchronously (the running supervisor). */
  async feedAsync(line: string): Promise<string> {
    const p = this.pasteLine(line);
    if (p !== undefined) return p;
    const r = this.step(line);
    if (typeof r === 'string' || r instanceof Promise) return r;
    return r.finish(await this.host.applyConfig(r.candidate));
  }

  /** While a paste is read: collects `line`, or finishes the paste at a blank line or `quit`. */
  private pasteLine(line: string): string | Promise<string> | undefined {
    const p = this.paste;
    if (!p) return undefined;
    const t = line.trim();
    if (t !== '' && t.toLowerCase() !== 'quit') {
      if (p.lines.length < MAX_PASTE_LINES) { p.lines.push(t); return ''; }
      this.paste = undefined;
      return `% Pasted block longer than ${MAX_PASTE_LINES} lines: ignored\n`;
    }
    this.paste = undefined;
    return p.finish(p.lines.join('\n') + '\n');
  }

  /** Everything of a line up to applying it: the output, or the candidate config to apply and how to finish. */
  private step(line: string): string | Promise<string> | { candidate: ApplianceConfig; finish: (res: ApplyResult) => string } {
    if (line.endsWith('?')) return this.help(line.slice(0, -1));
    const promptLen = this.prompt.length;
    if (!isConfigMode(this.mode.id)) return this.runExec(this.tree(), line, promptLen);
    const toks = tokenize(line);
    if (toks.length && toks[0].text.toLowerCase() === 'do') {
      // `do <exec command>` from config mode; the caret is shifted past "do ".
      return this.runExec(this.priv, line.slice(toks[1]?.col ?? line.length), promptLen + (toks[1]?.col ?? line.length));
    }
    if (this.mode.id === 'config') {
      const m = matchCommand(this.configExec, line, toks);
      if (m.ok) return this.runExec(this.configExec, line, promptLen);
    }
    const before = this.host.getConfig();
    const cand = structuredClone(before);
    const r = runConfigLine(configTrees(), this.mode, cand, line);
    if (!r.ok) {
      return r.error.kind === 'action' ? `% ${r.error.message}\n` : formatError(r.error, promptLen);
    }
    const done = (): string => { this.mode = r.mode; return r.inactive ? `% Note: ${r.inactive}\n` : ''; };
    if (JSON.stringify(cand) === JSON.stringify(before)) return done();
    cand.inactive = before.inactive; // load-time report; interactive notes are printed instead
    return { candidate: cand, finish: (res) => (res.ok ? done() : `% ${res.message ?? 'configuration rejected'}\n`) };
  }

  private runExec(tree: Node, line: string, promptLen: number): string | Promise<string> {
    const toks = tokenize(line);
    if (!toks.length) return '';
    const m = matchCommand(tree, line, toks);
    if (!m.ok) return formatError(m, promptLen);
    return (m.action as ExecAction)(this, m.args);
  }

  /** `?` help for a partial line (without the '?'). */
  help(line: string): string {
    const out = helpText(this.tree(), line, this.prompt.length);
    // Sub-modes also accept global commands (IOS), so fall back to global config for help too.
    if (isConfigMode(this.mode.id) && this.mode.id !== 'config' && /^\s*\^|^% Unrecognized/.test(out)) {
      return helpText(configTrees().config!, line, this.prompt.length);
    }
    return out;
  }

  /** Tab completion: the new contents of the input line. */
  complete(line: string): string { return completeLine(this.tree(), line); }
}
