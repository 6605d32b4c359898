// running-config lines of the login configuration (grammar-auth.ts), in IOS's places: `service
// password-encryption` before the hostname, `enable` and `username` after it, `line con 0` last;
// and of the time and logging services (grammar-services.ts).
// Secrets appear only as their hashes, passwords as written (type 7 once encryption is on).
import type { AuthConfig, LinePassword, ApplianceConfig } from './model.js';
import { SYSLOG_LEVELS } from './grammar-services.js';

const secretType = (h: string) => (h.startsWith('$1$') ? 5 : h.startsWith('$8$') ? 8 : 9);
const password = (p: LinePassword) => (p.type === 7 ? `password 7 ${p.text}` : `password ${p.text}`);

export function authHead(a: AuthConfig | undefined): string[] {
  return a?.passwordEncryption ? ['service password-encryption', '!'] : [];
}

export function authBody(a: AuthConfig | undefined): string[] {
  if (!a) return [];
  const out: string[] = [];
  if (a.enableSecret) out.push(`enable secret ${secretType(a.enableSecret)} ${a.enableSecret}`);
  if (a.enablePassword) out.push(`enable ${password(a.enablePassword)}`);
  if (out.length) out.push('!');
  for (const u of a.users) {
    const parts = ['username', u.name];
    if (u.privilege !== undefined) parts.push('privilege', String(u.privilege));
    if (u.secret) parts.push('secret', String(secretType(u.secret)), u.secret);
    else if (u.password) parts.push(password(u.password));
    out.push(parts.join(' '));
  }
  if (a.users.length) out.push('!');
  return out;
}

export function authTail(a: AuthConfig | undefined): string[] {
  const c = a?.console;
  if (!c || (!c.login && !c.password && c.execTimeout === undefined)) return [];
  const out = ['line con 0'];
  if (c.execTimeout !== undefined) out.push(` exec-timeout ${Math.floor(c.execTimeout / 60)} ${c.execTimeout % 60}`);
  if (c.password) out.push(` ${password(c.password)}`);
  if (c.login) out.push(c.login === 'local' ? ' login local' : ' login');
  out.push('!');
  return out;
}

/** `logging` and `ntp` lines (grammar-services.ts), IOS's place: after the static routes. */
export function servicesLines(c: ApplianceConfig): string[] {
  const out: string[] = [];
  const l = c.logging;
  if (l?.facility) out.push(`logging facility ${l.facility}`);
  if (l?.trap !== undefined) out.push(`logging trap ${SYSLOG_LEVELS[l.trap]}`);
  for (const h of l?.hosts ?? []) out.push(h.port ? `logging host ${h.address} transport udp port ${h.port}` : `logging host ${h.address}`);
  for (const s of c.ntp?.servers ?? []) out.push(`ntp server ${s.address}${s.prefer ? ' prefer' : ''}`);
  if (out.length) out.push('!');
  return out;
}
