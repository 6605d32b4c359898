// What the supervisor's IKE service hands the IKEv1 engine for one protected tunnel: the tunnel's own
// ipsec profile first, and only transform sets the data plane can run (so quick mode never agrees on an
// SA that could not be installed), with a note for each one left out.
import t from 'tap';
import { ikePolicy, unsupportedTransform } from '../appliance/supervisor/ike-policy.js';
import type { CryptoConfig } from '../appliance/config/model.js';

const crypto: CryptoConfig = {
  lines: [],
  transformSets: [
    { name: 'SEED', transforms: ['esp-aes', 'esp-sha-hmac'] },
    { name: 'STRONG', transforms: ['esp-aes 256', 'esp-sha256-hmac'], mode: 'transport' },
    { name: 'OLD', transforms: ['esp-3des', 'esp-md5-hmac'] },
    { name: 'MID', transforms: ['esp-aes 192', 'esp-sha-hmac'] },
  ],
  ipsecProfiles: [{ name: 'OTHER', transformSets: ['SEED'] }, { name: 'P', transformSets: ['OLD', 'STRONG', 'MID', 'SEED'], pfs: 'group14' }],
};

t.test('the tunnel profile first, transform sets the data plane cannot run left out and named', async (t) => {
  const r = ikePolicy(crypto, 'P');
  t.same(r.crypto.ipsecProfiles?.map((p) => [p.name, p.transformSets]), [['P', ['STRONG', 'SEED']], ['OTHER', ['SEED']]]);
  t.equal(r.crypto.ipsecProfiles?.[0].pfs, 'group14', 'the rest of the profile is kept');
  t.equal(r.notes.length, 2);
  t.match(r.notes[0], /transform-set OLD: esp-3des, esp-md5-hmac not available with IKE/);
  t.match(r.notes[1], /transform-set MID: esp-aes 192/);
  t.equal(unsupportedTransform(crypto.transformSets![0]), undefined, "seed 003's transform set is fine");
});

t.test('a profile with nothing usable, or none at all: said, nothing offered', async (t) => {
  const only = ikePolicy({ ...crypto, ipsecProfiles: [{ name: 'X', transformSets: ['OLD'] }] }, 'X');
  t.same(only.crypto.ipsecProfiles?.[0].transformSets, []);
  t.match(only.notes.at(-1), /no transform set IKE can use/);
  const none = ikePolicy(crypto, 'MISSING');
  t.same(none.crypto.ipsecProfiles, []);
  t.match(none.notes[0], /ipsec profile MISSING is not defined/);
});
