// Console login and `enable` as IOS does them, from the configuration's auth section:
//   no `line con 0` login (factory default)  -> no questions, user exec
//   `line con 0` + `password X` + `login`    -> "Password:" checked against the line password
//   `line con 0` + `login local`             -> "Username:" / "Password:" against `username` entries;
//                                               a privilege 15 user lands in privileged exec
//   `enable secret` (else `enable password`) -> asked by `enable`; none set: allowed on the console
// Three tries per session. Every failure makes the next answer wait longer (doubling, capped), and
// what is typed during the wait is thrown away, so guessing through the serial line is slow. An
// unknown user costs the same hashing as a known one. Passwords are read without echo.
import type { AuthConfig, LinePassword } from '../config/model.js';
import { verifySecret, decodeType7, samePassword, hashSecret } from '../auth/secrets.js';

export interface LoginIo {
  /** Ask for one line; `secret` lines are not echoed. */
  ask(prompt: string, secret: boolean): Promise<string>;
  write(text: string): void;
  /** Wait, discarding anything typed meanwhile. */
  pause(ms: number): Promise<void>;
}

export const TRIES = 3;
const MAX_DELAY_MS = 30_000;
const DUMMY_SECRET = hashSecret('no such user', 'dmvpnDummySalt');

/** Growing delay after `failures` consecutive failed attempts (0 before the first failure). */
export function failureDelay(failures: number, baseMs: number): number {
  return failures <= 0 ? 0 : Math.min(MAX_DELAY_MS, baseMs * 2 ** Math.min(failures - 1, 20));
}

function matchesPassword(typed: string, p: LinePassword): boolean {
  const plain = p.type === 7 ? decodeType7(p.text) : p.text;
  return plain !== undefined && samePassword(typed, plain);
}

export type ConsoleLoginMode = 'none' | 'line' | 'local';

/** What the console asks at session start. A `login` without a password is "login disabled" (IOS);
 *  `login local` without any user lets the console in, so an operator is never locked out of the
 *  one port that can fix the configuration. */
export function consoleLoginMode(a: AuthConfig | undefined): ConsoleLoginMode {
  const c = a?.console;
  if (c?.login === 'local' && a!.users.length) return 'local';
  if (c?.login === 'line' && c.password) return 'line';
  return 'none';
}

/** Check a local user; the privilege level on success. */
export function checkUser(a: AuthConfig | undefined, name: string, password: string): number | undefined {
  const u = a?.users.find(x => x.name === name);
  if (!u) { verifySecret(password, DUMMY_SECRET); return undefined; }
  const ok = u.secret ? verifySecret(password, u.secret) : u.password ? matchesPassword(password, u.password) : false;
  return ok ? u.privilege ?? 1 : undefined;
}

/** Whether `enable` needs a password, and checking one (the secret wins over the password, as IOS). */
export function enableNeedsPassword(a: AuthConfig | undefined): boolean { return !!(a?.enableSecret || a?.enablePassword); }
export function checkEnable(a: AuthConfig | undefined, password: string): boolean {
  if (a?.enableSecret) return verifySecret(password, a.enableSecret);
  if (a?.enablePassword) return matchesPassword(password, a.enablePassword);
  return true;
}

/** Keeps the consecutive-failure count across sessions of one console process. */
export class ConsoleGuard {
  failures = 0;
  constructor(private readonly baseDelayMs: number) {}

  private async failed(io: LoginIo): Promise<void> {
    this.failures++;
    await io.pause(failureDelay(this.failures, this.baseDelayMs));
  }

  /** The session-start dialog: the privilege level to start at, or undefined (back to idle). */
  async login(a: AuthConfig | undefined, io: LoginIo): Promise<number | undefined> {
    const mode = consoleLoginMode(a);
    if (mode === 'none') return 1;
    io.write('\nUser Access Verification\n\n');
    for (let i = 0; i < TRIES; i++) {
      if (mode === 'line') {
        if (a!.console.password && matchesPassword(await io.ask('Password: ', true), a!.console.password)) { this.failures = 0; return 1; }
        await this.failed(io);
        continue;
      }
      const name = (await io.ask('Username: ', false)).trim();
      const level = checkUser(a, name, await io.ask('Password: ', true));
      if (level !== undefined) { this.failures = 0; return level; }
      await this.failed(io);
      io.write('% Login invalid\n\n');
    }
    io.write(mode === 'line' ? '% Bad passwords\n' : '% Login failed\n');
    return undefined;
  }

  /** `enable`: true when privileged exec is granted. */
  async enable(a: AuthConfig | undefined, io: LoginIo): Promise<boolean> {
    if (!enableNeedsPassword(a)) return true;
    for (let i = 0; i < TRIES; i++) {
      if (checkEnable(a, await io.ask('Password: ', true))) { this.failures = 0; return true; }
      await this.failed(io);
    }
    io.write(a?.enableSecret ? '% Bad secrets\n\n' : '% Bad passwords\n\n');
    return false;
  }
}
