// Atomic apply's undo log (supervisor/apply-journal.ts): newest change undone first, an undo that
// fails does not stop the others, and a rolled-back journal is empty (a second rollback does nothing).
import t from 'tap';
import { ApplyJournal } from '../appliance/supervisor/apply-journal.js';

t.test('rollback runs undos newest first and reports the ones that fail', async t => {
  const j = new ApplyJournal();
  const ran: string[] = [];
  j.record('address', () => { ran.push('address'); });
  j.record('route', () => { throw new Error('gone already'); });
  j.record('tunnel', async () => { await new Promise((r) => setTimeout(r, 5)); ran.push('tunnel'); });
  const r = await j.rollback();
  t.same(ran, ['tunnel', 'address']);
  t.same(r, { undone: ['tunnel', 'address'], failed: ['route: gone already'] });
  t.same(await j.rollback(), { undone: [], failed: [] });
});
