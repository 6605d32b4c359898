// A supervisor restarted while its predecessor still holds the TUN (its watchdog was killed and it is
// stopping on its own, as in the IKE lifecycle test's SIGKILL): the tunnel's name is busy (EBUSY) for
// a moment. The new dmvpnd waits for it instead of failing its config apply and staying down.
import t from 'tap';
import { spawn } from 'node:child_process';
import { Lab, labConfig, uniquePrefix, waitFor } from './util/lab.js';
import { requireTools, LAB_NEEDS } from './util/needs.js';

requireTools(t, [...LAB_NEEDS, 'python3']);

// holds Tunnel0 (a plain TUN, as a dying dmvpnd would) for `seconds` at most; the test ends it (SIGTERM
// closes the fd) once R2 said it waits: a fixed hold raced dmvpnd's start-up on a loaded machine
const HOLD = `
import fcntl, os, struct, sys, time
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', b'Tunnel0', 0x0001 | 0x1000))  # TUNSETIFF, IFF_TUN | IFF_NO_PI
print('held', flush=True)
time.sleep(float(sys.argv[1]))
os.close(fd)
`;

t.test('a TUN name still held by a stopping process is waited for, then the tunnel comes up', async (t) => {
  const lab = new Lab(uniquePrefix('tb'), 1);
  t.teardown(() => lab.down());
  lab.up();
  const holder = spawn('ip', ['netns', 'exec', lab.ns('R2'), 'python3', '-c', HOLD, '60'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { if (holder.exitCode === null) holder.kill(); });
  await new Promise<void>((r) => holder.stdout!.once('data', () => r()));
  lab.start('R1', lab.writeConfig('R1', labConfig('R1')));
  lab.start('R2', lab.writeConfig('R2', labConfig('R2')));
  const log = () => lab.routers.get('R2')!.log;
  t.ok(await waitFor(() => log().some((l) => /TUN Tunnel0: in use by another process .* waiting up to 15 s/.test(l)), 60000), 'R2 saw the name busy and waits');
  holder.kill('SIGTERM'); // the predecessor lets go
  t.ok(await waitFor(() => log().some((l) => /TUN Tunnel0: released by its previous owner; opened/.test(l)), 30000), 'then opened it');
  t.notOk(log().some((l) => /config apply failed/.test(l)), 'no failed config apply');
  t.ok(await waitFor(() => lab.ping(lab.ns('h2'), '10.0.1.10', 1), 60000), 'h2 -> h1 through the tunnel');
});
