// Which NHS gets our resolution requests. IOS `ip nhrp nhs X priority N`: 0 is the highest priority
// (255 the lowest, default 0); without `cluster ... max-connections` IOS registers with every
// configured NHS, so all stay registered and only the choice of where to send requests depends on
// priority. Preference: a responding NHS before a silent one, then lower priority number, then
// configuration order. A silent primary keeps being probed by its registration client; its first
// reply makes it responding again, so requests return to it without extra machinery.
export interface NhsCandidate {
  nbma: string;
  tunnelIp?: string;
  priority: number;
  up: boolean;
}

export function selectNhs<T extends NhsCandidate>(cands: readonly T[]): T | undefined {
  let best: T | undefined;
  let bestIdx = -1;
  cands.forEach((c, i) => {
    if (!best) { best = c; bestIdx = i; return; }
    const better = c.up !== best.up ? c.up
      : c.priority !== best.priority ? c.priority < best.priority
        : i < bestIdx;
    if (better) { best = c; bestIdx = i; }
  });
  return best;
}
