// PKI commands of a running appliance. `crypto key generate|zeroize` (the key store: key-store.ts),
// `crypto pki authenticate NAME` (the CA certificate) and `crypto pki import NAME certificate` (ours),
// both reading a pasted PEM block until a blank line or `quit`, as IOS does in global configuration
// mode (also accepted in privileged exec). A pasted certificate becomes the `crypto pki certificate
// chain` lines it would be in the running-config and goes through the config grammar and live apply
// like typed lines, so the checks (X.509, serial, CA flag) and the all-or-nothing apply are the same.
// `show crypto key mypubkey`, `show crypto pki certificates|trustpoints` (show/crypto-pki.ts).
import { X509Certificate } from 'node:crypto';
import type { Args } from '../cli/tree.js';
import type { ApplianceConfig } from '../config/model.js';
import { chainCerts, trustpointOf, type KeyKind } from '../config/model-pki.js';
import { configTrees } from '../config/grammar.js';
import { runConfigLine, type ModeState } from '../config/modes.js';
import { derHexLines } from '../config/render-pki.js';
import { errorMessage } from '../cli/match.js';
import type { PasteRequest } from '../console/session.js';
import { certOf, notIssuedBy, trustpointKey } from '../ike/pki/trustpoint.js';
import { certificateRequest } from '../ike/pki/csr.js';
import { formatMyPubkey, formatPkiCertificates, formatPkiTrustpoints } from '../show/crypto-pki.js';
import type { KeyStore } from './key-store.js';

export interface PkiHost {
  config(): ApplianceConfig;
  /** live apply, which refuses a chain certificate that pkiRefusal refuses (Appliance.reconfigure) */
  reconfigure(next: ApplianceConfig): Promise<{ ok: boolean; message?: string }>;
  keys(): KeyStore | undefined;
}

type Handler = (a: Args) => string;

/** The DER of a pasted PEM certificate (BEGIN/END lines optional, as IOS takes bare base64), or why not. */
function pastedCertificate(text: string): X509Certificate | string {
  const body = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('-----')).join('');
  if (!body) return 'no certificate pasted';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4) return 'not base64 (paste the PEM block: -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)';
  try { return new X509Certificate(Buffer.from(body, 'base64')); } catch (e) { return `not an X.509 certificate (${(e as Error).message})`; }
}

/** `cfg` with `cert` added to trustpoint `tp`'s chain, through the config grammar, or the refusal. */
function withChainCertificate(cfg: ApplianceConfig, tp: string, cert: X509Certificate, ca: boolean): ApplianceConfig | string {
  const next = structuredClone(cfg);
  const lines = [`crypto pki certificate chain ${tp}`, ` certificate ${ca ? 'ca ' : ''}${cert.serialNumber}`, ...derHexLines(cert.raw.toString('hex')), '  quit', 'end'];
  let mode: ModeState = { id: 'config' };
  for (const l of lines) {
    const r = runConfigLine(configTrees(), mode, next, l);
    if (!r.ok) return r.error.kind === 'action' ? r.error.message : errorMessage(r.error);
    mode = r.mode;
  }
  return next;
}

