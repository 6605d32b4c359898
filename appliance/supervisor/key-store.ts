// The key store: private keys of `crypto key generate`, by label, in one file next to the startup-config
// (`<startup-config>.keys`, as IOS keeps keys in private NVRAM, apart from the config). JSON, mode 0600,
// written atomically on every change (a generated key is kept at once, not at `write memory`). Keys never
// leave this module except as KeyObjects/PEM to IKE and as public keys to `show crypto key mypubkey`;
// no message of it contains key material.
import fs from 'node:fs';
import { generateKeyPair, generateKeyPairSync, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { KeyKind } from '../config/model-pki.js';
import type { KeyLookup } from '../ike/pki/trustpoint.js';
import { writeFileAtomic } from './startup-config.js';

/** replaces: a key pair made for a key rollover (`auto-enroll regenerate`, enroll/key-rollover.ts), not
 *  in use yet: the serial of the certificate whose key it is to replace (settle() clears it) */
export interface StoredKey { kind: KeyKind; pem: string; created: string; bits: number; replaces?: string }
export interface PublicKeyView { label: string; kind: KeyKind; bits: number; created: string; spki: Buffer }

const LABEL = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class KeyStore {
  private keys = new Map<string, StoredKey>();
  /** labels whose key generateAsync() is computing */
  private readonly generating = new Set<string>();

  constructor(readonly file: string, private readonly warn: (msg: string) => void = () => undefined) {
    let text: string;
    try { text = fs.readFileSync(file, 'utf8'); } catch { return; }
    try {
      const mode = fs.statSync(file).mode & 0o777;
      if (mode & 0o077) { fs.chmodSync(file, 0o600); warn(`key store ${file} was readable by others (mode ${mode.toString(8)}): now 0600`); }
      const j = JSON.parse(text) as { keys?: Record<string, StoredKey> };
      for (const [label, k] of Object.entries(j.keys ?? {})) {
        createPrivateKey(k.pem); // one damaged entry: the store is not trusted at all (below)
        if (k.replaces !== undefined && (typeof k.replaces !== 'string' || !/^[0-9A-Fa-f]{1,64}$/.test(k.replaces))) throw new Error('a rollover mark is malformed');
        this.keys.set(label, k);
      }
    } catch (e) {
      warn(`key store ${file} unreadable (${(e as Error).name}): no key pairs loaded`);
      this.keys.clear();
    }
  }

  /** The lookup IKE takes (ike/pki/trustpoint.ts). */
  readonly lookup: KeyLookup = (label) => { const k = this.keys.get(label); return k && { kind: k.kind, pem: k.pem }; };

  /** A new key pair `label`; refused when the label exists (zeroize it first) or is malformed. */
  generate(kind: KeyKind, label: string, bits: number): StoredKey {
    this.checkNew(label);
    const pair = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: bits })
      : kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : generateKeyPairSync('ed25519');
    return this.keep(kind, label, bits, pair.privateKey);
  }

  /** As generate(), in libuv's thread pool: an RSA 4096 key takes seconds, during which the event
   *  loop (NHRP, IKE, DPD, the console) keeps running. The label is taken from the start, so a second
   *  generation of it meanwhile is refused. `replaces`: made for a key rollover (enroll/key-rollover.ts),
   *  to replace the key of the certificate of that serial (settle() clears the mark). */
  async generateAsync(kind: KeyKind, label: string, bits: number, replaces?: string): Promise<StoredKey> {
    this.checkNew(label);
    this.generating.add(label);
    try {
      const privateKey = await new Promise<KeyObject>((resolve, reject) => {
        const done = (err: Error | null, _pub: KeyObject, priv: KeyObject) => (err ? reject(err) : resolve(priv));
        if (kind === 'rsa') generateKeyPair('rsa', { modulusLength: bits }, done);
        else if (kind === 'ec') generateKeyPair('ec', { namedCurve: 'prime256v1' }, done);
        else generateKeyPair('ed25519', {}, done);
      });
      return this.keep(kind, label, bits, privateKey, replaces);
    } finally {
      this.generating.delete(label);
    }
  }

  private checkNew(label: string): void {
    if (!LABEL.test(label)) throw new Error(`key label ${label}: letters, digits, "_", "-", "." (at most 64)`);
    if (this.keys.has(label)) throw new Error(`key pair ${label} exists (crypto key zeroize ${this.keys.get(label)!.kind} ${label} removes it)`);
    if (this.generating.has(label)) throw new Error(`key pair ${label} is being generated`);
  }

  private keep(kind: KeyKind, label: string, bits: number, privateKey: KeyObject, replaces?: string): StoredKey {
    const k: StoredKey = { kind, bits: kind === 'rsa' ? bits : 256, created: new Date().toISOString(), pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, ...(replaces ? { replaces } : {}) };
    this.keys.set(label, k);
    try { this.save(); } catch (e) { this.keys.delete(label); throw e; }
    return k;
  }

  /** The key pair `label` made to replace the key of certificate `serial` (generate's `replaces`), if any. */
  staged(label: string, serial: string): StoredKey | undefined {
    const k = this.keys.get(label);
    return k?.replaces !== undefined && k.replaces.toUpperCase() === serial.toUpperCase() ? k : undefined;
  }

  /** Key pair `label` is in use now (its rollover done): its `replaces` mark goes, saved at once. */
  settle(label: string): void {
    const k = this.keys.get(label);
    if (!k?.replaces) return;
    const { replaces, ...kept } = k;
    this.keys.set(label, kept);
    try { this.save(); } catch (e) { this.keys.set(label, { ...kept, replaces }); throw e; }
  }

  /** Removes key pair `label` (of `kind`, when given); false when there is none. The file is rewritten
   *  without it (its old blocks are not wiped on the medium: no secure erase here). */
  zeroize(label: string, kind?: KeyKind): boolean {
    const k = this.keys.get(label);
    if (!k || (kind && k.kind !== kind)) return false;
    this.keys.delete(label);
    try { this.save(); } catch (e) { this.keys.set(label, k); throw e; }
    return true;
  }

  publicKeys(): PublicKeyView[] {
    return [...this.keys].map(([label, k]) => ({ label, kind: k.kind, bits: k.bits, created: k.created,
      spki: createPublicKey(createPrivateKey(k.pem)).export({ type: 'spki', format: 'der' }) }));
  }

  private save(): void {
    writeFileAtomic(this.file, JSON.stringify({ version: 1, keys: Object.fromEntries(this.keys) }, null, 1) + '\n');
  }
}

