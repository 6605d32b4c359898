// GRE protected by ESP between two real appliances with manual SAs (hub R1, spoke R2): raw ESP and
// ESP-in-UDP 4500. On the wire only ESP is seen (tshark decrypts it with the keys); forged and
// replayed packets injected from the Internet namespace are counted and dropped; traffic goes on.
import t from 'tap';
import { Lab, labConfig, waitFor, sleep, nsExec, uniquePrefix } from './util/lab.js';
import { tsharkFields } from './util/tshark.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'tshark', 'python3']);

const K_IN = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' + 'a1b2c3d4';
const K_OUT = '1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100' + 'd4c3b2a1';

function protect(cfg: string, peer: string, inSpi: number, outSpi: number, inKey: string, outKey: string, transform: string, udp: boolean) {
  const crypto = `crypto ipsec transform-set TS ${transform}
 mode transport
crypto ipsec profile DMVPN
 set transform-set TS
crypto ipsec manual-sa PEER
 set peer ${peer}
 set transform-set TS
 set session-key inbound esp ${inSpi} cipher ${inKey}
 set session-key outbound esp ${outSpi} cipher ${outKey}
${udp ? ' set udp-encapsulation\n' : ''}!
`;
  return crypto + cfg.replace(' tunnel mode gre multipoint', ' tunnel mode gre multipoint\n tunnel protection ipsec profile DMVPN');
}

for (const variant of [
  { name: 'raw ESP, ChaCha20-Poly1305', transform: 'esp-chacha20-poly1305', udp: false },
  { name: 'ESP in UDP 4500, AES-GCM-256', transform: 'esp-gcm 256', udp: true },
]) {
  t.test(variant.name, async (t) => {
    const lab = new Lab(uniquePrefix(variant.udp ? 'eu' : 'er'), 1);
    t.teardown(() => lab.down());
    lab.up();
    const r1 = protect(labConfig('R1', { holdtime: 60, registrationTimeout: 5 }), '172.16.25.2', 0x1001, 0x2002, K_IN, K_OUT, variant.transform, variant.udp);
    const r2 = protect(labConfig('R2', { holdtime: 60, registrationTimeout: 5 }), '172.16.15.2', 0x2002, 0x1001, K_OUT, K_IN, variant.transform, variant.udp);
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

    // forged (bad ICV) and replayed packets from the Internet namespace, spoofing R1
    const before = lab.ctlJson('R2', 'show crypto ipsec sa').find((s: any) => s.dir === 'in');
    nsExec(lab.ns('inet'), ['python3', '-c', `
import socket, struct
spi = 0x2002  # R2's inbound SPI
def esp(seq, body): return struct.pack('!II', spi, seq) + body
pkts = [esp(1, b'\\x00' * 48),            # seq 1 was used long ago: replay / too old
        esp(1000000, b'\\x5a' * 64)]      # fresh seq, forged ICV
if ${variant.udp ? 'True' : 'False'}:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for p in pkts: s.sendto(p, ('172.16.25.2', 4500))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
    for p in pkts: s.sendto(p, ('172.16.25.2', 0))
`]);
    await sleep(300);
    const after = lab.ctlJson('R2', 'show crypto ipsec sa').find((s: any) => s.dir === 'in');
    t.ok(after.drops.replay + after.drops.tooOld > before.drops.replay + before.drops.tooOld, 'replayed packet dropped and counted');
    t.ok(after.drops.auth > before.drops.auth, 'forged packet dropped and counted');
    t.ok(lab.ping(lab.ns('h2'), '10.0.1.10', 3), 'traffic continues');
  });
}
