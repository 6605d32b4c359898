// A throw-away CA made by the openssl CLI for certificate tests: CA certificates, and end-entity
// certificates with IP (and DNS) subjectAltNames, either for a key openssl makes or for a public key given in PEM
// (a key an appliance generated: `-force_pubkey`, the CSR signed by a scratch key).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, X509Certificate } from 'node:crypto';

/** Key algorithms of the test certificates (openssl genpkey arguments). */
export type TestKeyKind = 'ecdsa' | 'ed25519' | 'rsa';
const KEY_ARGS: Record<TestKeyKind, string[]> = {
  ecdsa: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], ed25519: ['-algorithm', 'ed25519'], rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
};

/** The openssl extension file line for subjectAltName entries: an IPv4 address as IP, anything else as DNS. */
const sanExt = (names: string[]) => `subjectAltName=${names.map((n) => (/^\d+\.\d+\.\d+\.\d+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',')}\n`;

export class TestCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'hpk-ca-'));
  private serial = 0x10;
  ssl(...args: string[]): Buffer { return execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] }); }
  read(f: string): string { return readFileSync(join(this.dir, f), 'utf8'); }
  write(f: string, text: string): void { writeFileSync(join(this.dir, f), text); }

  /** A self-signed CA `name` (name.pem, name.key), ECDSA P-256 unless `kind` says otherwise. */
  ca(name: string, kind: TestKeyKind = 'ecdsa'): string {
    this.ssl('genpkey', ...KEY_ARGS[kind], '-out', `${name}.key`);
    this.ssl('req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-days', '2', '-set_serial', '1', '-out', `${name}.pem`);
    return this.read(`${name}.pem`);
  }

  /** A key `name.key` of `kind`, a request for it (name.csr) and the SAN extension file (name.ext). */
  private request(name: string, ips: string[], kind: TestKeyKind): void {
    this.ssl('genpkey', ...KEY_ARGS[kind], '-out', `${name}.key`);
    this.ssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
    this.write(`${name}.ext`, sanExt(ips));
  }

  /** An end-entity certificate for `name` (key name.key, ECDSA P-256 unless `kind`) signed by `issuer`,
   *  SAN IPs (or DNS names) `ips`; for `publicKeyPem` instead when given. */
  leaf(name: string, issuer: string, ips: string[], publicKeyPem?: string, kind: TestKeyKind = 'ecdsa'): string {
    this.request(name, ips, kind);
    const force = publicKeyPem ? (this.write(`${name}.pub`, publicKeyPem), ['-force_pubkey', `${name}.pub`]) : [];
    this.ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-set_serial', String(this.serial++),
      '-days', '2', '-extfile', `${name}.ext`, ...force, '-out', `${name}.pem`);
    return this.read(`${name}.pem`);
  }

  /** A certificate for the PKCS#10 request `csrPem` (an appliance's `crypto pki enroll`), signed by `issuer`, SAN IPs `ips`. */
  signRequest(name: string, issuer: string, csrPem: string, ips: string[]): string {
    this.write(`${name}.csr`, csrPem);
    this.ssl('req', '-in', `${name}.csr`, '-verify', '-noout');
    this.write(`${name}.ext`, sanExt(ips));
    this.ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-set_serial', String(this.serial++),
      '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
    return this.read(`${name}.pem`);
  }

  /** An end-entity certificate (and its key, name.key) that expired in 2020, by `openssl ca` (`x509` cannot back-date). */
  expiredLeaf(name: string, issuer: string, ips: string[]): string {
    this.request(name, ips, 'ecdsa');
    this.write('index.txt', '');
    this.write('serial', '1000\n');
    this.write('ca.cnf', '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n');
    this.ssl('ca', '-batch', '-config', 'ca.cnf', '-cert', `${issuer}.pem`, '-keyfile', `${issuer}.key`, '-in', `${name}.csr`, '-startdate', '20200101000000Z',
      '-enddate', '20200102000000Z', '-extfile', `${name}.ext`, '-notext', '-out', `${name}.pem`);
    return this.read(`${name}.pem`);
  }

  close(): void { rmSync(this.dir, { recursive: true, force: true }); }
}

/** DER hex of a PEM certificate. */
export const derHex = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64').toString('hex');

/** The running-config block IOS prints for a certificate (`certificate [ca] SERIAL`, hex lines, quit). */
export function certBlock(pem: string, serial: string, ca: boolean): string[] {
  const hex = derHex(pem).toUpperCase().match(/.{1,8}/g)!;
  const out = [` certificate ${ca ? 'ca ' : ''}${serial}`];
  for (let i = 0; i < hex.length; i += 8) out.push(`  ${hex.slice(i, i + 8).join(' ')}`);
  return [...out, '  \tquit'];
}

/** The public key `show crypto key mypubkey` prints (IOS's Key Data hex: SubjectPublicKeyInfo DER), as PEM. */
export function publicKeyOf(shown: string): string {
  const hex = shown.split('Key Data:')[1].split('\n').filter((l) => /^ {2}[0-9A-F ]+$/.test(l)).join('').replace(/\s+/g, '');
  return createPublicKey({ key: Buffer.from(hex, 'hex'), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }) as string;
}

/** Configuration-mode lines that give trustpoint `tp` our certificate and its CA's, as the running-config has them. */
export function chainTyping(tp: string, own: string, caPem: string): string[] {
  const serial = (pem: string) => new X509Certificate(pem).serialNumber;
  return ['configure terminal', `crypto pki certificate chain ${tp}`, ...certBlock(own, serial(own), false), ...certBlock(caPem, serial(caPem), true), 'end'];
}

/** The crypto block of the certificate lab tests: trustpoint LAB-CA with the EC key `keyLabel`, an
 *  IKEv2 profile that signs and verifies with ECDSA through it, and seed 003's transform set and ipsec
 *  profile naming that IKEv2 profile, protecting Tunnel0. */
export const certCryptoBlock = (keyLabel: string) => `crypto pki trustpoint LAB-CA
 enrollment terminal
 revocation-check none
 eckeypair ${keyLabel}
crypto ikev2 proposal P
 encryption aes-cbc-256
 integrity sha256
 group 19
crypto ikev2 policy POL
 proposal P
crypto ikev2 profile IKEV2PROF
 match identity remote address 172.16.0.0 255.255.0.0
 authentication remote ecdsa-sig
 authentication local ecdsa-sig
 pki trustpoint LAB-CA
crypto ipsec transform-set MyTransformSet esp-aes esp-sha-hmac
crypto ipsec profile MyProfile
 set transform-set MyTransformSet
 set ikev2-profile IKEV2PROF
interface Tunnel0
 tunnel protection ipsec profile MyProfile
`;
