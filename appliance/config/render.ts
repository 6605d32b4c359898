// running-config text from the model, in IOS order (hostname, crypto, interfaces, static routes,
// end). Defaults are omitted as IOS does, so parseStartupConfig(renderConfig(c)) rebuilds c.
import type { ApplianceConfig, InterfaceConfig, TunnelConfig, CryptoConfig } from './model.js';
import { authHead, authBody, authTail, servicesLines } from './render-auth.js';
import { dataplaneLines } from './grammar-dataplane.js';
import { ikev2Lines } from './render-ikev2.js';
import { pkiLines } from './render-pki.js';
import { enrollmentLines } from './render-enroll.js';
import { routerLines, ospfInterfaceLines } from './render-routing.js';
import { eigrpInterfaceLines, keyChainLines, routerEigrpLines } from './render-eigrp.js';

const DEFAULT_MTU = 1400; // keep in step with grammar.ts (not imported: grammar imports this file)
const DEFAULT_HOLDTIME = 7200;

export function renderConfig(c: ApplianceConfig): string {
  const out: string[] = ['!', ...authHead(c.auth), `hostname ${c.hostname}`, '!', ...authBody(c.auth)];
  out.push(...keyChainLines(c.eigrp));
  if (c.crypto.lines.length) out.push(...c.crypto.lines, '!');
  for (const i of c.interfaces) out.push(...renderInterface(i), ...eigrpInterfaceLines(c.eigrp, i.name), '!');
  // IOS's order: router eigrp, router ospf, router bgp
  out.push(...routerEigrpLines(c.eigrp), ...routerLines(c));
  for (const r of c.routes) {
    out.push(['ip route', r.prefix, r.mask, r.iface, r.nextHop, r.distance].filter(x => x !== undefined).join(' '));
  }
  if (c.routes.length) out.push('!');
  out.push(...enrollmentLines(c.enrollment), ...dataplaneLines(c), ...servicesLines(c), ...authTail(c.auth), 'end');
  return out.join('\n') + '\n';
}

export function renderInterface(i: InterfaceConfig): string[] {
  const out = [`interface ${i.name}`];
  if (i.description !== undefined) out.push(` description ${i.description}`);
  if (i.kind === 'ethernet' && i.osInterface !== undefined) out.push(` os-interface ${i.osInterface}`);
  out.push(i.address ? ` ip address ${i.address.address} ${i.address.mask}` : ' no ip address');
  if (i.kind === 'ethernet' && i.noProxyArp) out.push(' no ip proxy-arp');
  if (i.kind === 'tunnel') out.push(...tunnelBody(i));
  out.push(...ospfInterfaceLines(i.ospf));
  if (i.shutdown) out.push(' shutdown');
  if (i.kind === 'tunnel') out.push(...tunnelTail(i));
  return out;
}

function tunnelBody(t: TunnelConfig): string[] {
  const n = t.nhrp;
  const out: string[] = [];
  if (t.mtu !== DEFAULT_MTU) out.push(` ip mtu ${t.mtu}`);
  if (n.authentication !== undefined) out.push(` ip nhrp authentication ${n.authentication}`);
  for (const m of n.maps) out.push(` ip nhrp map ${m.tunnelIp} ${m.nbma}`);
  for (const m of n.multicast) out.push(` ip nhrp map multicast ${m}`);
  if (n.networkId !== undefined) out.push(` ip nhrp network-id ${n.networkId}`);
  if (n.holdtime !== DEFAULT_HOLDTIME) out.push(` ip nhrp holdtime ${n.holdtime}`);
  for (const s of n.nhs) {
    const parts = [' ip nhrp nhs', s.tunnelIp];
    if (s.nbma !== undefined) parts.push('nbma', s.nbma);
    if (s.priority !== undefined) parts.push('priority', String(s.priority));
    if (s.cluster !== undefined) parts.push('cluster', String(s.cluster));
    out.push(parts.join(' '));
  }
  if (n.registrationTimeout !== undefined) out.push(` ip nhrp registration timeout ${n.registrationTimeout}`);
  if (n.registrationNoUnique) out.push(' ip nhrp registration no-unique');
  if (n.redirect) out.push(' ip nhrp redirect');
  if (n.shortcut) out.push(' ip nhrp shortcut');
  if (t.tcpAdjustMss !== undefined) out.push(` ip tcp adjust-mss ${t.tcpAdjustMss}`);
  if (t.ifStateNhrp) out.push(' if-state nhrp');
  return out;
}

