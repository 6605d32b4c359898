// IKEv1 against strongSwan (charon from Debian) over UDP 500 between two network namespaces: seed 003's
// ISAKMP policy (IOS defaults DES / SHA-1 / MODP 768, pre-shared key P4ssw0rd for 172.16.0.0/16) and
// a strong one, with strongSwan as initiator and as responder. Phase 1 is proven from both sides:
// `swanctl --list-sas` shows the IKE SA ESTABLISHED with the expected algorithms and our cookies, and
// our endpoint reports the SA in QM_IDLE. A wrong key is proven to fail on both sides.
// Quick mode (seed 003's esp-aes esp-sha-hmac, tunnel, GRE selectors): strongSwan verifies our HASH(1),
// HASH(2) and HASH(3), selects the proposal, and the ESP keys and SPIs it derives (logged at chd level 4)
// equal ours. This kernel has no xfrm ESP, so charon runs kernel-libipsec, which takes only ESP in UDP:
// charon then fakes a NAT (RFC 3947 NAT-D) and both ends float to 4500 and negotiate UDP tunnel mode;
// swanctl shows the CHILD_SA INSTALLED, TUNNEL-in-UDP, with our SPIs, both directions.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Charon, charonChildKeys, strongswanMissing, swanctlConf as charonConf } from './util/strongswan.js';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { ipv4 } from './util/packets.js';
import { IkePeer, bundlePeer, twoNamespaces } from './util/ike-peer.js';
import { seedCrypto } from './util/ike.js';
import { uniquePrefix, waitFor } from './util/lab.js';
import { requireTools, cannotRun } from './util/needs.js';

requireTools(t, ['root', 'ip', 'unshare', 'swanctl']);
const missing = strongswanMissing();
if (missing.length) cannotRun(t, missing);

const OURS = '172.16.1.1', THEIRS = '172.16.1.2';
const dir = mkdtempSync(join(tmpdir(), 'ike-sw-'));
const bundle = bundlePeer(dir);
const prefix = uniquePrefix('ik');
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function swanctlConf(o: { proposals: string; psk: string; encap?: boolean }): string {
  return charonConf({ version: 1, ours: OURS, theirs: THEIRS, ...o });
}

const cases = [
  { name: 'seed 003 defaults (DES/SHA-1/MODP768)', policy: {}, proposals: 'des-sha1-modp768', expect: 'DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_768' },
  { name: 'AES-256/SHA-256/MODP2048', policy: { encryption: 'aes 256', hash: 'sha256', group: 14 }, proposals: 'aes256-sha256-modp2048',
    expect: 'AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048' },
];

/** The IKE SA block of `swanctl --list-sas` for our cookies, or undefined. */
const saBlock = (text: string, ispi: string) => text.split(/\n(?=\S)/).find((b) => b.includes(ispi));

for (const c of cases) {
  for (const initiator of ['strongSwan', 'us'] as const) {
    t.test(`main mode, ${c.name}, ${initiator} initiating`, async (t) => {
      const lab = twoNamespaces(`${prefix}${cases.indexOf(c)}${initiator === 'us' ? 'u' : 's'}`, OURS, THEIRS);
      const sub = mkdtempSync(join(dir, 'case-'));
      const charon = new Charon(lab.nsB, join(sub, 'charon'));
      const peer = new IkePeer(lab.nsA, sub, bundle);
      t.teardown(async () => { await peer.stop(); await charon.stop(); lab.down(); });
      await charon.start();
      charon.load(swanctlConf({ proposals: c.proposals, psk: 'P4ssw0rd' }));
      await peer.start(OURS, seedCrypto(c.policy), initiator === 'us' ? THEIRS : undefined);
      if (initiator === 'strongSwan') charon.swanctl(['--initiate', '--ike', 'dmvpn', '--timeout', '20'], true);

      const ours = await peer.wait('established');
      t.ok(ours, 'our endpoint established the IKE SA');
      t.equal(ours?.state, 'QM_IDLE');
      t.equal(ours?.peerId, THEIRS, 'strongSwan authenticated as its address');
      t.equal(ours?.initiator, initiator === 'us');
      const ispi = String(ours?.ispi ?? 'none');
      const list = await waitFor(() => { const l = charon.swanctl(['--list-sas'], true); return saBlock(l, ispi)?.includes('ESTABLISHED') ? l : ''; }, 15000);
      const block = saBlock(list, ispi) ?? '';
      t.comment(`strongSwan --list-sas:\n${block}`);
      t.match(block, /ESTABLISHED, IKEv1/, 'strongSwan: ESTABLISHED, IKEv1');
      t.match(block, new RegExp(`${ispi}_i${initiator === 'strongSwan' ? '\\*' : ' '}`), 'strongSwan: same initiator cookie, same role');
      t.ok(block.includes(String(ours?.rspi)), 'strongSwan: same responder cookie');
      t.ok(block.includes(c.expect), `strongSwan: ${c.expect}`);
      // kernel-libipsec carries only ESP in UDP, so charon fakes a NAT (RFC 3947) and both ends float to 4500
      t.match(block, new RegExp(`remote '${OURS}' @ ${OURS}\\[4500\\]`), 'strongSwan: our identity is our address, floated to 4500');
      const st = await peer.status();
      const counters = st?.counters as Record<string, number> | undefined;
      t.equal(counters?.malformed, 0, 'nothing malformed');
      t.equal(counters?.internalErrors, 0, 'no internal error');
      if (t.passing()) return;
      t.comment(charon.log().split('\n').slice(-40).join('\n'));
      t.comment(JSON.stringify(peer.events.slice(-20)));
    });
  }
}

