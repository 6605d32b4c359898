// The questions IOS asks before `reload` and `reload in N` on the console: save a modified
// configuration first ("System configuration has been modified. Save? [yes/no]:"), then
// "Proceed with reload? [confirm]" (RETURN or y confirms, anything else aborts). The supervisor's
// `reload` itself does not ask (dmvpnctl scripts it); the console asks before sending it.

export interface DialogIo {
  ask(prompt: string, secret: boolean): Promise<string>;
  write(text: string): void;
}

/** "reload" or "reload in N" (abbreviated as IOS allows: `rel`, `reload i 5`), not `reload cancel`. */
export function isReloadNeedingConfirm(line: string): boolean {
  const w = line.trim().toLowerCase().split(/\s+/);
  if (w[0].length < 3 || !'reload'.startsWith(w[0])) return false;
  return w.length === 1 || (w.length === 3 && w[1].length >= 1 && 'in'.startsWith(w[1]) && /^\d+$/.test(w[2]));
}

/** The configuration text of `show running-config` / `show startup-config` output (from the first "!"). */
const body = (shown: string) => shown.slice(Math.max(0, shown.search(/^!/m)));

/** Ask; true when the reload should be sent. `control` runs a command in the supervisor. */
export async function confirmReload(io: DialogIo, control: (cmd: string) => Promise<string>): Promise<boolean> {
  const running = body(await control('show running-config'));
  const startup = await control('show startup-config');
  if (/^!/m.test(running) && body(startup) !== running) {
    for (;;) {
      const a = (await io.ask('System configuration has been modified. Save? [yes/no]: ', false)).trim().toLowerCase();
      if (a && 'yes'.startsWith(a)) { io.write(await control('write memory')); break; }
      if (a && 'no'.startsWith(a)) break;
      io.write("% Please answer 'yes' or 'no'.\n");
    }
  }
  const c = (await io.ask('Proceed with reload? [confirm]', false)).trim().toLowerCase();
  return c === '' || c === 'y' || c === 'yes';
}
