// The spoke side of enrollment: one TLS exchange with the hub whose key is pinned, and the checks an
// answer must pass before anything of it is kept. The TLS certificate chain is not checked against a CA
// (a factory box has no CA and may have no clock yet): the hub is authenticated by the SHA-256 of its
// public key from the provisioning file, compared before the request (with the token's secret) is sent.
import tls from 'node:tls';
import { createHash, createPublicKey, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto';
import { FrameReader, frame, decodeAnswer, MAX_ANSWER, PROTOCOL_VERSION, type EnrollAnswer } from './codec.js';
import type { HubTarget } from './provisioning.js';
import { ENROLL_TRUSTPOINT, DEVICE_KEY_LABEL } from './template.js';
import { parseStartupConfig } from '../config/load.js';
import { chainCerts, trustpointOf } from '../config/model-pki.js';
import { certNamesHost } from '../ike/tasks/v2/cert-auth.js';

export class EnrollError extends Error {}

/** One request to the hub: resolves with its answer; rejects with an EnrollError saying what failed. */
export function requestEnrollment(p: HubTarget, csrPem: string, timeoutMs = 20_000): Promise<EnrollAnswer> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => { sock.destroy(); reject(new EnrollError(why)); };
    // no CA check (rejectUnauthorized false): the pin below is the check, made before anything is sent
    const sock = tls.connect({ host: p.hub, port: p.port, minVersion: 'TLSv1.3', rejectUnauthorized: false });
    const timer = setTimeout(() => fail(`no answer from ${p.hub} within ${timeoutMs / 1000} s`), timeoutMs);
    const reader = new FrameReader(MAX_ANSWER);
    sock.on('secureConnect', () => {
      const cert = sock.getPeerX509Certificate();
      const spki = cert?.publicKey.export({ type: 'spki', format: 'der' });
      const got = spki ? createHash('sha256').update(spki).digest() : Buffer.alloc(32);
      if (!spki || !timingSafeEqual(got, p.pin)) { clearTimeout(timer); fail(`hub ${p.hub} presented key sha256//${got.toString('base64')}, not the pinned one: nothing sent`); return; }
      sock.write(frame({ v: PROTOCOL_VERSION, token: p.token, secret: p.secret, csr: csrPem }));
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
    sock.on('error', (e) => { clearTimeout(timer); reject(new EnrollError(`${p.hub}: ${e.message}`)); });
    sock.on('close', () => { clearTimeout(timer); reject(new EnrollError(`${p.hub} closed the connection without an answer`)); });
  });
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