t.test('wrong pre-shared key: neither side establishes', async (t) => {
  const lab = twoNamespaces(`${prefix}w`, OURS, THEIRS);
  const sub = mkdtempSync(join(dir, 'case-'));
  const charon = new Charon(lab.nsB, join(sub, 'charon'));
  const peer = new IkePeer(lab.nsA, sub, bundle);
  t.teardown(async () => { await peer.stop(); await charon.stop(); lab.down(); });
  await charon.start();
  charon.load(swanctlConf({ proposals: 'des-sha1-modp768', psk: 'NotTheKey' }));
  await peer.start(OURS, seedCrypto());
  charon.swanctl(['--initiate', '--ike', 'dmvpn', '--timeout', '10'], true);
  const st = await waitFor(async () => { const s = await peer.status(); const c = s?.counters as Record<string, number>; return c && c.malformed + c.rejected > 0 ? c : undefined; }, 20000);
  t.ok(st, 'our endpoint dropped message 5 and counted it');
  t.notOk(peer.find('established'), 'not established on our side');
  t.notMatch(charon.swanctl(['--list-sas'], true), /ESTABLISHED/, 'not established on strongSwan');
  t.ok(peer.events.some((e) => /wrong pre-shared key/.test(String(e.line))), 'logged as a probable wrong key');
});

function lab(t: Test, tag: string) {
  const l = twoNamespaces(`${prefix}${tag}`, OURS, THEIRS);
  const sub = mkdtempSync(join(dir, 'case-'));
  const charon = new Charon(l.nsB, join(sub, 'charon'));
  const peer = new IkePeer(l.nsA, sub, bundle);
  t.teardown(async () => { await peer.stop(); await charon.stop(); l.down(); });
  return { charon, peer };
}

