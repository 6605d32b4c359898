// `if-state nhrp` (IOS): the tunnel's line protocol is down until an NHS answers a registration, and
// down again while none does, so routes through the tunnel leave the forwarding table and backup
// routes (a floating static with a higher distance, another interface's route) carry the traffic.
//
// Mechanism: the TUN's carrier (TUNSETCARRIER on the fd we own) with
// net.ipv4.conf.<tun>.ignore_routes_with_linkdown=1. Carrier off makes the kernel flag every route
// through the device "linkdown" and skip it in lookups, so the next best route wins; carrier on
// clears the flag. The kernel applies a carrier change in its link-watch work, not in the ioctl, and
// a carrier off waits for its once-a-second slot: the routes follow the reported line protocol by up
// to about a second. The routes themselves stay in the table, so nothing has to be reinstalled when
// the tunnel comes back: not our statics, not the WASM FIB (it only sees packets the kernel routed
// into the TUN), not routes a routing daemon added (zebra sees the link go down and up, as on IOS).
// Taking the link administratively down instead would delete every route through it, the connected
// tunnel subnet included, and each would have to be put back by whoever added it.
// NHRP itself is unaffected: it travels on the NBMA raw socket, never through the TUN.
import fs from 'node:fs';

export interface LineProtocolHost {
  /** the tunnel interface (IOS name = Linux name) */
  name: string;
  /** `if-state nhrp` configured and at least one NHS to register with (a hub without NHS stays up) */
  followsNhs: boolean;
  /** is any NHS answering our registrations now? */
  anyNhsUp(): boolean;
  setCarrier(on: boolean): void;
  /** one line per change, IOS %LINEPROTO-5-UPDOWN style */
  notice(text: string): void;
  warn(text: string): void;
}

export class LineProtocol {
  private state = true;

  constructor(private readonly h: LineProtocolHost, private readonly sysctlDir = '/proc/sys/net/ipv4/conf') {}

  /** Line protocol as `show interfaces` / `show ip interface brief` / `show dmvpn` report it. */
  get up(): boolean { return this.state; }

  /** With `if-state nhrp`: down from the start (no NHS has answered yet). */
  start(): void {
    if (!this.h.followsNhs) return;
    try {
      fs.writeFileSync(`${this.sysctlDir}/${this.h.name}/ignore_routes_with_linkdown`, '1');
    } catch (e) {
      this.h.warn(`${this.h.name}: if-state nhrp: cannot set ignore_routes_with_linkdown (${(e as Error).message}); ` +
        'routes through the tunnel stay in use while it is down');
    }
    this.state = !this.h.anyNhsUp(); // so update() applies and logs the first state
    this.update();
  }

  /** Follows the NHSes: called when one goes up or down (and periodically, as a safety net). */
  update(): void {
    if (!this.h.followsNhs) return;
    const up = this.h.anyNhsUp();
    if (up === this.state) return;
    try { this.h.setCarrier(up); } catch (e) {
      this.h.warn(`${this.h.name}: if-state nhrp: carrier ${up ? 'on' : 'off'} failed: ${(e as Error).message}`);
      return; // state unchanged: retried on the next update
    }
    this.state = up;
    this.h.notice(`Line protocol on Interface ${this.h.name}, changed state to ${up ? 'up' : 'down'}`);
  }
}
