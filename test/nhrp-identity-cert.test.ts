// Certificate identity bound to the tunnel address (issue 10): with IKEv2 certificate authentication a
// spoke's certificate names, as subjectAltName IP addresses, its IKE identity (its NBMA address) and
// the tunnel address it may register. The hub's IKEv2 manager authenticates two spokes by certificate
// (openssl CLI: one CA; A names 172.16.25.2 and 10.0.0.2, B names 172.16.35.2 and 10.0.0.3); the
// SAs keep the certificates' addresses; the hub's NHRP engine, with the supervisor's identity
// binding fed from those SAs, takes a registration only for an address the sender's certificate names.
// Attack: B, with a valid certificate of its own, registers A's address before A does (with a
// pre-shared key, first registration wins; here it is refused), and purges it after; both refused,
// counted and logged. A certificate naming no tunnel address registers nothing.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNhrp } from '../appliance/nhrp/codec.js';
import { CieCode, NhrpType } from '../appliance/nhrp/types.js';
import type { NhrpMessage } from '../appliance/nhrp/types.js';
import type { IkeSaV2 } from '../appliance/ike/sa/ike-sa-v2.js';
import { NhrpIdentityBinding } from '../appliance/supervisor/nhrp-identity.js';
import { ike2Pair, v2Policy } from './util/ike2.js';
import { Net, Node, tunnel } from './util/nhrp-net.js';
import { cie } from './util/nhrp-samples.js';
import { requireTools } from './util/needs.js';

requireTools(t, ['openssl']);
const dir = mkdtempSync(join(tmpdir(), 'nhrp-id-cert-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const read = (f: string) => readFileSync(join(dir, f), 'utf8');
const EC = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];

ssl('genpkey', ...EC, '-out', 'ca.key');
ssl('req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=lab CA', '-days', '2', '-out', 'ca.pem');
function leaf(name: string, ips: string[]): void {
  ssl('genpkey', ...EC, '-out', `${name}.key`);
  ssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${ips.map((i) => `IP:${i}`).join(',')}\n`);
  ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
}
const HUB = { ip: '10.0.0.1', nbma: '172.16.15.2' };
const A = { ip: '10.0.0.2', nbma: '172.16.25.2' };
const B = { ip: '10.0.0.3', nbma: '172.16.35.2' };
const C = { ip: '10.0.0.4', nbma: '172.16.45.2' }; // its certificate names no tunnel address
leaf('hub', [HUB.nbma]);
leaf('a', [A.nbma, A.ip]);
leaf('b', [B.nbma, B.ip]);
leaf('c', [C.nbma]);
const policy = (name: string) => v2Policy({ certificate: { cert: read(`${name}.pem`), key: read(`${name}.key`), trusted: [read('ca.pem')] } });

/** The hub's IKEv2 SA with `spoke`, authenticated by certificates (a fresh manager pair per spoke). */
async function hubSaWith(spoke: { nbma: string }, name: string): Promise<IkeSaV2 | undefined> {
  const p = ike2Pair(policy(name), policy('hub'), { aAddr: spoke.nbma, bAddr: HUB.nbma });
  p.a.m.initiate(HUB.nbma);
  await p.settle();
  const sa = p.b.m.sas.find((s) => s.peerId === spoke.nbma && s.state === 'READY');
  p.close();
  return sa;
}

t.test('registrations are accepted only for a tunnel address the sender\'s certificate names', async (t) => {
  const sas = [await hubSaWith(A, 'a'), await hubSaWith(B, 'b'), await hubSaWith(C, 'c')];
  t.ok(sas.every(Boolean), 'the hub authenticated A, B and C by certificate');
  t.same(sas.map((s) => s?.peerCertAddresses), [[A.nbma, A.ip], [B.nbma, B.ip], [C.nbma]], 'each SA keeps the addresses its certificate names');

  // the hub's NHRP engine with the supervisor's binding; identity and certificate come from the SAs
  // above, as the overlay takes them from the inbound SA a packet arrived on
  const net = new Net();
  let identity: string | undefined;
  const binding = new NhrpIdentityBinding({ identity: () => identity, certified: (id) => sas.find((s) => s?.peerId === id)?.peerCertAddresses });
  const hub = new Node(net, HUB, tunnel(), { ownership: { check: (ip) => binding.check(ip), bind: (ip) => binding.bind(ip), isOwner: (ip) => binding.isOwner(ip) } });
  hub.engine.start();
  const from = (nbma: string, m: Partial<NhrpMessage> & Pick<NhrpMessage, 'type' | 'srcProto' | 'dstProto'>, id = nbma) => {
    identity = id; // each spoke's IKE identity is its address
    try { hub.engine.receive(nbma, HUB.nbma, encodeNhrp({ hopCount: 64, srcNbma: nbma, flags: 0, requestId: 1, cies: [], extensions: [], ...m })); }
    finally { identity = undefined; }
  };
  const register = (nbma: string, ip: string) =>
    from(nbma, { type: NhrpType.RegistrationRequest, srcProto: ip, dstProto: HUB.ip, requestId: Math.floor(Math.random() * 1e6), cies: [cie({ prefixLen: 0xff })] });
  const refused = (k: string) => hub.engine.counters().refused[k] ?? 0;
  const lastCode = (to: string) => net.of(NhrpType.RegistrationReply, HUB.nbma, to).at(-1)?.msg.cies[0]?.code;

  register(B.nbma, A.ip);
  t.notOk(hub.entry(A.ip), 'B registering A\'s address first: no cache entry (a pre-shared key would have let it in)');
  t.equal(lastCode(B.nbma), CieCode.AdministrativelyProhibited, 'B is told no');
  t.equal(refused('registration-identity'), 1, 'counted under registration-identity');
  t.ok(hub.logged(/registration of 10\.0\.0\.2 from NBMA 172\.16\.35\.2 refused: the certificate of IKE identity 172\.16\.35\.2 names 172\.16\.35\.2, 10\.0\.0\.3, not 10\.0\.0\.2/).length,
    'logged with the certificate\'s addresses');

  register(A.nbma, A.ip);
  t.match(hub.entry(A.ip), { nbma: A.nbma, flags: { registered: true } }, 'A registers its own address');
  t.equal(lastCode(A.nbma), CieCode.Success);
  register(B.nbma, B.ip);
  t.match(hub.entry(B.ip), { nbma: B.nbma, flags: { registered: true } }, 'B registers its own address');

  // B behind the same NAT as A (one public address, so the purge passes the NBMA ownership test) over its own SA
  from(A.nbma, { type: NhrpType.PurgeRequest, srcProto: B.ip, dstProto: HUB.ip, requestId: 7, cies: [cie({ proto: A.ip, prefixLen: 32 })] }, B.nbma);
  t.match(hub.entry(A.ip), { nbma: A.nbma }, 'B cannot purge A\'s address');
  t.equal(refused('purge-identity'), 1, 'counted under purge-identity');

  register(C.nbma, C.ip);
  t.notOk(hub.entry(C.ip), 'a certificate naming no tunnel address registers nothing');
  t.equal(refused('registration-identity'), 2);

  // the same packet authenticated by pre-shared key (no certificate): the binding alone, first registration wins
  const psk = new NhrpIdentityBinding({ identity: () => B.nbma, certified: () => undefined });
  t.equal(psk.check('10.0.0.9'), undefined, 'without a certificate an unbound address is free to claim');
});