t.test('quick mode, seed 003 transform set, us initiating: strongSwan derives the same ESP keys and SPIs', async (t) => {
  const { charon, peer } = lab(t, 'q');
  await charon.start();
  charon.load(swanctlConf({ proposals: 'des-sha1-modp768', psk: 'P4ssw0rd' }));
  await peer.start(OURS, seedCrypto(), THEIRS, true);
  const child = await peer.wait('child');
  t.ok(child, 'our Child SA is up');
  t.match(child, { mode: 'tunnel', cipher: 'aes-cbc', keyBits: 128, integrity: 'hmac-sha1-96', protocol: 47 });
  const keys = await waitFor(() => { const k = charonChildKeys(charon.log()); return k['integrity responder key'] ? k : undefined; }, 15000);
  const ours = readFileSync(peer.keylog, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((k) => 'spiIn' in k);
  t.ok(keys && ours, 'strongSwan logged its Child SA keys, we logged ours');
  if (!keys || !ours) return;
  // charon names each ESP SA by the end that sends on it: the "initiator" SA carries our traffic (we
  // initiated quick mode) on the SPI strongSwan chose, the "responder" SA its traffic on ours.
  const spi = (seed: string) => parseInt(seed.slice(2, 10), 16);
  t.equal(keys['initiator SA seed'].slice(0, 2), '03', 'strongSwan keyed ESP (protocol 3)');
  t.equal(spi(keys['initiator SA seed']), ours.spiOut, 'strongSwan: the SA we send on has the SPI it chose (our outbound)');
  t.equal(spi(keys['responder SA seed']), ours.spiIn, 'strongSwan: the SA it sends on has the SPI we chose (our inbound)');
  t.equal(keys['encryption initiator key'], ours.encOut, 'AES key towards strongSwan: equal');
  t.equal(keys['integrity initiator key'], ours.authOut, 'HMAC-SHA1 key towards strongSwan: equal');
  t.equal(keys['encryption responder key'], ours.encIn, 'AES key towards us: equal');
  t.equal(keys['integrity responder key'], ours.authIn, 'HMAC-SHA1 key towards us: equal');
  const log = charon.log();
  t.match(log, /parsed QUICK_MODE request \d+ \[ HASH SA No ID ID \]/, 'strongSwan parsed our message 1');
  t.match(log, /generating QUICK_MODE response \d+ \[ HASH SA No ID ID \]/, 'and answered it (HASH(1) verified)');
  t.match(log, /parsed QUICK_MODE request \d+ \[ HASH \]/, 'strongSwan parsed our HASH(3)');
  t.match(log, /selected proposal: ESP:AES_CBC_128\/HMAC_SHA1_96\/NO_EXT_SEQ/, 'strongSwan selected esp-aes esp-sha-hmac');
  t.notMatch(log, /invalid HASH|hash verification failed|no acceptable proposal|traffic selectors .* inacceptable/i, 'no verification or selector error');
  t.comment(log.split('\n').filter((l) => /unable to install|only UDP encapsulation/.test(l)).slice(-2).join('\n'));
});

t.test('quick mode, strongSwan initiating: it verifies our HASH(2) and keys the SPIs we chose', async (t) => {
  const { charon, peer } = lab(t, 'r');
  await charon.start();
  charon.load(swanctlConf({ proposals: 'des-sha1-modp768', psk: 'P4ssw0rd' }));
  await peer.start(OURS, seedCrypto());
  charon.swanctl(['--initiate', '--child', 'gre', '--timeout', '20'], true);
  t.ok(await peer.wait('established'), 'phase 1 up');
  const keys = await waitFor(() => { const k = charonChildKeys(charon.log()); return k['integrity responder key'] ? k : undefined; }, 15000);
  t.ok(keys, 'strongSwan derived Child SA keys from our quick mode answer');
  const log = charon.log();
  t.match(log, /generating QUICK_MODE request \d+ \[ HASH SA No ID ID \]/, 'strongSwan sent message 1');
  t.match(log, /parsed QUICK_MODE response \d+ \[ HASH SA No ID ID \]/, 'our message 2 parsed');
  t.match(log, /selected proposal: ESP:AES_CBC_128\/HMAC_SHA1_96\/NO_EXT_SEQ/, 'our accepted proposal matches its offer');
  t.notMatch(log, /invalid HASH|hash verification failed|no acceptable proposal/i, 'HASH(2) verified');
  const st = await peer.status();
  const c = st?.counters as Record<string, number>;
  t.same([c?.rejected, c?.malformed], [0, 0], 'we refused nothing of its quick mode');
  if (!t.passing()) t.comment(charon.log().split('\n').filter((l) => /\[(IKE|ENC|CFG)\]/.test(l)).slice(-30).join('\n'), JSON.stringify(peer.events.slice(-8)));
});

for (const initiator of ['strongSwan', 'us'] as const) {
  t.test(`quick mode over NAT-T (strongSwan encap = yes), ${initiator} initiating: the Child SA is INSTALLED in strongSwan with our SPIs and keys`, async (t) => {
    const { charon, peer } = lab(t, initiator === 'us' ? 'nu' : 'ns');
    await charon.start();
    charon.load(swanctlConf({ proposals: 'des-sha1-modp768', psk: 'P4ssw0rd', encap: true }));
    await peer.start(OURS, seedCrypto(), initiator === 'us' ? THEIRS : undefined, initiator === 'us');
    if (initiator === 'strongSwan') charon.swanctl(['--initiate', '--child', 'gre', '--timeout', '20'], true);
    const child = await peer.wait('child');
    t.ok(child, 'our Child SA is up');
    t.match(child, { mode: 'tunnel', cipher: 'aes-cbc', keyBits: 128, integrity: 'hmac-sha1-96', protocol: 47 });
    const list = await waitFor(() => { const l = charon.swanctl(['--list-sas'], true); return /INSTALLED/.test(l) ? l : ''; }, 15000);
    t.comment(`strongSwan --list-sas:\n${list}`);
    t.match(list, /gre: #\d+, reqid \d+, INSTALLED, TUNNEL-in-UDP, ESP:AES_CBC-128\/HMAC_SHA1_96/, 'strongSwan: CHILD_SA INSTALLED, ESP in UDP, AES-CBC-128/HMAC-SHA1-96');
    const ours = readFileSync(peer.keylog, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((k) => 'spiIn' in k);
    if (!ours) { t.fail('no Child SA keys logged on our side'); t.comment(JSON.stringify(await peer.status()), charon.log().split('\n').filter((l) => /\[(IKE|ENC|NET)\]/.test(l) && !/vici/.test(l)).slice(-25).join('\n')); return; }
    const hex8 = (n: number) => n.toString(16).padStart(8, '0');
    // swanctl prints the inbound SPI of strongSwan (= our outbound) then its outbound (= our inbound)
    t.match(list, new RegExp(`in  ${hex8(ours?.spiOut)}.*\\n.*out ${hex8(ours?.spiIn)}`), 'strongSwan: its in/out SPIs are our out/in SPIs');
    const keys = charonChildKeys(charon.log());
    const sentByUs = initiator === 'us' ? 'initiator' : 'responder', sentByThem = initiator === 'us' ? 'responder' : 'initiator';
    t.equal(keys[`encryption ${sentByUs} key`], ours?.encOut, 'AES key towards strongSwan: equal');
    t.equal(keys[`integrity ${sentByUs} key`], ours?.authOut, 'HMAC key towards strongSwan: equal');
    t.equal(keys[`encryption ${sentByThem} key`], ours?.encIn, 'AES key towards us: equal');
    t.equal(keys[`integrity ${sentByThem} key`], ours?.authIn, 'HMAC key towards us: equal');
    // One GRE packet, ESP-encrypted with our outbound keys and sent in UDP to strongSwan's 4500:
    // libipsec counts it only if the SPI is known, the HMAC-SHA1-96 ICV verifies and the decrypted
    // inner packet matches the GRE selectors.
    // A copy with a wrong HMAC key goes first: it must not be counted, so exactly one packet shows.
    const wrongAuth = hexBytes(ours.authOut).map((x: number) => x ^ 1);
    for (const esp of [espInUdp(ours.spiOut, hexBytes(ours.encOut), wrongAuth), espInUdp(ours.spiOut, hexBytes(ours.encOut), hexBytes(ours.authOut))]) {
      const send = `const s=require('dgram').createSocket('udp4');s.send(Buffer.from('${Buffer.from(esp).toString('hex')}','hex'),4500,'${THEIRS}',()=>s.close())`;
      spawnSync('ip', ['netns', 'exec', peer.ns, process.execPath, '-e', send]);
    }
    const counted = await waitFor(() => new RegExp(`in  ${hex8(ours.spiOut)},\\s+\\d+ bytes,\\s+1 packets`).test(charon.swanctl(['--list-sas'], true)), 10000);
    t.ok(counted, 'strongSwan accepted the ESP packet built with our outbound keys and refused the wrong-ICV one (in: 1 packets)');
    const st = await peer.status();
    const sa = (st?.sas as Array<Record<string, unknown>>)?.[0];
    t.same([sa?.state], ['QM_IDLE'], 'ours: QM_IDLE');
    const c = st?.counters as Record<string, number>;
    t.same([c?.rejected, c?.malformed, c?.internalErrors], [0, 0, 0], 'we refused nothing');
    if (!t.passing()) t.comment(charon.log().split('\n').filter((l) => /\[(IKE|ENC|NET|ESP|KNL)\]/.test(l) && !/vici/.test(l)).slice(-45).join('\n'), JSON.stringify(peer.events.slice(-8)));
  });
}

const hexBytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

/** ESP (RFC 4303) tunnel mode, AES-CBC-128 + HMAC-SHA1-96, carrying IPv4/GRE from us to them, behind a UDP-encap marker-less payload. */
function espInUdp(spi: number, encKey: Uint8Array, authKey: Uint8Array): Uint8Array {
  const v4 = (a: string) => a.split('.').reduce((n, x) => n * 256 + Number(x), 0);
  const gre = new Uint8Array([0, 0, 0x08, 0x00, ...new Uint8Array(20).fill(0x45)]);
  const inner = ipv4({ src: v4(OURS), dst: v4(THEIRS), proto: 47, payload: gre });
  const padLen = (16 - ((inner.length + 2) % 16)) % 16;
  const plain = new Uint8Array(inner.length + padLen + 2);
  plain.set(inner);
  for (let i = 0; i < padLen; i++) plain[inner.length + i] = i + 1;
  plain[plain.length - 2] = padLen;
  plain[plain.length - 1] = 4; // next header: IPv4 (tunnel mode)
  const iv = randomBytes(16);
  const c = createCipheriv('aes-128-cbc', encKey, iv).setAutoPadding(false);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(spi, 0);
  head.writeUInt32BE(1, 4);
  const body = Buffer.concat([head, iv, ct]);
  const icv = createHmac('sha1', authKey).update(body).digest().subarray(0, 12);
  return new Uint8Array(Buffer.concat([body, icv]));
}

// `set security-association lifetime kilobytes` (issue 10): offered in quick mode as a second Life
// Type/Duration pair (RFC 2407 4.5) beside the seconds; each side keeps the smaller of its own and the
// peer's. strongSwan logs "received N lifebytes, configured M" when the other side's value differs
// from its own; it converts kilobytes on the wire to its life_bytes with 1000 (we with 1024 when we
// give the data plane its byte limit), so the test sets and expects multiples of 1000.
for (const c of [
  { who: 'us' as const, ours: 1000, theirs: undefined, agreed: 1000 },
  { who: 'strongSwan' as const, ours: 1000, theirs: 2000, agreed: 1000 },
  { who: 'strongSwan' as const, ours: 4000, theirs: 2000, agreed: 2000 },
]) {
  t.test(`quick mode lifetime kilobytes, ${c.who} initiating, ours ${c.ours} kB, strongSwan's ${c.theirs ?? 'none'}: both keep ${c.agreed} kB`, async (t) => {
    const { charon, peer } = lab(t, `k${c.ours / 1000}${c.who === "us" ? "u" : "s"}`);
    await charon.start();
    charon.load(charonConf({ version: 1, ours: OURS, theirs: THEIRS, proposals: 'des-sha1-modp768', psk: 'P4ssw0rd',
      childExtra: c.theirs ? `life_bytes = ${c.theirs * 1000}` : '' }));
    const crypto = seedCrypto();
    crypto.ipsecProfiles = crypto.ipsecProfiles!.map((p) => ({ ...p, lifetimeKilobytes: c.ours }));
    await peer.start(OURS, crypto, c.who === 'us' ? THEIRS : undefined, c.who === 'us');
    if (c.who === 'strongSwan') charon.swanctl(['--initiate', '--child', 'gre', '--timeout', '20'], true);
    const child = await peer.wait('child');
    t.equal(child?.lifetimeKilobytes, c.agreed, `our Child SA keeps ${c.agreed} kB`);
    const log = await waitFor(() => { const l = charon.log(); return /selected proposal: ESP/.test(l) && /CHILD_SA .* established|successfully established/.test(l) ? l : ''; }, 15000) || charon.log();
    const configured = (c.theirs ?? 0) * 1000;
    if (c.agreed * 1000 !== configured) t.match(log, `received ${c.agreed * 1000} lifebytes, configured ${configured}`, `strongSwan took ${c.agreed} kB from our quick mode message`);
    else t.notMatch(log, /received \d+ lifebytes/, 'strongSwan kept its own value (ours was larger: we answered with its)');
    if (!t.passing()) t.comment(log.split('\n').filter((l) => /lifebytes|lifetime|QUICK_MODE/.test(l)).join('\n'), JSON.stringify(peer.events.slice(-6)));
  });
}
