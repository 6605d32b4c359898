// IOS `ip nhrp max-send` accounting for `show ip nhrp traffic`: "Max-send limit:100Pkts/10Sec,
// Usage:N%", N = NHRP packets sent in the last 10 seconds as a percent of the limit. Sampled once a
// second from the engine's running total, so nothing is added to the send path.
export const MAX_SEND = { packets: 100, seconds: 10 };

export class SendUsage {
  /** running totals, one a second, oldest first (MAX_SEND.seconds + 1 kept) */
  private readonly samples: number[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly total: () => number) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.samples.push(this.total());
      if (this.samples.length > MAX_SEND.seconds + 1) this.samples.shift();
    }, 1000);
    this.timer.unref();
  }

  stop(): void { clearInterval(this.timer); this.timer = undefined; }

  percent(): number {
    const sent = this.total() - (this.samples[0] ?? 0);
    return Math.min(100, Math.round((sent * 100) / MAX_SEND.packets));
  }
}
