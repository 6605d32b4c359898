// terminal length paging: N - 1 lines, --More--, Space a page, Enter a line, another key stops; 0 = off.
import t from 'tap';
import { page } from '../appliance/console/pager.js';

function io(keys: number[]) {
  let out = '';
  const asked: number[] = [];
  return {
    get out() { return out.replace(/ --More-- \x08{10} {10}\x08{10}/g, '<MORE>'); },
    asked,
    write: (s: string) => { out += s; },
    readKey: async () => { asked.push(keys.length); const k = keys.shift(); if (k === undefined) throw new Error('no more keys'); return k; },
  };
}
const text = Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

t.test('space pages, enter steps a line, q stops', async (t) => {
  const a = io([0x20, 0x20, 0x20]);
  await page(text, 4, a); // 3 lines a page: 3 + 3 + 3 + 1
  t.equal(a.out, 'line 1\nline 2\nline 3\n<MORE>line 4\nline 5\nline 6\n<MORE>line 7\nline 8\nline 9\n<MORE>line 10\n', 'space');
  t.equal(a.asked.length, 3, 'asked three times');
  const b = io([0x0d, 0x71]);
  await page(text, 4, b);
  t.equal(b.out, 'line 1\nline 2\nline 3\n<MORE>line 4\n<MORE>', 'enter: one more line, q: stop');
  t.notMatch(b.out, /line 5/);
});

t.test('length 0 and short output: no pager', async (t) => {
  const a = io([]);
  await page(text, 0, a);
  t.equal(a.out, text);
  const b = io([]);
  await page('one\ntwo\n', 24, b);
  t.equal(b.out, 'one\ntwo\n');
});
