// `terminal length N` paging on the console, as IOS pages: N - 1 lines, then ` --More-- ` until a key:
// Space shows the next page, Enter the next line, any other key (q, Ctrl-C) ends the output. Length
// 0 turns paging off (what scripts set). The prompt is erased before the next lines are written.
export const DEFAULT_TERMINAL_LENGTH = 24;
export const MAX_TERMINAL_LENGTH = 512;
const MORE = ' --More-- ';

export interface PagerIo { write(text: string): void; readKey(): Promise<number> }

export async function page(text: string, length: number, io: PagerIo): Promise<void> {
  const lines = text.split('\n');
  const last = lines.pop() ?? ''; // text after the last newline (usually empty)
  const step = length - 1;
  if (length === 0 || lines.length <= step) { io.write(text); return; }
  let at = 0;
  const show = (n: number) => { const upto = Math.min(lines.length, at + n); io.write(lines.slice(at, upto).map((l) => l + '\n').join('')); at = upto; };
  show(step);
  while (at < lines.length) {
    io.write(MORE);
    const key = await io.readKey();
    io.write('\b'.repeat(MORE.length) + ' '.repeat(MORE.length) + '\b'.repeat(MORE.length));
    if (key === 0x20) show(step);
    else if (key === 0x0d || key === 0x0a) show(1);
    else return;
  }
  io.write(last);
}
