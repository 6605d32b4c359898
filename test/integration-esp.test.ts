// GRE protected by ESP between two real appliances with manual SAs (hub R1, spoke R2): raw ESP and
// ESP-in-UDP 4500. On the wire only ESP is seen (tshark decrypts it with the keys); forged and
// replayed packets injected from the Internet namespace are counted and dropped; traffic goes on.
import t from 'tap';
import { Lab, labConfig, waitFor, sleep, nsExec, uniquePrefix } from './util/lab.js';
import { tsharkFields } from './util/tshark.js';
import { protect, sendRawIpv4, K_IN, K_OUT } from './util/esp-lab.js';
import { ipv4 } from './util/packets.js';
import { ipToU32 as ip } from '../appliance/net/ipv4.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'tshark', 'python3']);

for (const variant of [
  { name: 'raw ESP, ChaCha20-Poly1305', transform: 'esp-chacha20-poly1305', udp: false },
  { name: 'ESP in UDP 4500, AES-GCM-256', transform: 'esp-gcm 256', udp: true },
]) {
  t.test(variant.name, async (t) => {
    const lab = new Lab(uniquePrefix(variant.udp ? 'eu' : 'er'), 1);
    t.teardown(() => lab.down());
    lab.up();
    const v = { transform: variant.transform, udp: variant.udp };
    const r1 = protect(labConfig('R1', { holdtime: 60, registrationTimeout: 5 }),
      { ...v, peer: '172.16.25.2', inSpi: 0x1001, outSpi: 0x2002, inKey: K_IN, outKey: K_OUT, persist: `${lab.dir}/seq-R1` });
    const r2 = protect(labConfig('R2', { holdtime: 60, registrationTimeout: 5 }),
      { ...v, peer: '172.16.15.2', inSpi: 0x2002, outSpi: 0x1001, inKey: K_OUT, outKey: K_IN, persist: `${lab.dir}/seq-R2` });
    lab.start('R1', lab.writeConfig('R1', r1));
    lab.start('R2', lab.writeConfig('R2', r2));
    const up = await waitFor(() => { try { return lab.ctlJson('R1', 'show dmvpn').interfaces[0].peers.length === 1; } catch { return false; } }, 20000);
    t.ok(up, 'R2 registered with R1 through ESP');
    if (!up) { t.comment(lab.routers.get('R1')!.log.join('\n')); t.comment(lab.routers.get('R2')!.log.join('\n')); return; }
    t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 5), 'h2 -> h1 over GRE in ESP');
    const sas = lab.ctlJson('R2', 'show crypto ipsec sa');
    const out = sas.find((s: any) => s.dir === 'out'), inb = sas.find((s: any) => s.dir === 'in');
    t.ok(out.packets >= 5 && inb.packets >= 5, 'both SAs carried traffic');
    t.match(lab.ctl('R2', 'show crypto ipsec sa'), /#pkts encaps: \d+, #pkts encrypt: \d+/);

    // the wire: only ESP (or UDP 4500) between the routers, and tshark can decrypt it with our keys
    const pcap = lab.routers.get('R2')!.pcap;
    const gre = tsharkFields(pcap, 'gre && !esp', ['frame.number']);
    t.equal(gre.length, 0, 'no cleartext GRE on the NBMA side');
    const esp = tsharkFields(pcap, variant.udp ? 'udp.port == 4500 && esp' : 'esp', ['esp.spi', 'esp.sequence']);
    t.ok(esp.length >= 10, `ESP packets captured (${esp.length})`);

    // forged (bad ICV) and replayed packets from the Internet namespace, spoofing R1's address (the
    // SA checks the source: from the attacker's own address they are policy drops, counted below)
    const before = lab.ctlJson('R2', 'show crypto ipsec sa').find((s: any) => s.dir === 'in');
    const espBody = (seq: number, fill: number, len: number) => {
      const b = Buffer.alloc(8 + len, fill); b.writeUInt32BE(0x2002, 0); b.writeUInt32BE(seq, 4); return b; // R2's inbound SPI
    };
    const bodies = [espBody(1, 0, 48), espBody(1000000, 0x5a, 64)]; // seq 1 was used long ago (replay); fresh seq, forged ICV
    const wrap = (body: Uint8Array, src: string) => variant.udp
      ? ipv4({ src: ip(src), dst: ip('172.16.25.2'), proto: 17, payload: Uint8Array.from([...udpHeader(4500, 4500, body.length), ...body]) })
      : ipv4({ src: ip(src), dst: ip('172.16.25.2'), proto: 50, payload: body });
    sendRawIpv4(lab.ns('inet'), bodies.map((b) => wrap(b, '172.16.15.2')));
    sendRawIpv4(lab.ns('inet'), [wrap(bodies[1], '172.16.25.1')]); // from the attacker's own address
    await sleep(300);
    const after = lab.ctlJson('R2', 'show crypto ipsec sa').find((s: any) => s.dir === 'in');
    t.ok(after.drops.replay + after.drops.tooOld > before.drops.replay + before.drops.tooOld, 'replayed packet dropped and counted');
    t.ok(after.drops.auth > before.drops.auth, 'forged packet dropped and counted');
    t.ok(after.drops.policy > before.drops.policy, 'ESP from an address that is not the SA peer: policy drop, counted');
    t.ok(await waitFor(() => lab.routers.get('R2')!.log.some((l) => /outside their SA.*last from NBMA 172\.16\.25\.1/.test(l)), 5000), 'logged with the sender');
    t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 3), 'traffic continues');
  });
}

function udpHeader(sport: number, dport: number, len: number): number[] {
  return [sport >> 8, sport & 255, dport >> 8, dport & 255, (len + 8) >> 8, (len + 8) & 255, 0, 0]; // checksum 0: none (IPv4)
}
