// The spoke side of enrollment: one TLS exchange with the hub whose key is pinned, and the checks an
// answer must pass before anything of it is kept. The TLS certificate chain is not checked against a CA
// (a factory box has no CA and may have no clock yet): the hub is authenticated by the SHA-256 of its
// public key from the provisioning file, compared before the request (with the token's secret) is sent.
import tls from 'node:tls';
import { createHash, createPrivateKey, createPublicKey, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto';
import { FrameReader, frame, decodeAnswer, MAX_ANSWER, PROTOCOL_VERSION, type EnrollAnswer } from './codec.js';
import type { HubTarget } from './provisioning.js';
import { ENROLL_TRUSTPOINT, DEVICE_KEY_LABEL } from './template.js';
import { parseStartupConfig } from '../config/load.js';
import { chainCerts, trustpointOf } from '../config/model-pki.js';
import { certNamesHost, issuerOf } from '../ike/tasks/v2/cert-auth.js';
import { proveKey, sessionBinder } from './key-proof.js';

export class EnrollError extends Error {}

/**
 * One exchange with the hub at `host`:`port` over TLS 1.3: `hubProblem` judges the hub's certificate
 * once the handshake is done (the request is sent only if it returns undefined), then one request and
 * one answer (`request` may be made from the established session: key-proof.ts). Resolves with the
 * answer; rejects with an EnrollError saying what failed.
 */
function exchange(host: string, port: number, extra: tls.ConnectionOptions, hubProblem: (cert: X509Certificate | undefined) => string | undefined,
  request: object | ((s: tls.TLSSocket) => object), timeoutMs: number): Promise<EnrollAnswer> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => { sock.destroy(); reject(new EnrollError(why)); };
    // no CA check by TLS (rejectUnauthorized false): hubProblem is the check, made before anything is sent
    const sock = tls.connect({ host, port, minVersion: 'TLSv1.3', rejectUnauthorized: false, ...extra });
    const timer = setTimeout(() => fail(`no answer from ${host} within ${timeoutMs / 1000} s`), timeoutMs);
    const reader = new FrameReader(MAX_ANSWER);
    sock.on('secureConnect', () => {
      const why = hubProblem(sock.getPeerX509Certificate());
      if (why) { clearTimeout(timer); fail(why); return; }
      sock.write(frame(typeof request === 'function' ? request(sock) : request));
    });
    sock.on('data', (b: Buffer) => {
      const r = reader.push(b);
      if (r.error) { clearTimeout(timer); fail(`answer refused: ${r.error}`); return; }
      if (!r.body) return;
      clearTimeout(timer);
      const a = decodeAnswer(r.body);
      sock.end();
      if (typeof a === 'string') reject(new EnrollError(`answer refused: ${a}`)); else resolve(a);
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(new EnrollError(`${host}: ${e.message}`)); });
    sock.on('close', () => { clearTimeout(timer); reject(new EnrollError(`${host} closed the connection without an answer`)); });
  });
}

/** One enrollment request to the hub, whose key must be the pinned one. */
export function requestEnrollment(p: HubTarget, csrPem: string, timeoutMs = 20_000): Promise<EnrollAnswer> {
  const pinned = (cert: X509Certificate | undefined) => {
    const spki = cert?.publicKey.export({ type: 'spki', format: 'der' });
    const got = spki ? createHash('sha256').update(spki).digest() : Buffer.alloc(32);
    return spki && timingSafeEqual(got, p.pin) ? undefined : `hub ${p.hub} presented key sha256//${got.toString('base64')}, not the pinned one: nothing sent`;
  };
  return exchange(p.hub, p.port, {}, pinned, { v: PROTOCOL_VERSION, token: p.token, secret: p.secret, csr: csrPem }, timeoutMs);
}

const der = (pem: string) => new X509Certificate(pem).raw.toString('hex');

/** Why an admitted answer cannot be used by the device with key `deviceKey`, or undefined when it can:
 *  a certificate for our key, issued (signature) by the CA given, carrying the tunnel address as SAN,
 *  and a config that loads, names our key, holds exactly these certificates and claims as IKE identity
 *  only a name the certificate carries (else IKE would refuse the profile after the config is saved). */
