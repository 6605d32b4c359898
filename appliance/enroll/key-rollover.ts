// The spoke's side of a renewal with a new key (`auto-enroll [PERCENT] regenerate`, IOS): the new key
// pair, of the kind of the one in use, is generated into the key store under the trustpoint's other
// label (LABEL <-> LABEL.rekey) before the hub is asked, marked with the serial of the certificate it is
// to replace. The running and startup configs then move from (old label, old certificate) to (new label,
// new certificate) each in one step (live apply; an atomic file), while the key store holds both keys,
// so no config ever names a key without its certificate, whatever the moment of a crash. A rollover
// cut short (answer lost, apply refused, power cut) is finished with the same staged key: its mark names
// the certificate still in use, and the hub issues the certificate of that key again when the old
// certificate asks with its proof (enroll/rekey.ts). The old key pair goes once no config names it.
import { createPrivateKey } from 'node:crypto';
import type { KeyKind } from '../config/model-pki.js';

/** what marks the second label of a trustpoint's key pair (reserved: a key under it that is not a
 *  staged key for the certificate in use is a leftover, replaced) */
export const ROLLOVER_SUFFIX = '.rekey';
/** the key store's longest label */
const MAX_LABEL = 64;

/** The key store as a rollover uses it (supervisor/key-store.ts). Keys as PEM. */
export interface RolloverKeys {
  /** the key pair `label` made to replace the key of certificate `serial`, if there is one */
  staged(label: string, serial: string): string | undefined;
  /** a new key pair `label` marked as replacing the key of certificate `serial` (saved before it
   *  resolves; made off the event loop: an RSA key takes seconds) */
  generate(label: string, kind: KeyKind, bits: number, serial: string): Promise<string>;
  /** key pair `label` is in use: its mark goes */
  settle(label: string): void;
  drop(label: string): void;
  has(label: string): boolean;
}

/** The label a trustpoint's next key pair goes under: the other one of LABEL and LABEL.rekey. */
export const rolloverLabel = (label: string) => (label.endsWith(ROLLOVER_SUFFIX) ? label.slice(0, -ROLLOVER_SUFFIX.length) : `${label}${ROLLOVER_SUFFIX}`);

/** The kind and size of a new key pair like `pem`'s, or why there is none. */
function kindOf(pem: string): { kind: KeyKind; bits: number } | string {
  const k = createPrivateKey(pem);
  const d = k.asymmetricKeyDetails ?? {};
  if (k.asymmetricKeyType === 'ed25519') return { kind: 'ed25519', bits: 256 };
  if (k.asymmetricKeyType === 'rsa' && d.modulusLength) return { kind: 'rsa', bits: d.modulusLength };
  if (k.asymmetricKeyType === 'ec' && d.namedCurve === 'prime256v1') return { kind: 'ec', bits: 256 };
  return `a key pair of type ${k.asymmetricKeyType}${d.namedCurve ? ` ${d.namedCurve}` : ''} cannot be regenerated here (ed25519, EC P-256, RSA)`;
}

/** The key pair to ask the certificate for in a rollover of the key `currentPem` (label `label`) of
 *  certificate `serial`: the one staged for it, or a new one; or why not. `fresh`: just made; `named`:
 *  whether the running or startup config names a key label. */
export async function nextKey(keys: RolloverKeys, label: string, currentPem: string, serial: string, named: (label: string) => boolean): Promise<{ label: string; pem: string; fresh: boolean } | string> {
  const next = rolloverLabel(label);
  if (next.length > MAX_LABEL) return `key label ${label}: no room for ${ROLLOVER_SUFFIX} (at most ${MAX_LABEL} characters)`;
  const staged = keys.staged(next, serial);
  if (staged) return { label: next, pem: staged, fresh: false };
  const shape = kindOf(currentPem);
  if (typeof shape === 'string') return shape;
  if (keys.has(next)) {
    // the key an earlier rollover replaced, or one staged for a certificate gone; never one a config names
    if (named(next)) return `key pair ${next} is still named by a configuration (write memory, or remove it)`;
    keys.drop(next);
  }
  return { label: next, pem: await keys.generate(next, shape.kind, shape.bits, serial), fresh: true };
}