export function pkiCommands(host: PkiHost): { exec: Record<string, Handler>; configExec: Record<string, (a: Args) => string | Promise<string> | PasteRequest> } {
  const store = () => { const k = host.keys(); if (!k) throw new Error('no key store (the appliance runs without a startup-config file)'); return k; };
  const guarded = (f: (a: Args) => string): Handler => (a) => { try { return f(a); } catch (e) { return `% ${(e as Error).message}\n`; } };

  // asynchronous: an RSA key of 4096 bits takes seconds, which must not stop NHRP and IKE
  const generate = (kind: KeyKind) => async (a: Args): Promise<string> => {
    try {
      const k = await store().generateAsync(kind, a.p.label, Number(a.p.bits ?? 2048)); // the modulus counts for RSA only
      const what = kind === 'rsa' ? `${k.bits} bit RSA keys` : kind === 'ec' ? '256 bit EC keys (P-256)' : 'Ed25519 keys (not IOS: this appliance\'s extension, RFC 8420)';
      return `The name for the keys will be: ${a.p.label}\n% Generating ${what}, keys will be non-exportable...\n[OK] (kept in the key store ${store().file}, mode 0600)\n`;
    } catch (e) { return `% ${(e as Error).message}\n`; }
  };
  const zeroize = (kind: KeyKind) => guarded((a) => {
    if (!store().zeroize(a.p.label, kind)) return `% No ${kind} key pair named ${a.p.label}\n`;
    const users = (host.config().crypto.pki?.trustpoints ?? []).filter((t) => t.keyPair?.label === a.p.label).map((t) => t.name);
    return `% Key pair ${a.p.label} removed${users.length ? `; trustpoint ${users.join(', ')} now has no key (its certificate cannot be used)` : ''}\n`;
  });

  const paste = (what: string, accept: (tp: string, cert: X509Certificate) => string | undefined, ca: boolean) => (a: Args): string | PasteRequest => {
    const tp = a.p.name;
    if (!trustpointOf(host.config().crypto, tp)) return `% trustpoint ${tp} is not defined (crypto pki trustpoint ${tp})\n`;
    return {
      intro: `Enter the base 64 encoded ${what}.\nEnd with a blank line or the word "quit" on a line by itself\n`,
      finish: async (text) => {
        const cert = pastedCertificate(text);
        if (typeof cert === 'string') return `% ${what} refused: ${cert}\n`;
        const why = accept(tp, cert);
        if (why) return `% ${what} refused: ${why}\n`;
        const next = withChainCertificate(host.config(), tp, cert, ca);
        if (typeof next === 'string') return `% ${what} refused: ${next}\n`;
        const r = await host.reconfigure(next);
        if (!r.ok) return `% ${what} refused: ${r.message ?? 'configuration rejected'}\n`;
        return `Certificate has the following attributes:\n       Fingerprint SHA256: ${cert.fingerprint256.replace(/:/g, '')}\n` +
          `% ${ca ? 'Certificate successfully imported' : 'Router Certificate successfully imported'}\n`;
      },
    };
  };
  const acceptCa = (_tp: string, cert: X509Certificate) => (cert.ca ? undefined : 'not a CA certificate (basicConstraints CA:FALSE or absent)');
  // the certificate's key pair and issuer are checked by live apply (pkiRefusal, the check of a typed
  // chain block too); IOS's import also wants the CA authenticated first
  const acceptOwn = (tp: string) => (chainCerts(host.config().crypto.pki, tp).some((c) => c.ca)
    ? undefined : `trustpoint ${tp} has no CA certificate yet (crypto pki authenticate ${tp} first)`);

  const configExec: Record<string, (a: Args) => string | Promise<string> | PasteRequest> = {
    'crypto key generate rsa label {label:word}': generate('rsa'),
    'crypto key generate rsa label {label:word} modulus {bits:range:2048-4096}': generate('rsa'),
    'crypto key generate rsa general-keys label {label:word}': generate('rsa'),
    'crypto key generate rsa general-keys label {label:word} modulus {bits:range:2048-4096}': generate('rsa'),
    'crypto key generate ec keysize 256 label {label:word}': generate('ec'),
    'crypto key generate ec label {label:word}': generate('ec'),
    'crypto key generate ed25519 label {label:word}': generate('ed25519'),
    'crypto key zeroize rsa {label:word}': zeroize('rsa'),
    'crypto key zeroize ec {label:word}': zeroize('ec'),
    'crypto key zeroize ed25519 {label:word}': zeroize('ed25519'),
    'crypto pki authenticate {name:word}': paste('CA certificate', acceptCa, true),
    'crypto pki import {name:word} certificate': paste('certificate', acceptOwn, false),
    'crypto pki enroll {name:word}': guarded((a) => enroll(host, a.p.name)),
  };
  const pub = (kind?: KeyKind) => (json: boolean) => formatMyPubkey(host.keys()?.publicKeys() ?? [], kind, json);
  const exec: Record<string, Handler> = {};
  // every show command also answers `<command> json`
  const both = (spec: string, f: (json: boolean, a: Args) => string) => { exec[spec] = (a) => f(false, a); exec[`${spec} json`] = (a) => f(true, a); };
  both('show crypto key mypubkey', pub());
  for (const k of ['rsa', 'ec', 'ed25519'] as const) both(`show crypto key mypubkey ${k}`, pub(k));
  both('show crypto pki certificates', (json) => formatPkiCertificates(host.config().crypto.pki, undefined, json));
  both('show crypto pki certificates {name:word}', (json, a) => formatPkiCertificates(host.config().crypto.pki, a.p.name, json));
  both('show crypto pki trustpoints', (json) => formatPkiTrustpoints(host.config().crypto.pki, json));
  return { exec, configExec };
}

/** `crypto pki enroll NAME` (enrollment terminal): a PKCS#10 request for the trustpoint's key, printed. */
function enroll(host: PkiHost, name: string): string {
  const cfg = host.config();
  const tp = trustpointOf(cfg.crypto, name);
  if (!tp) return `% trustpoint ${name} is not defined\n`;
  const k = trustpointKey(tp, host.keys()?.lookup);
  if (!k.ok) return `% ${k.reason}\n`;
  const subject = tp.subjectName ?? `CN=${cfg.hostname}`;
  const csr = certificateRequest(k.value.key, subject, tp.ipAddress);
  return `% Start certificate enrollment ..\n% The subject name in the certificate will include: ${subject}\n` +
    (tp.ipAddress ? `% The IP address in the certificate is ${tp.ipAddress}\n` : '') +
    `\nCertificate Request follows:\n\n${csr}\n---End - This line not part of the certificate request---\n`;
}

/**
 * Live apply's PKI check: a certificate added to a chain must be for its trustpoint's key pair (the key
 * store) and issued by a CA of that chain; otherwise the change is refused naming the problem. Checked
 * only for certificates that are new, so a key removed later does not block unrelated edits.
 */
export function pkiRefusal(prev: ApplianceConfig, next: ApplianceConfig, keys: KeyStore | undefined): string | undefined {
  const old = new Set((prev.crypto.pki?.chains ?? []).flatMap((ch) => ch.certs.map((c) => `${ch.name}/${c.der}`)));
  for (const ch of next.crypto.pki?.chains ?? []) {
    const tp = trustpointOf(next.crypto, ch.name);
    if (!tp) return `certificate chain ${ch.name}: trustpoint ${ch.name} is not defined`;
    const cas = ch.certs.filter((c) => c.ca).map(certOf);
    for (const c of ch.certs.filter((x) => !x.ca && !old.has(`${ch.name}/${x.der}`))) {
      const cert = certOf(c);
      const k = trustpointKey(tp, keys?.lookup, cert);
      if (!k.ok) return k.reason;
      if (cas.length) { const why = notIssuedBy(cert, cas, ch.name); if (why) return why; }
    }
  }
  return undefined;
}
