// Matching a line against a command tree the way IOS does: case-insensitive unique-prefix keywords,
// typed parameters, and the three IOS failures (ambiguous / invalid input with a caret column /
// incomplete). Used by config loading, the interactive session and help/completion.
import { Node, Args, Action, validateParam } from './tree.js';
import { ifType, IF_NUMBER } from './ifname.js';

export interface Tok { text: string; col: number }

export function tokenize(line: string): Tok[] {
  const out: Tok[] = [];
  const re = /\S+/g;
  for (let m; (m = re.exec(line));) out.push({ text: m[0], col: m.index });
  return out;
}

export type MatchError =
  | { kind: 'invalid'; col: number } // column (0-based, within the line) for the '^' marker
  | { kind: 'ambiguous'; upto: string } // line text up to and including the ambiguous word
  | { kind: 'incomplete' };

export type MatchResult = { ok: true; node: Node; action: Action; args: Args } | ({ ok: false } & MatchError);

interface Cand { node: Node; consumed: number; value?: string }

/** Children of `n` that accept the token(s) at toks[i], after IOS precedence rules. */
export function candidates(n: Node, line: string, toks: Tok[], i: number): Cand[] | 'ambiguous' {
  const t = toks[i].text.toLowerCase();
  const kws = n.children.filter(c => c.word !== undefined && c.word.startsWith(t));
  const exact = kws.find(c => c.word === t);
  if (exact) return [{ node: exact, consumed: 1 }];
  // A unique keyword prefix wins over a parameter reading of the same word (IOS prefers keywords).
  if (kws.length > 1) return 'ambiguous';
  if (kws.length === 1) return [{ node: kws[0], consumed: 1 }];
  const out: Cand[] = [];
  for (const c of n.children) {
    if (!c.param) continue;
    if (c.param.kind === 'line') { out.push({ node: c, consumed: toks.length - i, value: line.slice(toks[i].col).trimEnd() }); continue; }
    if (c.param.kind === 'iface' && i + 1 < toks.length && ifType(toks[i].text) && IF_NUMBER.test(toks[i + 1].text)) {
      // "serial 4/0": IOS accepts the type and the number as two words.
      const v = validateParam(c.param, toks[i].text + toks[i + 1].text);
      if (v !== null) { out.push({ node: c, consumed: 2, value: v }); continue; }
    }
    const v = validateParam(c.param, toks[i].text);
    if (v !== null) out.push({ node: c, consumed: 1, value: v });
  }
  return out.slice(0, 1); // declaration order breaks ties between parameter kinds
}

/** How far into the token a keyword matched, so the caret lands on the first wrong character. */
function caretOffset(n: Node, tok: string): number {
  const t = tok.toLowerCase();
  let best = 0;
  for (const c of n.children) {
    if (c.word === undefined) continue;
    let k = 0;
    while (k < t.length && k < c.word.length && t[k] === c.word[k]) k++;
    best = Math.max(best, k);
  }
  return best;
}

export interface Descent { node: Node; args: Args; i: number; error?: MatchError }

/** Walk from `start` consuming toks[from..]; stops at the end or at the first failure. */
export function descend(start: Node, line: string, toks: Tok[], from = 0, no = false): Descent {
  const args: Args = { kw: new Set(), p: {}, no };
  let n = start;
  let i = from;
  while (i < toks.length) {
    const cs = candidates(n, line, toks, i);
    if (cs === 'ambiguous') {
      return { node: n, args, i, error: { kind: 'ambiguous', upto: line.slice(0, toks[i].col + toks[i].text.length) } };
    }
    if (cs.length === 0) {
      return { node: n, args, i, error: { kind: 'invalid', col: toks[i].col + caretOffset(n, toks[i].text) } };
    }
    const c = cs[0];
    if (c.node.word !== undefined) args.kw.add(c.node.word);
    else args.p[c.node.key!] = c.value!;
    n = c.node;
    i += c.consumed;
  }
  return { node: n, args, i };
}

/** The single action reachable below `n` (for `no` forms that omit trailing arguments). */
function soleAction(n: Node): Action | undefined {
  const seen = new Set<Action>();
  const walk = (x: Node) => { if (x.action) seen.add(x.action); x.children.forEach(walk); };
  walk(n);
  return seen.size === 1 ? [...seen][0] : undefined;
}

/** Match a whole command. In `no` mode a command may stop early (IOS: `no ip address`). */
export function matchCommand(start: Node, line: string, toks: Tok[], from = 0, no = false): MatchResult {
  const d = descend(start, line, toks, from, no);
  if (d.error) return { ok: false, ...d.error };
  if (d.node === start) return { ok: false, kind: 'incomplete' };
  const action = d.node.action ?? (no ? soleAction(d.node) : undefined);
  if (!action) return { ok: false, kind: 'incomplete' };
  return { ok: true, node: d.node, action, args: d.args };
}

/** IOS wording of a match failure; `promptLen` shifts the caret under the echoed input. */
export function formatError(e: MatchError, promptLen = 0): string {
  switch (e.kind) {
    case 'invalid': return `${' '.repeat(promptLen + e.col)}^\n% Invalid input detected at '^' marker.\n`;
    case 'ambiguous': return `% Ambiguous command:  "${e.upto}"\n`;
    case 'incomplete': return '% Incomplete command.\n';
  }
}

/** One-line message for load errors. */
export function errorMessage(e: MatchError): string {
  switch (e.kind) {
    case 'invalid': return `% Invalid input detected at '^' marker.`;
    case 'ambiguous': return `% Ambiguous command:  "${e.upto}"`;
    case 'incomplete': return '% Incomplete command.';
  }
}
