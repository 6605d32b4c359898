// IkeService tells the overlay about every outbound SA it installs (outboundInstalled), on both sides
// of quick mode: the overlay moves tunnel peers pinned to the previous pair onto it (overlay.ts
// repinPeers). The responder's pair used to be installed inside ChildSaTable.install without that
// call, so after a rekey the hub (the usual responder) kept sending on the old pair until it
// expired, and a packet sent just after the spoke removed its old inbound half was an unknown-SPI
// drop there (integration-ike-lifecycle under load). Two services on loopback, real UDP, a fake SA ring.
import t from 'tap';
import { IkeService } from '../appliance/supervisor/ike-service.js';
import type { InstalledChild } from '../appliance/supervisor/ike-child-sas.js';
import { loopbackSaRing, seedCrypto } from './util/ike.js';
import { waitFor } from './util/lab.js';

const crypto = { ...seedCrypto(), isakmpKeys: [{ key: 'P4ssw0rd', address: '127.0.0.0', mask: '255.0.0.0' }] };

function service(local: string, port: number, installed: InstalledChild[], other: () => IkeService): IkeService {
  return new IkeService({ crypto, profile: 'MyProfile', local, port, sa: loopbackSaRing(local, other), firstIndex: 0, capacity: 64,
    sendNhrp: () => true, outboundInstalled: (c) => installed.push(c), log: () => {} });
}

t.test('both the initiator and the responder of quick mode report their outbound SA', async (t) => {
  const base = 20000 + (process.pid % 20000);
  const atA: InstalledChild[] = [], atB: InstalledChild[] = [];
  const a: IkeService = service('127.0.0.1', base, atA, () => b), b: IkeService = service('127.0.0.2', base + 1, atB, () => a);
  t.teardown(() => { a.stop(); b.stop(); });
  await a.start(); await b.start();
  a.engine.initiate('127.0.0.2', base + 1); // main mode, then quick mode from A
  t.ok(await waitFor(() => a.children.all.length === 1 && b.children.all.length === 1 &&
    a.children.all[0].outIndex !== undefined && b.children.all[0].outIndex !== undefined, 20000, 50), 'one pair installed on each side');
  t.ok(await waitFor(() => atA.length === 1 && atB.length === 1, 5000, 50), 'each side reported its outbound SA');
  t.equal(atB[0], b.children.all[0], 'the responder reported its pair');
  t.equal(atB[0]?.outIndex, b.children.all[0].outIndex, '... with its outbound index');
  t.equal(atA[0], a.children.all[0], 'the initiator reported its pair');
});
