// IOS time formats of the show commands: a date (iosDate); elapsed times as `show dmvpn` / `show ip nhrp` print them:
// under a day "hh:mm:ss", under a week "1d02h", under a year "1w2d", then "1y2w"; null -> "never".
const p2 = (n: number) => String(n).padStart(2, '0');

export function iosTime(seconds: number | null): string {
  if (seconds === null) return 'never';
  const s = Math.max(0, Math.floor(seconds));
  if (s < 86400) return `${p2(Math.floor(s / 3600))}:${p2(Math.floor(s / 60) % 60)}:${p2(s % 60)}`;
  const days = Math.floor(s / 86400);
  if (days < 7) return `${days}d${p2(Math.floor(s / 3600) % 24)}h`;
  const weeks = Math.floor(days / 7);
  if (weeks < 52) return `${weeks}w${days % 7}d`;
  return `${Math.floor(weeks / 52)}y${weeks % 52}w`;
}

/** IOS date form: "10:15:02 UTC Dec 5 2026" */
export function iosDate(d: Date): string {
  const m = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  return `${d.toISOString().slice(11, 19)} UTC ${m} ${d.getUTCDate()} ${d.getUTCFullYear()}`;
}
