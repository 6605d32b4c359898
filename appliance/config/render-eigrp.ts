// Running-config text of the EIGRP configuration (grammar-eigrp.ts parses it back): `key chain`
// stanzas, the per-interface `ip ... eigrp N` lines, and the `router eigrp` sections.
import type { EigrpConfig, EigrpInterfaceSettings, EigrpProcess } from './model-eigrp.js';

export function keyChainLines(e: EigrpConfig | undefined): string[] {
  const out: string[] = [];
  for (const k of e?.keyChains ?? []) {
    out.push(`key chain ${k.name}`);
    for (const key of k.keys) { out.push(` key ${key.id}`); if (key.keyString !== undefined) out.push(`  key-string ${key.keyString}`); }
    out.push('!');
  }
  return out;
}

/** Lines of one interface's EIGRP settings: ` ip X eigrp N` under a classic interface, `  X` under a
 *  named-mode af-interface (where an explicit on overriding `af-interface default` is written too). */
function settingLines(s: EigrpInterfaceSettings, classic: boolean, asn: number): string[] {
  const sfx = classic ? ` eigrp ${asn}` : '';
  const pre = classic ? ' ip ' : '  ', no = classic ? ' no ip ' : '  no ';
  const onOff = (on: boolean | undefined, word: string) => (on === undefined ? [] : [`${on ? pre : no}${word}${sfx}`]);
  const out: string[] = [];
  if (s.helloInterval !== undefined) out.push(`${pre}hello-interval${sfx} ${s.helloInterval}`);
  if (s.holdTime !== undefined) out.push(`${pre}hold-time${sfx} ${s.holdTime}`);
  if (s.bandwidthPercent !== undefined) out.push(`${pre}bandwidth-percent${sfx} ${s.bandwidthPercent}`);
  out.push(...onOff(s.splitHorizon, 'split-horizon'), ...onOff(s.nextHopSelf, 'next-hop-self'));
  for (const m of s.summaries ?? []) out.push(`${pre}summary-address${sfx} ${m.prefix} ${m.mask}`);
  if (s.authMode) out.push(`${pre}authentication mode${sfx} ${s.authMode}${s.authPassword !== undefined ? ` ${s.authPassword}` : ''}`);
  if (s.keyChain !== undefined) out.push(`${pre}authentication key-chain${sfx} ${s.keyChain}`);
  if (s.passive !== undefined) out.push(`  ${s.passive ? '' : 'no '}passive-interface`);
  return out;
}

export function eigrpInterfaceLines(e: EigrpConfig | undefined, iface: string): string[] {
  const l = e?.links?.find((x) => x.iface === iface);
  const cost = [...(l?.bandwidth !== undefined ? [` bandwidth ${l.bandwidth}`] : []), ...(l?.delay !== undefined ? [` delay ${l.delay}`] : [])];
  return [...cost, ...(e?.interfaces ?? []).filter((s) => s.iface === iface).flatMap((s) => settingLines(s, true, s.asn))];
}

function coreLines(p: EigrpProcess, ind: string): string[] {
  const out: string[] = [];
  for (const n of p.networks) out.push(`${ind}network ${n.address}${n.wildcard ? ` ${n.wildcard}` : ''}`);
  if (p.routerId) out.push(`${ind}eigrp router-id ${p.routerId}`);
  const s = p.stub;
  if (s) {
    const kinds = s.receiveOnly ? ['receive-only'] : (['connected', 'summary', 'static', 'redistributed'] as const).filter((k) => s[k]);
    out.push(`${ind}eigrp stub${kinds.length ? ' ' + kinds.join(' ') : ''}`);
  }
  return out;
}

function topologyLines(p: EigrpProcess, ind: string): string[] {
  const out: string[] = [];
  for (const r of p.redistribute) out.push(`${ind}redistribute ${r.source}${r.metric ? ` metric ${r.metric.join(' ')}` : ''}`);
  if (p.variance !== undefined) out.push(`${ind}variance ${p.variance}`);
  if (p.maximumPaths !== undefined) out.push(`${ind}maximum-paths ${p.maximumPaths}`);
  if (p.distance) out.push(`${ind}distance eigrp ${p.distance.internal} ${p.distance.external}`);
  return out;
}

export function routerEigrpLines(e: EigrpConfig | undefined): string[] {
  const out: string[] = [];
  for (const p of e?.processes ?? []) {
    if (p.name === undefined) {
      out.push(`router eigrp ${p.asn}`, ...topologyLines(p, ' '));
      out.push(...coreLines(p, ' '));
      if (p.passiveDefault) out.push(' passive-interface default');
      for (const i of p.passive) out.push(`${p.passiveDefault ? ' no' : ''} passive-interface ${i}`);
      if (p.autoSummary) out.push(' auto-summary');
    } else {
      out.push(`router eigrp ${p.name}`, ' !', ` address-family ipv4 unicast autonomous-system ${p.asn}`, ' !');
      for (const a of p.afInterfaces ?? []) out.push(`  af-interface ${a.iface}`, ...settingLines(a, false, p.asn).map((l) => ' ' + l), '  exit-af-interface', '  !');
      const topo = topologyLines(p, '   ');
      if (topo.length) out.push('  topology base', ...topo, '  exit-af-topology', '  !');
      out.push(...coreLines(p, '  '), ' exit-address-family');
    }
    out.push('!');
  }
  return out;
}
