// Exec commands of the firmware updater (appliance/firmware/update.ts): `firmware update <file|url>
// [force]` (privileged exec: not a `show`, so CliSession puts it under `enable`) and `show firmware`.
import type { Args } from '../cli/tree.js';
import type { FirmwareService } from '../firmware/update.js';

type Handler = (a: Args) => string;

export function firmwareCommands(fw: FirmwareService): Record<string, Handler> {
  return {
    'firmware update {source:word}': (a) => fw.update(a.p.source, false),
    'firmware update {source:word} force': (a) => fw.update(a.p.source, true),
    'show firmware': () => formatFirmware(fw.view()),
  };
}

/** `show firmware`: running version, the slots, what GRUB boots, the update in progress, the last result. */
export function formatFirmware(v: ReturnType<FirmwareService['view']>): string {
  const lines = [`Firmware version ${v.runningVersion} (${v.arch}), booted from slot ${v.booted}`];
  lines.push('', 'Slot  Version       State');
  for (const s of ['A', 'B'] as const) {
    const st = [s === v.booted ? 'running' : 'standby', s === v.known ? 'default' : ''];
    if (v.pending?.slot === s) st.push('on trial');
    lines.push(`${s.padEnd(6)}${(v.slots[s] ?? 'unknown').padEnd(14)}${st.filter(Boolean).join(', ')}`);
  }
  lines.push('');
  if (v.trial) lines.push(`Trial: committing once healthy; waiting for ${v.trial.waiting}, ${v.trial.secondsLeft} s left`);
  const j = v.job;
  lines.push(j.phase === 'idle' ? 'Update: idle'
    : `Update: ${j.phase} ${j.source}${j.remote ? ' (pushed by the hub)' : ''}${j.bytes !== undefined ? `, ${j.bytes}${j.total ? ` of ${j.total}` : ''} bytes` : ''}${j.version ? `, version ${j.version}` : ''}${j.slot ? ` into slot ${j.slot}` : ''}`);
  lines.push(v.last ? `Last result: ${v.last.result}: ${v.last.message} (${v.last.at})` : 'Last result: none');
  return lines.join('\n') + '\n';
}
