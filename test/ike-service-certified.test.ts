// IkeService.certifiedAddresses (identity-bound NHRP with certificates, supervisor/nhrp-identity.ts):
// the addresses the certificate of an identity names come from that identity's newest established IKE
// SA that was authenticated by certificate; an identity authenticated by pre-shared key has none (the
// binding then falls back to "first registration wins"). Two services on loopback, real UDP, a fake
// SA ring (as test/ike-service-outbound.test.ts); the certificate addresses are set on the SA as
// IKEv2 certificate authentication sets them (test/nhrp-identity-cert.test.ts proves that part).
import t from 'tap';
import { IkeService } from '../appliance/supervisor/ike-service.js';
import { loopbackSaRing, seedCrypto } from './util/ike.js';
import { waitFor } from './util/lab.js';

const crypto = { ...seedCrypto(), isakmpKeys: [{ key: 'P4ssw0rd', address: '127.0.0.0', mask: '255.0.0.0' }] };
const service = (local: string, port: number, other: () => IkeService) => new IkeService({ crypto, profile: 'MyProfile', local, port,
  sa: loopbackSaRing(local, other), firstIndex: 0, capacity: 64, sendNhrp: () => true, log: () => {} });

t.test('certified addresses: from the identity\'s newest established SA authenticated by certificate', async (t) => {
  const base = 21000 + (process.pid % 20000);
  const a: IkeService = service('127.0.0.1', base, () => b), b: IkeService = service('127.0.0.2', base + 1, () => a);
  t.teardown(() => { a.stop(); b.stop(); });
  await a.start(); await b.start();
  a.engine.initiate('127.0.0.2', base + 1);
  t.ok(await waitFor(() => b.engine.sas.some((s) => b.engine.isEstablished(s)), 20000, 50), 'established');
  const sa = b.engine.sas.find((s) => b.engine.isEstablished(s))!;
  t.equal(sa.peerId, '127.0.0.1', 'the identity');
  t.equal(b.certifiedAddresses('127.0.0.1'), undefined, 'pre-shared key: no certificate addresses');
  (sa as { peerCertAddresses?: string[] }).peerCertAddresses = ['127.0.0.1', '10.0.0.2'];
  t.same(b.certifiedAddresses('127.0.0.1'), ['127.0.0.1', '10.0.0.2'], 'authenticated by certificate: its addresses');
  t.equal(b.certifiedAddresses('127.0.0.9'), undefined, 'another identity: none');
  b.engine.clear(sa);
  t.equal(b.certifiedAddresses('127.0.0.1'), undefined, 'the SA gone: none');
});
