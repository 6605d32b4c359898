// Puts spokes of the seed-003 lab behind one nftables masquerade NAT namespace (PREFIX-nat): spoke n's
// WAN becomes 10.n5.0.2/24 behind nat:inside<n> (10.n5.0.1), and the NAT reaches the "Internet"
// namespace with `publicIp`/30 on its wan link (the inet side takes the .1 of that /30).
import { Lab, sh, nsExec } from './lab.js';

export function putBehindNat(lab: Lab, spokes: number[], o: { publicIp: string; inetLink: string }): void {
  const inet = lab.ns('inet'), nat = lab.ns('nat');
  const inetSide = o.publicIp.replace(/\.\d+$/, (m) => `.${Number(m.slice(1)) - 1}`);
  sh('ip', ['netns', 'add', nat]);
  nsExec(nat, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  for (const n of spokes) {
    nsExec(inet, ['ip', 'link', 'set', `r${n}`, 'netns', nat]);
    nsExec(nat, ['ip', 'link', 'set', `r${n}`, 'name', `inside${n}`]);
    nsExec(nat, ['ip', 'addr', 'add', `10.${n}5.0.1/24`, 'dev', `inside${n}`]);
    nsExec(nat, ['ip', 'link', 'set', `inside${n}`, 'up']);
  }
  nsExec(inet, ['ip', 'link', 'add', o.inetLink, 'type', 'veth', 'peer', 'name', 'wan', 'netns', nat]);
  nsExec(inet, ['ip', 'addr', 'add', `${inetSide}/30`, 'dev', o.inetLink]);
  nsExec(inet, ['ip', 'link', 'set', o.inetLink, 'up']);
  nsExec(nat, ['ip', 'addr', 'add', `${o.publicIp}/30`, 'dev', 'wan']);
  for (const i of ['wan', 'lo']) nsExec(nat, ['ip', 'link', 'set', i, 'up']);
  nsExec(nat, ['ip', 'route', 'add', 'default', 'via', inetSide]);
  nsExec(nat, ['nft', '-f', '-'], { input: `table ip nat {
    chain post { type nat hook postrouting priority 100; oifname "wan" masquerade; }
  }\n` });
}

/** A lab config with spoke n's WAN moved behind the NAT (address and default route). */
export function natSpokeConfig(config: string, n: number): string {
  return config.replace(`ip address 172.16.${n}5.2 255.255.255.252`, `ip address 10.${n}5.0.2 255.255.255.0`)
    .replace(`ip route 0.0.0.0 0.0.0.0 172.16.${n}5.1`, `ip route 0.0.0.0 0.0.0.0 10.${n}5.0.1`);
}
