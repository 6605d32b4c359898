// EIGRP over a raw IPv4 socket (protocol 88) on plain interfaces: joins 224.0.0.10 on each, sends
// multicast out of the chosen interface (TTL 2, DSCP CS6 as IOS and FRR do) and unicast by the routing
// table, and reports each received packet with the interface it came in on (IP_PKTINFO). Node has no
// raw sockets of its own and the native addon's raw pumps serve the data plane rings, so this runs a
// small python3 helper (optionally inside a network namespace) speaking hex lines over stdio. A
// stopgap for plain-interface operation and interop tests; the mGRE tunnel gets its own transport.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { EigrpTransport } from './transport.js';

const HELPER = `
import os, socket, struct, sys, select
names = sys.argv[1:]
IP_PKTINFO = getattr(socket, 'IP_PKTINFO', 8)  # Linux value; not every Python build exports it
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 88)
s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0xc0)
idx = {n: socket.if_nametoindex(n) for n in names}
name_of = {v: k for k, v in idx.items()}
mreqn = lambda i, g='224.0.0.10': socket.inet_aton(g) + socket.inet_aton('0.0.0.0') + struct.pack('i', i)
for i in idx.values():
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn(i))
print('ready', flush=True)
buf = b''
while True:
    r, _, _ = select.select([s, 0], [], [])
    if s in r:
        data, anc, _, _ = s.recvmsg(65535, 256)
        ifi = 0
        for lvl, typ, d in anc:
            if lvl == socket.IPPROTO_IP and typ == IP_PKTINFO: ifi = struct.unpack('i', d[:4])[0]
        if ifi in name_of and len(data) >= 20:
            ihl = (data[0] & 15) * 4
            print(name_of[ifi], socket.inet_ntoa(data[12:16]), socket.inet_ntoa(data[16:20]), data[ihl:].hex(), flush=True)
    if 0 in r:
        chunk = os.read(0, 65536)
        if not chunk: break
        buf += chunk
        while b'\\n' in buf:
            line, buf = buf.split(b'\\n', 1)
            try:
                ifn, dst, hx = line.decode().split()
                if dst.startswith('224.'):
                    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn(idx[ifn], '0.0.0.0'))
                s.sendto(bytes.fromhex(hx), (dst, 0))
            except Exception as e:
                print('error', repr(e).replace(' ', '_'), flush=True)
`;

export class RawSocketTransport implements EigrpTransport {
  private readonly child: ChildProcess;
  private cb?: (iface: string, src: string, dst: string, payload: Uint8Array) => void;
  readonly ready: Promise<void>;
  readonly stats = { sent: 0, received: 0, errors: 0 };
  lastError?: string;

  constructor(interfaces: string[], netns?: string) {
    const cmd = netns ? ['ip', 'netns', 'exec', netns, 'python3'] : ['python3'];
    this.child = spawn(cmd[0], [...cmd.slice(1), '-c', HELPER, ...interfaces], { stdio: ['pipe', 'pipe', 'pipe'] });
    let ready!: () => void;
    this.ready = new Promise((resolve, reject) => {
      ready = resolve;
      this.child.once('exit', (code) => reject(new Error(`EIGRP raw-socket helper exited ${code}: ${this.lastError ?? ''}`)));
      // no python3 (the appliance image has none): spawn fails with an 'error' event, which must not go unhandled
      this.child.once('error', (e) => { this.lastError = e.message; reject(new Error(`EIGRP raw-socket helper did not start: ${e.message}`)); });
    });
    this.ready.catch(() => {}); // observed by whoever awaits it
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const [a, b, c, d] = line.split(' ');
      if (a === 'ready') { ready(); return; }
      if (a === 'error') { this.stats.errors++; this.lastError = b; return; }
      if (d === undefined || !/^[0-9a-f]*$/.test(d)) return;
      this.stats.received++;
      this.cb?.(a, b, c, Uint8Array.from(Buffer.from(d, 'hex')));
    });
    this.child.stdin!.on('error', (e) => { this.stats.errors++; this.lastError = e.message; }); // EPIPE once the helper is gone
    this.child.stderr!.on('data', (x) => { this.stats.errors++; this.lastError = String(x).trim().slice(-500); });
  }

  /** Called once if the helper ends while the transport is open (killed, crashed). */
  onExit(cb: (why: string) => void): void {
    this.child.once('exit', (code, signal) => { if (!this.closed) cb(`helper exited ${signal ?? code}${this.lastError ? `: ${this.lastError}` : ''}`); });
  }
  private closed = false;

  send(iface: string, dst: string, payload: Uint8Array): void {
    this.stats.sent++;
    this.child.stdin!.write(`${iface} ${dst} ${Buffer.from(payload).toString('hex')}\n`);
  }

  onReceive(cb: (iface: string, src: string, dst: string, payload: Uint8Array) => void): void { this.cb = cb; }

  close(): void { this.closed = true; this.child.stdin!.end(); this.child.kill(); }
}
