// CLI modes, their prompts, and running one line in a config mode. Shared by the startup-config
// loader and the interactive session so both accept exactly the same language.
import { Node, Args, CliError } from '../cli/tree.js';
import { Tok, tokenize, candidates, matchCommand, MatchError } from '../cli/match.js';
import type { ApplianceConfig } from './model.js';

export type ModeId =
  | 'exec' | 'priv' | 'config' | 'config-if' | 'config-isakmp' | 'cfg-crypto-trans' | 'ipsec-profile'
  | 'config-manual-sa' | 'config-router' | 'config-line'
  | 'config-router-ospf' | 'config-router-bgp' | 'config-router-bgp-af'
  | 'config-ikev2-proposal' | 'config-ikev2-policy' | 'config-ikev2-keyring' | 'config-ikev2-keyring-peer' | 'config-ikev2-profile'
  | 'config-router-eigrp' | 'config-router-eigrp-named' | 'config-router-af' | 'config-router-af-interface' | 'config-router-af-topology'
  | 'config-keychain' | 'config-keychain-key'
  | 'ca-trustpoint' | 'config-cert-chain' | 'config-pubkey'
  | 'config-dmvpn-enroll';

/** The mode plus what it edits (interface name, policy number, profile name ...). */
export interface ModeState { id: ModeId; ref?: string }

const SUFFIX: Record<ModeId, string> = {
  exec: '>', priv: '#', config: '(config)#', 'config-if': '(config-if)#', 'config-isakmp': '(config-isakmp)#',
  'cfg-crypto-trans': '(cfg-crypto-trans)#', 'ipsec-profile': '(ipsec-profile)#',
  'config-manual-sa': '(config-manual-sa)#', 'config-router': '(config-router)#', 'config-line': '(config-line)#',
  'config-router-ospf': '(config-router)#', 'config-router-bgp': '(config-router)#', 'config-router-bgp-af': '(config-router-af)#',
  'config-ikev2-proposal': '(config-ikev2-proposal)#', 'config-ikev2-policy': '(config-ikev2-policy)#',
  'config-ikev2-keyring': '(config-ikev2-keyring)#', 'config-ikev2-keyring-peer': '(config-ikev2-keyring-peer)#',
  'config-ikev2-profile': '(config-ikev2-profile)#',
  'config-router-eigrp': '(config-router)#', 'config-router-eigrp-named': '(config-router)#', 'config-router-af': '(config-router-af)#',
  'config-router-af-interface': '(config-router-af-interface)#', 'config-router-af-topology': '(config-router-af-topology)#',
  'config-keychain': '(config-keychain)#', 'config-keychain-key': '(config-keychain-key)#',
  'ca-trustpoint': '(ca-trustpoint)#', 'config-cert-chain': '(config-cert-chain)#', 'config-pubkey': '(config-pubkey)#',
  'config-dmvpn-enroll': '(config-dmvpn-enroll)#',
};

export const prompt = (hostname: string, m: ModeState): string => hostname + SUFFIX[m.id];
export const isConfigMode = (id: ModeId): boolean => id !== 'exec' && id !== 'priv';
export const isSubMode = (id: ModeId): boolean => isConfigMode(id) && id !== 'config';

/** Context given to config-command actions. */
export interface ConfigCtx {
  cfg: ApplianceConfig;
  mode: ModeState;
  /** switch mode after the command (sub-mode entry, exit, end). */
  enter(m: ModeState): void;
}

export type ConfigTrees = Record<ModeId, Node | undefined>;

export type LineOutcome =
  | { ok: true; mode: ModeState; inactive?: string; noop?: boolean }
  | { ok: false; error: MatchError | { kind: 'action'; message: string } };

/** Strip a transcript prompt such as `R1(config-if)#` so pasted lab transcripts load. */
export function stripPrompt(line: string): string {
  return line.replace(/^\s*[A-Za-z0-9_.-]+\((?:config|cfg|ipsec|ca)[a-z0-9-]*\)#/, '');
}

/**
 * Run one config-mode line against `cfg` (mutated in place). IOS rule: a line that does not parse
 * in a sub-mode is tried in global config, and if it parses there the sub-mode is left.
 */
export function runConfigLine(trees: ConfigTrees, mode: ModeState, cfg: ApplianceConfig, line: string): LineOutcome {
  const toks = tokenize(line);
  if (toks.length === 0 || toks[0].text.startsWith('!')) return { ok: true, mode, noop: true };
  const first = tryIn(trees[mode.id]!, mode, cfg, line, toks);
  // certificate hex until `quit` is data, never a global command (grammar-pki.ts)
  if (first.ok || !isSubMode(mode.id) || mode.id === 'config-pubkey') return first;
  const parent: ModeState = { id: 'config' };
  const second = tryIn(trees.config!, parent, cfg, line, toks);
  if (second.ok) return second;
  // Report whichever reading got further into the line, as the user most likely meant that one.
  const col = (o: LineOutcome) => (!o.ok && o.error.kind === 'invalid' ? o.error.col : Infinity);
  return col(second) > col(first) ? second : first;
}

function tryIn(tree: Node, mode: ModeState, cfg: ApplianceConfig, line: string, toks: Tok[]): LineOutcome {
  let from = 0;
  let no = false;
  const c0 = candidates(tree, line, toks, 0);
  if (c0 !== 'ambiguous' && c0.length === 1 && c0[0].node.word === 'no') { from = 1; no = true; }
  if (no && toks.length === 1) return { ok: false, error: { kind: 'incomplete' } };
  const m = matchCommand(tree, line, toks, from, no);
  if (!m.ok) return { ok: false, error: m };
  let next = mode;
  const ctx: ConfigCtx = { cfg, mode, enter: s => { next = s; } };
  try {
    const inactive = m.action(ctx, m.args as Args);
    return { ok: true, mode: next, ...(inactive ? { inactive } : {}) };
  } catch (e) {
    if (e instanceof CliError) return { ok: false, error: { kind: 'action', message: e.message } };
    throw e;
  }
}
