// The provisioning file a factory box finds on its config partition (docs/enrollment.md): where the hub
// listens (optional: without it the hub is discovered by DHCP option 43 or DNS, enroll/discovery.ts), the
// hub key's pin, and the enrollment token. One setting per line, `!` comments:
//   hub 203.0.113.1 port 4430
//   pin sha256//BASE64-OF-SHA256-OF-THE-HUB-KEY-SPKI
//   token NAME SECRET
import { ENROLL_PORT, TOKEN_NAME } from '../config/model-enroll.js';
import { ipv4Bytes } from '../net/ipv4.js';

export interface Provisioning { hub?: string; port: number; pin: Buffer; token: string; secret: string }
/** the provisioning with the hub's address known (from the file or discovered) */
export type HubTarget = Provisioning & { hub: string };

/** The settings, or why the file is unusable (never quoting the secret). */
export function parseProvisioning(text: string): Provisioning | string {
  const o: Partial<Provisioning> = {};
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const w = raw.trim().split(/\s+/);
    if (!w[0] || w[0].startsWith('!') || w[0].startsWith('#')) continue;
    if (w[0] === 'hub' && ipv4Bytes(w[1] ?? '') && (w.length === 2 || (w.length === 4 && w[2] === 'port' && /^\d{1,5}$/.test(w[3]) && +w[3] >= 1 && +w[3] <= 65535))) {
      o.hub = w[1];
      o.port = w.length === 4 ? Number(w[3]) : undefined;
    } else if (w[0] === 'pin' && w.length === 2 && /^sha256\/\/[A-Za-z0-9+/]{43}=$/.test(w[1])) {
      o.pin = Buffer.from(w[1].slice(8), 'base64');
    } else if (w[0] === 'token' && w.length === 3 && TOKEN_NAME.test(w[1])) {
      o.token = w[1];
      o.secret = w[2];
    } else return `line ${n + 1}: expected "hub A.B.C.D [port N]", "pin sha256//BASE64" or "token NAME SECRET" (${w[0] === 'token' ? 'token line malformed' : `"${w[0].slice(0, 20)}"`})`;
  }
  if (!o.pin) return 'no pin line (the hub key\'s sha256// pin: without it the hub is not authenticated)';
  if (!o.token) return 'no token line';
  return { ...(o.hub ? { hub: o.hub } : {}), port: o.port ?? ENROLL_PORT, pin: o.pin, token: o.token, secret: o.secret! };
}
