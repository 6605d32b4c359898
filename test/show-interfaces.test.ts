// show interfaces: the IOS layout from a config and an OS interface's sysfs counters (a fake sysfs
// tree here; the seed 004 namespace test reads real ones).
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatInterfaces } from '../appliance/show/interfaces-detail.js';
import { interfaceViews } from '../appliance/supervisor/exec-interfaces.js';
import { parseStartupConfig } from '../appliance/config/load.js';
import type { ExecContext } from '../appliance/supervisor/exec-context.js';

t.test('an Ethernet port and a protected mGRE tunnel', async (t) => {
  const r = parseStartupConfig(`hostname R2
interface FastEthernet0/0
 description WAN
 ip address 172.16.25.2 255.255.255.252
interface Tunnel0
 ip address 192.168.0.2 255.255.255.0
 tunnel source FastEthernet0/0
 tunnel mode gre multipoint
 tunnel key 100
 tunnel protection ipsec profile MyProfile
crypto ipsec transform-set T esp-aes esp-sha-hmac
crypto ipsec profile MyProfile
 set transform-set T
`);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const sys = fs.mkdtempSync(path.join(os.tmpdir(), 'showif-'));
  t.teardown(() => fs.rmSync(sys, { recursive: true, force: true }));
  const put = (dev: string, file: string, v: string) => { fs.mkdirSync(path.dirname(path.join(sys, dev, file)), { recursive: true }); fs.writeFileSync(path.join(sys, dev, file), v + '\n'); };
  put('fa0-0', 'address', 'c2:01:1d:38:00:00'); put('fa0-0', 'mtu', '1500');
  put('fa0-0', 'statistics/rx_packets', '123'); put('fa0-0', 'statistics/rx_bytes', '45678'); put('fa0-0', 'statistics/tx_packets', '9');
  put('Tunnel0', 'statistics/tx_packets', '7'); put('Tunnel0', 'statistics/tx_bytes', '700');
  const ctx = { config: () => r.config, osNameOf: (n: string) => (n === 'FastEthernet0/0' ? 'fa0-0' : undefined), overlayUp: () => true,
    tunnelSource: () => '172.16.25.2' } as unknown as ExecContext;
  const views = interfaceViews(ctx, sys);
  t.same(views.map((v) => v.name), ['FastEthernet0/0', 'Tunnel0']);
  const tun = formatInterfaces(views.filter((v) => v.name === 'Tunnel0'));
  t.equal(tun, `Tunnel0 is up, line protocol is up 
  Hardware is Tunnel
  Internet address is 192.168.0.2/24
  MTU 1400 bytes, BW 100 Kbit/sec, DLY 50000 usec, 
     reliability 255/255, txload 1/255, rxload 1/255
  Encapsulation TUNNEL, loopback not set
  Keepalive not set
  Tunnel source 172.16.25.2, destination UNKNOWN
  Tunnel protocol/transport multi-GRE/IP
    Key 0x64, sequencing disabled
    Checksumming of packets disabled
  Tunnel protection via IPSec (profile "MyProfile")
     0 packets input, 0 bytes, 0 no buffer
     0 input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored
     7 packets output, 700 bytes, 0 underruns
     0 output errors, 0 collisions, 0 interface resets
     0 output buffer failures, 0 output buffers swapped out
`);
  const eth = formatInterfaces(views.filter((v) => v.name === 'FastEthernet0/0'));
  t.match(eth, /^FastEthernet0\/0 is (up|administratively down), line protocol is (up|down) \n  Hardware is Ethernet, address is c201\.1d38\.0000 \(bia c201\.1d38\.0000\)\n  Description: WAN\n  Internet address is 172\.16\.25\.2\/30\n  MTU 1500 bytes/);
  t.match(eth, /\n {5}123 packets input, 45678 bytes, 0 no buffer\n/);
  t.match(eth, /\n {5}9 packets output, 0 bytes, 0 underruns\n/);
  t.same(JSON.parse(formatInterfaces(views, true)).length, 2, 'json');
});