function tunnelTail(t: TunnelConfig): string[] {
  const out: string[] = [];
  if (t.source !== undefined) out.push(` tunnel source ${t.source}`);
  if (t.destination !== undefined) out.push(` tunnel destination ${t.destination}`);
  if (t.mode === 'gre-multipoint') out.push(' tunnel mode gre multipoint');
  if (t.key !== undefined) out.push(` tunnel key ${t.key}`);
  if (t.protection) out.push(` tunnel protection ipsec profile ${t.protection.profile}${t.protection.shared ? ' shared' : ''}`);
  return out;
}

/** Canonical crypto section from the structured crypto config (IOS order: isakmp, transform-sets, profiles). */
export function cryptoLines(c: CryptoConfig): string[] {
  const out: string[] = [...pkiLines(c.pki), ...ikev2Lines(c.ikev2)]; // IOS: pki before ikev2
  for (const p of c.isakmpPolicies ?? []) {
    out.push(`crypto isakmp policy ${p.priority}`);
    if (p.encryption !== undefined) out.push(` encryption ${p.encryption}`);
    if (p.hash !== undefined) out.push(` hash ${p.hash}`);
    if (p.authentication !== undefined) out.push(` authentication ${p.authentication}`);
    if (p.group !== undefined) out.push(` group ${p.group}`);
    if (p.lifetime !== undefined) out.push(` lifetime ${p.lifetime}`);
  }
  for (const k of c.isakmpKeys ?? []) out.push(`crypto isakmp key ${k.key} address ${k.address}${k.mask ? ' ' + k.mask : ''}`);
  const ka = c.isakmpKeepalive;
  if (ka) out.push(`crypto isakmp keepalive ${ka.seconds}${ka.retry !== undefined ? ` ${ka.retry}` : ''}${ka.periodic ? ' periodic' : ''}`);
  if (c.natKeepalive !== undefined) out.push(`crypto isakmp nat keepalive ${c.natKeepalive}`);
  for (const s of c.transformSets ?? []) {
    out.push(`crypto ipsec transform-set ${s.name} ${s.transforms.join(' ')}`);
    if (s.mode) out.push(` mode ${s.mode}`);
  }
  for (const p of c.ipsecProfiles ?? []) {
    out.push(`crypto ipsec profile ${p.name}`);
    if (p.transformSets.length) out.push(` set transform-set ${p.transformSets.join(' ')}`);
    if (p.pfs !== undefined) out.push(` set pfs ${p.pfs}`);
    if (p.lifetimeSeconds !== undefined) out.push(` set security-association lifetime seconds ${p.lifetimeSeconds}`);
    if (p.lifetimeKilobytes !== undefined) out.push(` set security-association lifetime kilobytes ${p.lifetimeKilobytes}`);
    if (p.ikev2Profile !== undefined) out.push(` set ikev2-profile ${p.ikev2Profile}`);
  }
  for (const m of c.manualSas ?? []) {
    out.push(`crypto ipsec manual-sa ${m.name}`);
    if (m.peer !== undefined) out.push(` set peer ${m.peer}`);
    if (m.transformSet !== undefined) out.push(` set transform-set ${m.transformSet}`);
    for (const dir of ['inbound', 'outbound'] as const) {
      const k = m[dir];
      if (k) out.push(` set session-key ${dir} esp ${k.spi}${k.cipher ? ` cipher ${k.cipher}` : ''}${k.authenticator ? ` authenticator ${k.authenticator}` : ''}`);
    }
    if (m.udpEncapsulation) out.push(' set udp-encapsulation');
    const sp = m.sequencePersistence;
    if (sp) out.push(` set sequence-persistence ${sp.dir}${sp.block !== undefined ? ` block ${sp.block}` : ''}`);
  }
  return out;
}
