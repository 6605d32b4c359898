// Walkers over `tshark -T json` layers, shared by the tests that check our packets with the real
// Wireshark dissectors.
export type Json = Record<string, unknown>;

/** All values of `key` anywhere under `node`, in document order (arrays from duplicate keys flattened). */
export function all(node: unknown, key: string): string[] {
  const out: string[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) { n.forEach(walk); return; }
    if (!n || typeof n !== 'object') return;
    for (const [k, v] of Object.entries(n as Json)) {
      if (k === key) (Array.isArray(v) ? v : [v]).forEach((x) => (typeof x === 'string' ? out.push(x) : walk(x)));
      else walk(v);
    }
  };
  walk(node);
  return out;
}

/** Keys that signal dissector trouble: expert infos, malformed markers, bad checksums, invalid fields. */
export function problems(node: unknown): string[] {
  const out: string[] = [];
  const walk = (n: unknown, path: string): void => {
    if (Array.isArray(n)) { n.forEach((x) => walk(x, path)); return; }
    if (!n || typeof n !== 'object') return;
    for (const [k, v] of Object.entries(n as Json)) {
      if (k.startsWith('_ws.expert') || k.startsWith('_ws.malformed') || k.includes('bad_checksum')
        || (k.startsWith('nhrp.ext.') && /malformed|extra|not_allowed/.test(k)) || k.endsWith('.invalid')) out.push(`${path}/${k}`);
      walk(v, `${path}/${k}`);
    }
  };
  walk(node, '');
  return out;
}
