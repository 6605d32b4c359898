// FRR on the booted image (both architectures' boot tests): zebra and ospfd from the root filesystem
// start with a tiny configuration in a temp dir, as FRR's own user (the image's frr:frr, /var/run/frr
// writable), and vtysh answers for both. Run through init's debug shell on hvc0 (ImageVm.shell).
import type { Test } from 'tap';
import type { ImageVm } from './vm.js';

const ROUTER_ID = '10.255.0.2';

export async function checkFrr(t: Test, vm: ImageVm, wanNetwork?: string): Promise<void> {
  const run = async (cmd: string, what: string) => {
    const r = await vm.shell(cmd, 180_000);
    t.equal(r.rc, 0, `${what} (exit ${r.rc}: ${r.out.trim().slice(-300)})`);
    return r.out;
  };
  const network = wanNetwork ? `\\n network ${wanNetwork} area 0` : '';
  await run(`d=$(mktemp -d) && chmod 755 $d && printf 'hostname vmfrr\\n' > $d/zebra.conf && printf 'router ospf\\n ospf router-id ${ROUTER_ID}${network}\\n' > $d/ospfd.conf && chmod 644 $d/*.conf`, 'a tiny FRR configuration in a temp dir');
  t.match(await run('ls -ldn /etc/frr/ /var/run/frr/', '/etc/frr and /var/run/frr'), /^drwxrwxr-x\s+\d+ 100\s+101 .*\n^drwxrwxr-x\s+\d+ 100\s+101 /m,
    'both are directories writable by frr:frr (100:101 in the image\'s /etc/passwd, /etc/group)');
  await run('/usr/lib/frr/zebra -d -P 0 -f $d/zebra.conf', 'zebra starts (daemon, no TCP vty)');
  await run('/usr/lib/frr/ospfd -d -P 0 -f $d/ospfd.conf', 'ospfd starts');
  await run('for i in $(seq 120); do [ -S /var/run/frr/zebra.vty ] && [ -S /var/run/frr/ospfd.vty ] && break; sleep 1; done; ls /var/run/frr/', 'their vty sockets appear');
  t.match(await run(`vtysh -c 'show version'`, 'vtysh show version'), /^FRRouting 8\.\d+\S* \(\S+\) on Linux\(/m, 'vtysh answers: FRRouting 8 (Debian\'s, built for this architecture)');
  t.match(await run(`vtysh -c 'show ip ospf'`, 'vtysh show ip ospf'), new RegExp(`OSPF Routing Process, Router ID: ${ROUTER_ID.replace(/\./g, '\\.')}`), 'ospfd runs its configuration');
  t.match(await run(`vtysh -c 'show interface lo'`, 'vtysh show interface lo'), /Interface lo is up/, 'zebra reads the kernel\'s interfaces (netlink)');
  if (wanNetwork) {
    t.match(await run(`vtysh -c 'show ip route connected'`, 'vtysh show ip route connected'), new RegExp(`C>\\* ${wanNetwork.replace(/\./g, '\\.')} is directly connected, eth0`), 'zebra has the WAN port\'s connected route');
    t.match(await run(`vtysh -c 'show ip ospf interface eth0'`, 'vtysh show ip ospf interface eth0'), /eth0 is up[\s\S]*Area 0\.0\.0\.0/, 'ospfd runs on the WAN port');
  }
  await run('kill $(cat /var/run/frr/ospfd.pid) $(cat /var/run/frr/zebra.pid)', 'both stop on SIGTERM');
}
