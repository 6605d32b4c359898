// The admission decision for one request whose token has passed (token.ts: the service checks it
// before anything else) and whose device key is proven (the CSR's signature): the device key's existing
// binding, the one-time rule, approval, the pool. Pure: the server applies the outcome.
import type { EnrollmentConfig, EnrollmentToken } from '../config/model-enroll.js';
import { bindingName, bindingOf, freeAddress, hostnameFor, type EnrollmentState } from './bindings.js';
import { nameKeyPart } from './device-name.js';

export type RefusalReason = 'bad-token' | 'expired-token' | 'token-used' | 'key-bound-elsewhere' | 'pool-exhausted' | 'not-ready' | 'bad-certificate' | 'not-enrolled' | 'key-revoked' | 'expired-beyond-grace';

export const REASON_TEXT: Record<RefusalReason, string> = {
  'bad-token': 'the token is unknown or its secret is wrong',
  'expired-token': 'the token has expired',
  'token-used': 'the one-time token was already used by another device key',
  'key-bound-elsewhere': 'this device key is already enrolled under another token',
  'pool-exhausted': 'no free tunnel address in the pool',
  'not-ready': 'the enrollment server is not fully configured',
  'bad-certificate': 'renewal refused: the client certificate is not one this hub issued, or not valid now',
  'not-enrolled': 'renewal refused: this device key is not enrolled',
  'key-revoked': 'this device key was revoked by the operator',
  'expired-beyond-grace': 'renewal refused: the certificate expired longer ago than the hub\'s renewal grace',
};

export type Decision =
  | { kind: 'refused'; reason: RefusalReason; detail?: string }
  | { kind: 'pending'; token: string }
  | { kind: 'admit'; address: string; hostname: string; token: string; again: boolean };

/** `token`: the configured token whose secret the request presented (checkToken's); `key`: the device
 *  key's SHA-256 of its SPKI, hex */
export interface Request { token: EnrollmentToken; key: string }

export function decide(cfg: EnrollmentConfig, state: EnrollmentState, req: Request, approved: ReadonlySet<string>): Decision {
  const token = req.token.name;
  // before anything else: a revoked key gets nothing, not even with the token it enrolled with
  if (state.revoked?.includes(req.key)) return { kind: 'refused', reason: 'key-revoked' };
  const bound = bindingOf(state, req.key);
  if (bound) {
    // the same device enrolling again (its answer lost, its config wiped) gets the same address
    if (bound.token === token) return { kind: 'admit', address: bound.address, hostname: bound.hostname, token, again: true };
    return { kind: 'refused', reason: 'key-bound-elsewhere', detail: `bound to ${bound.address} under token ${bound.token}` };
  }
  // a device name carries a prefix of the key id (device-name.ts): two keys sharing it would share a name
  // (a binding whose key was replaced keeps the name of its first key: bindings.ts bindingName)
  const namesake = state.bindings.find((b) => nameKeyPart(b.key) === nameKeyPart(req.key) || bindingName(b).split('.').at(-3) === nameKeyPart(req.key));
  if (namesake) return { kind: 'refused', reason: 'key-bound-elsewhere', detail: `a device key with the same name prefix holds ${namesake.address}` };
  const user = state.usedTokens[token];
  if (req.token.oneTime && user && user !== req.key) return { kind: 'refused', reason: 'token-used' };
  if (cfg.manual && !approved.has(req.key)) return { kind: 'pending', token };
  if (!cfg.pool) return { kind: 'refused', reason: 'not-ready', detail: 'no pool' };
  const address = freeAddress(state, cfg.pool);
  if (!address) return { kind: 'refused', reason: 'pool-exhausted' };
  return { kind: 'admit', address, hostname: hostnameFor(address), token, again: false };
}
