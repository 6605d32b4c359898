// Helpers for the live-configuration tests: type a config into `configure terminal` on a running
// appliance (through `dmvpnctl -`, or a control-socket session), and capture the running state that
// typing and loading must agree on (config, kernel addresses and routes, sysctls, NHRP view).
import path from 'node:path';
import { Lab, ROOT, sh, nsExec } from './lab.js';
import { ControlClient } from '../../appliance/supervisor/control.js';
import { stripPrompt } from '../../appliance/config/modes.js';

/** The lines an operator types for a config file: comments and transcript prompts left out. */
export function typedLines(configText: string): string[] {
  return configText.split('\n').map((l) => stripPrompt(l).trimEnd())
    .filter((l) => l.trim() && !l.trim().startsWith('!') && l.trim() !== 'end');
}

/** `dmvpnctl -` on router `name` with these lines on stdin: its exit status and transcript. */
export function dmvpnctlSession(lab: Lab, name: string, lines: string[]): { status: number | null; out: string } {
  const r = lab.routers.get(name)!;
  const res = sh('ip', ['netns', 'exec', r.ns, path.join(ROOT, 'bin/dmvpnctl'), '--control', r.control, '-'],
    { allowFail: true, input: lines.join('\n') + '\n' });
  return { status: res.status, out: res.stdout + res.stderr };
}

/** A line configuration mode refused: the interface it was typed under (if any), the line, the message. */
export interface Refusal { iface?: string; line: string; message: string }

/**
 * Types `lines` in configuration mode over a control-socket session, as a person would: whenever a
 * line (`exit` from global config in a pasted transcript) leaves configuration mode, `configure
 * terminal` again. Returns every refusal ("% ..." other than notes).
 */
export async function typeConfig(control: string, lines: string[]): Promise<Refusal[]> {
  const c = new ControlClient(control, true);
  const refusals: Refusal[] = [];
  let iface: string | undefined;
  try {
    let r = await c.send('configure terminal');
    for (const line of lines) {
      r = await c.send(line);
      if (/^%(?! Note:)/m.test(r.output)) refusals.push({ ...(iface ? { iface } : {}), line, message: r.output.trim() });
      else if (/^\s*interface\s/i.test(line)) iface = line.trim();
      if (!/\(config-if\)#$/.test(r.prompt ?? '')) iface = undefined;
      if (!/\(.*\)#$/.test(r.prompt ?? '')) await c.send('configure terminal');
    }
    await c.send('end');
  } finally { c.close(); }
  return refusals;
}

/** What must be the same whether a config was typed or loaded (timers and counters left out). */
export function runningState(lab: Lab, name: string, ifaces: string[]) {
  const ns = lab.ns(name);
  const runningConfig = lab.ctl(name, 'show running-config').replace(/^Current configuration : \d+ bytes$/m, '');
  const addresses = ifaces.map((i) => `${i}: ${nsExec(ns, ['ip', '-4', '-o', 'addr', 'show', 'dev', i], { allowFail: true }).stdout
    .split('\n').filter(Boolean).map((l) => l.split(/\s+/)[3]).sort().join(' ')}`);
  const links = ifaces.map((i) => `${i}: ${/state (\S+)/.exec(nsExec(ns, ['ip', '-o', 'link', 'show', 'dev', i], { allowFail: true }).stdout)?.[1] ?? 'absent'}`);
  const routes = nsExec(ns, ['ip', '-4', 'route', 'show', 'table', 'main']).stdout.split('\n').filter(Boolean).sort();
  const sysctls = ['net.ipv4.ip_forward', ...ifaces.filter((i) => !/^Tunnel/.test(i)).map((i) => `net.ipv4.conf.${i}.proxy_arp`)]
    .map((k) => `${k}=${nsExec(ns, ['sysctl', '-n', k], { allowFail: true }).stdout.trim()}`);
  const dmvpn = lab.ctlJson(name, 'show dmvpn').interfaces.map((i: any) => ({
    name: i.name, type: i.type, peers: i.peers.map((p: any) => `${p.nbma} ${p.tunnel} ${p.state} ${p.attrs}`).sort(),
  }));
  const nhs = (lab.ctlJson(name, 'show ip nhrp nhs') as any[]).map((n) => `${n.tunnelIp} ${n.nbma} ${n.up ? 'up' : 'down'}`);
  return { runningConfig, addresses, links, routes, sysctls, dmvpn, nhs };
}
