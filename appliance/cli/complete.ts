// `?` help and Tab completion, printed the way IOS prints them:
//   "sh?"     -> "show  "              (words starting with the partial word)
//   "show ?"  -> "  dmvpn  DMVPN information" ... "  <cr>"  (next words with help, names padded)
//   Tab       -> completes a unique keyword prefix and adds a space; otherwise the line is unchanged.
import { Node, placeholder } from './tree.js';
import { tokenize, descend, candidates, formatError, MatchError } from './match.js';
import { IF_TYPES } from './ifname.js';

/** Resolve the words before the one being typed, following a leading `no` back to the root. */
function contextNode(tree: Node, line: string, complete: number): { node: Node; error?: MatchError } {
  const toks = tokenize(line).slice(0, complete);
  let from = 0;
  if (toks.length) {
    const c0 = candidates(tree, line, toks, 0);
    if (c0 !== 'ambiguous' && c0.length === 1 && c0[0].node.word === 'no') from = 1;
  }
  const d = descend(tree, line, toks, from, from === 1);
  return { node: d.node, error: d.error };
}

function entries(n: Node): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const c of n.children) {
    if (c.word !== undefined) out.push([c.word, c.help]);
    else if (c.param?.kind === 'iface') for (const t of IF_TYPES) out.push([t, `${t} interface`]);
    else out.push([placeholder(c.param!), c.help]);
  }
  out.sort((a, b) => (a[0].startsWith('<') || /^[A-Z]/.test(a[0]) ? 1 : 0) - (b[0].startsWith('<') || /^[A-Z]/.test(b[0]) ? 1 : 0) || a[0].localeCompare(b[0]));
  if (n.action && n.word !== 'no') out.push(['<cr>', '']);
  return out;
}

/** Output for a line ending in '?' (the '?' itself already removed). */
export function help(tree: Node, line: string, promptLen = 0): string {
  const toks = tokenize(line);
  const partial = line.length > 0 && !/\s$/.test(line);
  const ctx = contextNode(tree, line, partial ? toks.length - 1 : toks.length);
  if (ctx.error) return formatError(ctx.error, promptLen);
  if (partial) {
    const p = toks[toks.length - 1].text.toLowerCase();
    const words = ctx.node.children.filter(c => c.word?.startsWith(p)).map(c => c.word!).sort();
    if (!words.length) return `% Unrecognized command\n`;
    return words.map(w => w + '  ').join('') + '\n';
  }
  const es = entries(ctx.node);
  if (!es.length) return '% Unrecognized command\n';
  const w = Math.max(...es.map(e => e[0].length));
  return es.map(([k, h]) => (h ? `  ${k.padEnd(w)}  ${h}` : `  ${k}`)).join('\n') + '\n';
}

/** Tab: the line with the last word completed (plus a space), or the line unchanged. */
export function complete(tree: Node, line: string): string {
  const toks = tokenize(line);
  if (!toks.length || /\s$/.test(line)) return line;
  const ctx = contextNode(tree, line, toks.length - 1);
  if (ctx.error) return line;
  const last = toks[toks.length - 1];
  const p = last.text.toLowerCase();
  const words = ctx.node.children.filter(c => c.word?.startsWith(p)).map(c => c.word!);
  const exact = words.includes(p);
  if (words.length !== 1 && !exact) return line;
  return line.slice(0, last.col) + (exact ? p : words[0]) + ' ';
}