export function answerProblem(a: Extract<EnrollAnswer, { status: 'admitted' }>, deviceKey: KeyObject): string | undefined {
  let cert: X509Certificate, ca: X509Certificate;
  try { cert = new X509Certificate(a.certificate); ca = new X509Certificate(a.ca); } catch { return 'a certificate does not parse'; }
  const ours = createPublicKey(deviceKey).export({ type: 'spki', format: 'der' });
  if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(ours)) return 'the certificate is not for our device key';
  if (!ca.ca) return 'the CA certificate is not a CA';
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'the certificate is not signed by the CA given';
  if (!(cert.subjectAltName ?? '').split(', ').includes(`IP Address:${a.address}`)) return `the certificate does not name ${a.address}`;
  const r = parseStartupConfig(a.config);
  if (!r.ok) return `the config does not load (line ${r.errors[0].line}: ${r.errors[0].message})`;
  const tp = trustpointOf(r.config.crypto, ENROLL_TRUSTPOINT);
  if (tp?.keyPair?.label !== DEVICE_KEY_LABEL) return `the config's trustpoint ${ENROLL_TRUSTPOINT} does not name key pair ${DEVICE_KEY_LABEL}`;
  const chain = chainCerts(r.config.crypto.pki, ENROLL_TRUSTPOINT);
  if (chain.length !== 2 || !chain.some((c) => !c.ca && c.der === der(a.certificate)) || !chain.some((c) => c.ca && c.der === der(a.ca))) return 'the config\'s certificate chain is not the certificates given';
  const unnamed = (r.config.crypto.ikev2?.profiles ?? []).find((p) => p.pkiTrustpoint === ENROLL_TRUSTPOINT && p.identityLocalFqdn !== undefined && !certNamesHost(cert, p.identityLocalFqdn));
  if (unnamed) return `the config's identity ${unnamed.identityLocalFqdn} is not a name the certificate carries`;
  const tunnel = r.config.interfaces.find((i) => i.kind === 'tunnel');
  if (tunnel?.address?.address !== a.address) return `the config's tunnel address is not ${a.address}`;
  return undefined;
}

/** The device's credentials for a renewal: its certificate and key (the TLS client identity) and the
 *  CA of its trustpoint, which must have issued the hub's TLS certificate. */
export interface RenewCredentials {
  certPem: string; keyPem: string; caPem: string;
  /** `auto-enroll regenerate`: the new key pair the certificate is asked for (its proof goes along) */
  newKeyPem?: string;
}

/**
 * A renewal request to the enrollment server at `at` (the trustpoint's `enrollment url`). The hub is
 * authenticated by its TLS certificate being issued by our trustpoint's CA (the provisioning pin is not
 * kept after enrollment); a certificate a fellow device holds is issued by that CA too, but an answer is
 * only kept if renewalProblem passes, which no one without the CA key can make it.
 */
/** hubProblem of an enrolled device: the hub's TLS certificate must be issued by our trustpoint's CA */
const issuedBy = (caPem: string, host: string) => (hub: X509Certificate | undefined) =>
  hub && issuerOf(hub, [new X509Certificate(caPem)]) ? undefined : `hub ${host}: its TLS certificate is not issued by our trustpoint's CA: nothing sent`;

export function requestRenewal(at: { host: string; port: number }, c: RenewCredentials, timeoutMs = 20_000): Promise<EnrollAnswer> {
  const issuedByOurCa = issuedBy(c.caPem, at.host);
  const request = (s: tls.TLSSocket) => {
    if (!c.newKeyPem) return { v: PROTOCOL_VERSION, renew: true };
    const p = proveKey(createPrivateKey(c.newKeyPem), sessionBinder(s));
    return { v: PROTOCOL_VERSION, renew: true, spki: p.spki.toString('base64'), proof: p.sig.toString('base64') };
  };
  return exchange(at.host, at.port, { cert: c.certPem, key: c.keyPem }, issuedByOurCa, request, timeoutMs);
}

/** The hub's current CRL, asked of the enrollment server at `at`, authenticated as for a renewal. The
 *  answer is only used once its signature verifies with our CA (crl-store.ts): the hub is not trusted
 *  further than that. */
export function requestCrl(at: { host: string; port: number }, caPem: string, timeoutMs = 20_000): Promise<EnrollAnswer> {
  return exchange(at.host, at.port, {}, issuedBy(caPem, at.host), { v: PROTOCOL_VERSION, crl: true }, timeoutMs);
}

/** The subjectAltName entries of a certificate, sorted (what a renewal must keep unchanged). */
const sanOf = (c: X509Certificate) => (c.subjectAltName ?? '').split(/,\s*/).filter(Boolean).sort().join(', ');

/** Why a renewed certificate cannot replace `old`, or undefined when it can: for our key, issued by our
 *  CA (the same CA certificate: a CA change is a new enrollment), the same names, and lasting longer. */
export function renewalProblem(a: Extract<EnrollAnswer, { status: 'renewed' }>, deviceKey: KeyObject, oldPem: string, caPem: string): string | undefined {
  let cert: X509Certificate, old: X509Certificate, ca: X509Certificate, theirs: X509Certificate;
  try { cert = new X509Certificate(a.certificate); old = new X509Certificate(oldPem); ca = new X509Certificate(caPem); theirs = new X509Certificate(a.ca); } catch { return 'a certificate does not parse'; }
  const ours = createPublicKey(deviceKey).export({ type: 'spki', format: 'der' });
  if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(ours)) return 'the certificate is not for our device key';
  if (!theirs.raw.equals(ca.raw)) return 'the hub names another CA (a CA change needs a new enrollment)';
  if (!issuerOf(cert, [ca])) return 'the certificate is not signed by our CA';
  if (sanOf(cert) !== sanOf(old)) return `the certificate names ${sanOf(cert)}, not ${sanOf(old)}`;
  if (Date.parse(cert.validTo) <= Date.parse(old.validTo)) return `the certificate ends ${cert.validTo}, not after the one we hold (${old.validTo})`;
  return undefined;
}
