// `set security-association lifetime kilobytes` in IKEv1 quick mode (RFC 2407 4.5): offered as a second
// Life Type/Duration pair beside the seconds; each end keeps the smaller of the two values (an absent
// one is no limit), and the responder's message 2 carries what it kept, so both ends agree. The Child
// SA hands the agreed value to the supervisor (ike-service gives the data plane its byte limit).
// Malformed pairs (duration without type, a type twice, zero, unknown type) make a transform unacceptable.
import t from 'tap';
import type { CryptoConfig } from '../appliance/config/model.js';
import { Phase2Attr } from '../appliance/ike/encoding/constants.js';
import { lifetimesOf } from '../appliance/ike/tasks/phase2-proposal.js';
import { negotiateChild, seedCrypto } from './util/ike.js';

const withLife = (seconds?: number, kilobytes?: number): CryptoConfig => {
  const c = seedCrypto();
  c.ipsecProfiles = c.ipsecProfiles!.map((p) => ({ ...p, ...(seconds ? { lifetimeSeconds: seconds } : {}), ...(kilobytes ? { lifetimeKilobytes: kilobytes } : {}) }));
  return c;
};

for (const c of [
  { a: [undefined, 4000], b: [undefined, 1000], agreed: 1000, seconds: 3600 },
  { a: [600, 1000], b: [undefined, 4000], agreed: 1000, seconds: 600 },
  { a: [undefined, undefined], b: [1200, 2500], agreed: 2500, seconds: 1200 },
  { a: [undefined, 3000], b: [undefined, undefined], agreed: 3000, seconds: 3600 },
  { a: [undefined, undefined], b: [undefined, undefined], agreed: undefined, seconds: 3600 },
] as const) {
  t.test(`initiator ${c.a[1] ?? 'no'} kB, responder ${c.b[1] ?? 'no'} kB: both keep ${c.agreed ?? 'no'} kB and ${c.seconds} s`, async (t) => {
    const r = await negotiateChild(withLife(...c.a), withLife(...c.b));
    if (!r.a || !r.b) { t.fail(`no Child SA: ${r.notes.slice(-5).join(' | ')}`); return; }
    t.equal(r.a.lifetimeKilobytes, c.agreed, 'initiator');
    t.equal(r.b.lifetimeKilobytes, c.agreed, 'responder');
    t.same([r.a.lifetime, r.b.lifetime], [c.seconds, c.seconds], 'seconds: the smaller as well');
  });
}

t.test('life type / duration pairs are read in order; malformed ones are refused', async (t) => {
  const T = Phase2Attr.LifeType, D = Phase2Attr.LifeDuration;
  t.same(lifetimesOf([{ type: T, value: 1 }, { type: D, value: 3600 }, { type: T, value: 2 }, { type: D, value: 4608000 }]), { seconds: 3600, kilobytes: 4608000 });
  t.same(lifetimesOf([{ type: T, value: 2 }, { type: D, value: 100 }]), { kilobytes: 100 }, 'kilobytes alone');
  t.same(lifetimesOf([]), {}, 'none');
  t.equal(lifetimesOf([{ type: D, value: 3600 }]), undefined, 'duration without a type');
  t.equal(lifetimesOf([{ type: T, value: 1 }, { type: T, value: 2 }, { type: D, value: 5 }]), undefined, 'type twice in a row');
  t.equal(lifetimesOf([{ type: T, value: 1 }, { type: D, value: 5 }, { type: T, value: 1 }, { type: D, value: 6 }]), undefined, 'seconds twice');
  t.equal(lifetimesOf([{ type: T, value: 3 }, { type: D, value: 5 }]), undefined, 'unknown type');
  t.equal(lifetimesOf([{ type: T, value: 2 }, { type: D, value: 0 }]), undefined, 'zero');
  t.equal(lifetimesOf([{ type: T, value: 2 }]), undefined, 'type without duration');
});
