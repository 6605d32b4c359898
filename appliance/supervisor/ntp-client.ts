// `ntp server`: an SNTP client (RFC 4330; packets and checks in net/sntp.ts). Every poll it asks each
// configured server (read from the running config each time, so changes apply at the next poll),
// keeps the valid reply with the shortest round trip (a `prefer` server wins among valid ones), and,
// where it may set the clock (the image: DMVPN_SET_CLOCK), steps it when it is off by more than
// 128 ms (RFC 5905's STEPT). Elsewhere (a daemon in a namespace) the host owns its clock: the offset
// is measured and shown only. Polls every 64 s until synchronized, then every 1024 s (RFC 5905
// MINPOLL/MAXPOLL bounds); a kiss-o'-death DENY/RSTR drops the server until the config changes.
import dgram from 'node:dgram';
import { execFile } from 'node:child_process';
import { sntpRequest, parseSntpReply, NTP_PORT, type SntpSample } from '../net/sntp.js';
import type { NtpConfig } from '../config/model.js';
import type { LogFn } from '../log/log.js';

const STEP_MS = 128;
const REPLY_WAIT_MS = 5_000;
const MIN_POLL_S = 64;
const MAX_POLL_S = 1024;

interface Peer { address: string; prefer: boolean; last?: SntpSample; when?: number; reach: number; error?: string; denied?: boolean }

export class NtpClient {
  private timer?: NodeJS.Timeout;
  private peers = new Map<string, Peer>();
  private synced?: { peer: string; sample: SntpSample; at: number };
  private pollS = MIN_POLL_S;
  private stopped = false;

  constructor(private readonly config: () => NtpConfig | undefined, private readonly log: LogFn,
    private readonly setClock?: (offsetMs: number) => Promise<void>, private readonly firstPollMs = 1_000) {}

  start(): void { this.schedule(this.firstPollMs); }
  stop(): void { this.stopped = true; clearTimeout(this.timer); }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => { void this.poll().finally(() => this.schedule(this.pollS * 1000)); }, ms);
    this.timer.unref?.();
  }

  /** One round over the configured servers (exported for `show`-less tests through pollNow). */
  async poll(): Promise<void> {
    const servers = this.config()?.servers ?? [];
    for (const a of [...this.peers.keys()]) if (!servers.some((s) => s.address === a)) this.peers.delete(a);
    if (!servers.length) { this.synced = undefined; return; }
    const results = await Promise.all(servers.map(async (s) => {
      const p = this.peers.get(s.address) ?? { address: s.address, prefer: false, reach: 0 };
      p.prefer = !!s.prefer;
      this.peers.set(s.address, p);
      if (p.denied) return undefined;
      const r = await query(s.address);
      p.reach = ((p.reach << 1) | (r.ok ? 1 : 0)) & 0xff;
      if (!r.ok) {
        p.error = r.kiss ? `kiss-o'-death ${r.kiss}` : r.reason;
        if (r.kiss === 'DENY' || r.kiss === 'RSTR') { p.denied = true; this.log('warn', `NTP server ${s.address} refuses us (${r.kiss}): not asked again until the configuration changes`); }
        return undefined;
      }
      p.error = undefined; p.last = r.sample; p.when = Date.now();
      return p;
    }));
    const ok = results.filter((p): p is Peer => !!p);
    if (!ok.length) { this.pollS = MIN_POLL_S; return; }
    const best = ok.sort((x, y) => Number(y.prefer) - Number(x.prefer) || x.last!.delayMs - y.last!.delayMs)[0];
    const s = best.last!;
    if (this.setClock && Math.abs(s.offsetMs) > STEP_MS) {
      await this.setClock(s.offsetMs);
      this.log('notice', `clock stepped by ${(s.offsetMs / 1000).toFixed(3)} s from NTP server ${best.address} (stratum ${s.stratum})`);
      s.offsetMs = 0;
    }
    if (!this.synced) this.log('notice', `clock synchronized with NTP server ${best.address}, stratum ${s.stratum}, offset ${s.offsetMs.toFixed(1)} ms`);
    this.synced = { peer: best.address, sample: s, at: Date.now() };
    this.pollS = Math.min(MAX_POLL_S, this.pollS * 2);
  }

  /** `show ntp status` */
  status(): string {
    const y = this.synced;
    if (!y) return 'Clock is unsynchronized, stratum 16, no reference clock\n';
    const s = y.sample;
    return `Clock is synchronized, stratum ${s.stratum + 1}, reference is ${y.peer}\n`
      + `reference time is ${new Date(y.at).toISOString().replace('T', ' ').replace('Z', ' UTC')}\n`
      + `clock offset is ${s.offsetMs.toFixed(4)} msec, root delay is ${(s.rootDelayMs + s.delayMs).toFixed(2)} msec\n`
      + `root dispersion is ${s.rootDispersionMs.toFixed(2)} msec${this.setClock ? '' : ' (clock not set: the host owns it)'}\n`;
  }

  /** `show ntp associations` */
  associations(): string {
    const rows = [...this.peers.values()].map((p) => {
      const mark = this.synced?.peer === p.address ? '*' : p.last ? '+' : ' ';
      const s = p.last;
      const when = p.when ? String(Math.round((Date.now() - p.when) / 1000)) : '-';
      return `${mark}~${p.address.padEnd(16)}${(s?.refId ?? '.INIT.').padEnd(16)}${String(s?.stratum ?? 16).padStart(3)}${when.padStart(7)}`
        + `${String(this.pollS).padStart(7)}${p.reach.toString(8).padStart(6)}${(s ? s.delayMs.toFixed(3) : '0.000').padStart(8)}`
        + `${(s ? s.offsetMs.toFixed(3) : '0.000').padStart(9)}${p.error ? `  (${p.error})` : ''}`;
    });
    return '  address         ref clock       st   when   poll reach  delay  offset\n' + rows.map((r) => r + '\n').join('')
      + ' * sys.peer, # selected, + candidate, - outlyer, x falseticker, ~ configured\n';
  }
}

/** One request/reply with a server, on a fresh socket (a fresh random source port each time). */
function query(address: string): Promise<ReturnType<typeof parseSntpReply>> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const req = sntpRequest();
    let t1 = 0;
    const done = (r: ReturnType<typeof parseSntpReply>) => { clearTimeout(timer); sock.close(); resolve(r); };
    const timer = setTimeout(() => done({ ok: false, reason: 'no reply' }), REPLY_WAIT_MS);
    sock.on('error', (e) => done({ ok: false, reason: e.message }));
    sock.on('message', (msg, rinfo) => {
      const t4 = Date.now();
      if (rinfo.address !== address || rinfo.port !== NTP_PORT) return; // not from the server: ignored
      const r = parseSntpReply(msg, req.nonce, t1, t4);
      if (r.ok || r.kiss) done(r); // a bad packet may be a spoof: keep waiting for the real reply
    });
    sock.connect(NTP_PORT, address, () => { t1 = Date.now(); sock.send(req.bytes); });
  });
}

/** Step the system clock by `offsetMs` with `date -u -s @SECONDS` (busybox), at a whole second so
 *  the seconds-only form loses no precision. */
export function stepClockWithDate(offsetMs: number): Promise<void> {
  const target = () => Date.now() + offsetMs;
  return new Promise((resolve) => {
    setTimeout(() => {
      execFile('date', ['-u', '-s', `@${Math.round(target() / 1000)}`], () => resolve());
    }, 1000 - (target() % 1000));
  });
}
