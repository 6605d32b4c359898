// `reload`, `reload in N`, `reload cancel`, `show reload`: the safety net for remote changes (schedule
// a reload, change the running config; if the change cuts you off, the box comes back on its
// startup-config). What a reload is depends on where the supervisor runs (dmvpnd.ts gives `reload`):
// on the image a reboot of the box; as a daemon in a namespace, a restart of the supervisor from its
// startup-config by its watchdog. The pending time is kept in a file when one is given, so a
// supervisor restarted by its watchdog before the deadline still reloads.
import fs from 'node:fs';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const p2 = (n: number) => String(n).padStart(2, '0');
/** IOS clock format: "18:30:00 UTC Fri Dec 4 2026". */
export function iosClock(ms: number): string {
  const d = new Date(ms);
  return `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} UTC ${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()} ${d.getUTCFullYear()}`;
}

function inWords(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
  const part = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const parts = [h ? part(h, 'hour') : '', m ? part(m, 'minute') : '', sec ? part(sec, 'second') : ''].filter(Boolean);
  return parts.length ? parts.join(' and ').replace(/ and (?=.* and )/, ', ') : '0 seconds';
}

export class ReloadTimer {
  private timer?: NodeJS.Timeout;
  private at?: number;

  constructor(private readonly reload: (reason: string) => void, private readonly stateFile?: string,
    private readonly now: () => number = Date.now) {
    let saved = NaN;
    try { if (stateFile) saved = Number(fs.readFileSync(stateFile, 'utf8').trim() || NaN); } catch { /* none pending */ }
    if (Number.isFinite(saved)) this.arm(saved);
  }

  private arm(at: number): void {
    this.at = at;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.clear(); this.reload('Reload Command (scheduled)'); }, Math.max(0, at - this.now()));
    this.timer.unref?.();
    if (this.stateFile) fs.writeFileSync(this.stateFile, `${at}\n`);
  }

  private clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.at = undefined;
    if (this.stateFile) fs.writeFileSync(this.stateFile, '');
  }

  schedule(minutes: number): string {
    this.arm(this.now() + minutes * 60_000);
    return `Reload scheduled for ${iosClock(this.at!)} (in ${inWords(this.at! - this.now())})\n`;
  }

  cancel(): string {
    if (this.at === undefined) return '%No reload is scheduled.\n';
    this.clear();
    return '\n\n***\n*** --- SHUTDOWN ABORTED ---\n***\n\n';
  }

  show(): string {
    if (this.at === undefined) return 'No reload is scheduled.\n';
    return `Reload scheduled for ${iosClock(this.at)} (in ${inWords(this.at - this.now())})\n`;
  }

  /** `reload`: now (the console asks for confirmation before sending it). */
  immediate(): string {
    this.clear();
    setTimeout(() => this.reload('Reload Command'), 200).unref?.(); // let the reply reach the console first
    return '\n***\n*** --- SHUTDOWN NOW ---\n***\n\n';
  }

  pendingAt(): number | undefined { return this.at; }
}
