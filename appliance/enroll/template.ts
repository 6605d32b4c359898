// The spoke's configuration from the hub's template: `{{address}}`, `{{hostname}}`, `{{name}}` and
// `{{trustpoint}}` filled in, preceded by the enrollment trustpoint (the device key's label, terminal
// enrollment) and its certificate chain (the device certificate and the CA's) as the running-config
// holds them. Every ikev2 profile on the enrollment trustpoint gets `identity local fqdn <name>` (the
// device name its certificate carries, device-name.ts) unless the template set one: with its address as
// identity a spoke behind NAT could not authenticate (the certificate names no address of its). The result
// must load as a startup-config (the same loader the spoke will run) and is returned in running-config
// form, so what the spoke saves is what `show running-config` will print. With the listener's endpoint
// known, the trustpoint says where and when to renew: `enrollment url https://A:P` and `auto-enroll
// RENEW_PERCENT [regenerate]` (the spoke's renewal: cert-renewal.ts).
import { X509Certificate } from 'node:crypto';
import { parseStartupConfig } from '../config/load.js';
import { cryptoLines, renderConfig } from '../config/render.js';
import { pkiLines } from '../config/render-pki.js';
import type { ChainCert, KeyKind } from '../config/model-pki.js';

/** The trustpoint an enrolled spoke's config names, and the key-store label of its device key. */
export const ENROLL_TRUSTPOINT = 'DMVPN-ENROLL';
export const DEVICE_KEY_LABEL = 'DEVICE';

const PLACEHOLDER = /\{\{([^}]*)\}\}/g;

/** the share of a device certificate's lifetime after which the spoke renews it, in percent */
export const RENEW_PERCENT = 70;

/** where and how the spoke renews: the listener's address and port (`enrollment url`), and whether each
 *  renewal makes a new key pair (`auto-enroll ... regenerate`, the hub's `renewal regenerate`) */
export interface RenewAt { address: string; port: number; regenerate?: boolean }

/** `name`: the device name (its certificate's dNSName, its IKE identity) */
export interface SpokeValues { address: string; hostname: string; name: string }

/** The template with its placeholders filled in; throws naming an unknown one. */
export function fillTemplate(template: string, v: SpokeValues): string {
  const values: Record<string, string> = { address: v.address, hostname: v.hostname, name: v.name, trustpoint: ENROLL_TRUSTPOINT };
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    const val = values[name.trim()];
    if (val === undefined) throw new Error(`template: unknown placeholder {{${name}}} (known: ${Object.keys(values).join(', ')})`);
    return val;
  });
}

const KEY_KINDS: readonly string[] = ['ed25519', 'ec', 'rsa'] satisfies KeyKind[];

const chainCert = (pem: string, ca: boolean): ChainCert => { const c = new X509Certificate(pem); return { serial: c.serialNumber, ca, der: c.raw.toString('hex') }; };

/** The trustpoint and chain lines for the device certificate `certPem` issued under `caPem`, as the
 *  running-config prints them (render-pki.ts). */
function enrollmentPkiLines(certPem: string, caPem: string, renewAt?: RenewAt): string[] {
  const kind = new X509Certificate(certPem).publicKey.asymmetricKeyType ?? '';
  if (!KEY_KINDS.includes(kind)) throw new Error(`device key of type ${kind} has no trustpoint keypair command`);
  const renewal = renewAt ? { enrollment: `url https://${renewAt.address}:${renewAt.port}` as const, autoEnroll: RENEW_PERCENT, ...(renewAt.regenerate ? { autoEnrollRegenerate: true } : {}) } : { enrollment: 'terminal' as const };
  return [...pkiLines({
    trustpoints: [{ name: ENROLL_TRUSTPOINT, ...renewal, revocationNone: true, keyPair: { kind: kind as KeyKind, label: DEVICE_KEY_LABEL } }],
    chains: [{ name: ENROLL_TRUSTPOINT, certs: [chainCert(certPem, false), chainCert(caPem, true)] }],
  }), '!'];
}

/** The spoke's whole startup-config in running-config form; throws with the line a bad template gives. */
export function spokeConfig(template: string, v: SpokeValues, certPem: string, caPem: string, renewAt?: RenewAt): string {
  const text = [...enrollmentPkiLines(certPem, caPem, renewAt), fillTemplate(template, v)].join('\n');
  const r = parseStartupConfig(text);
  if (!r.ok) {
    const e = r.errors[0];
    throw new Error(`template: the spoke config does not load (line ${e.line}: ${e.message.replace(/^% /, '')})`);
  }
  const crypto = r.config.crypto;
  for (const p of crypto.ikev2?.profiles ?? []) {
    if (p.pkiTrustpoint !== ENROLL_TRUSTPOINT) continue;
    // another name would be one the certificate does not carry: the spoke refuses such an answer
    if (p.identityLocalFqdn !== undefined && p.identityLocalFqdn !== v.name) throw new Error(`template: ikev2 profile ${p.name}: identity local fqdn ${p.identityLocalFqdn} is not the device name (write {{name}} or leave it out)`);
    p.identityLocalFqdn = v.name;
  }
  crypto.lines = cryptoLines(crypto); // the running-config prints the crypto section from these
  return renderConfig(r.config);
}
