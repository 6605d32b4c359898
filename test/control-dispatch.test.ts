// ctlRx dispatch: a JS handler that throws must not wedge the ring (before: the slot was never
// released, so the same message was replayed on every doorbell, forever, and everything behind it
// was stuck). Now the slot is released, the failure counted and logged once per interval.
import t from 'tap';
import { computeLayout, writeLayout, CTL_IN } from '../appliance/dataplane/layout.js';
import { ipToU32 as ip } from '../appliance/net/ipv4.js';
import { Ring } from '../appliance/dataplane/ring.js';
import { ControlDispatcher, HANDLER_ERROR_LOG_MS, type DataplaneEvents } from '../appliance/supervisor/control-dispatch.js';

function setup(throwFor: Set<string>) {
  const l = computeLayout({ tunSlots: 4, nbmaSlots: 4, ctlSlots: 16, peerCapacity: 16, fibCapacity: 16, saCapacity: 0 });
  const buf = new SharedArrayBuffer(l.end);
  writeLayout(buf, l);
  const producer = new Ring(buf, l.ctlRx), consumer = new Ring(buf, l.ctlRx);
  const handled: string[] = [];
  const events: DataplaneEvents = {
    nhrpIn: (src) => { if (throwFor.has(src)) throw new TypeError(`bad packet from ${src}`); handled.push(src); },
    noEntry: (nh) => { handled.push(`noentry ${nh}`); },
    trafficIndication: () => {},
    esp: () => {},
  };
  const logs: string[] = [];
  let now = 1_000_000;
  const d = new ControlDispatcher(consumer, events, (_lvl, msg) => logs.push(msg), () => now);
  const nhrp = (src: string) => producer.pushSlot(CTL_IN.NHRP_IN, ip(src), ip('10.9.9.9'), new Uint8Array([1, 2, 3]));
  return { d, producer, consumer, handled, logs, nhrp, advance: (ms: number) => { now += ms; } };
}

t.test('a throwing handler: slot released, counted, others still handled, nothing replayed', async (t) => {
  const e = setup(new Set(['192.0.2.66']));
  e.nhrp('192.0.2.1');
  e.nhrp('192.0.2.66');
  e.nhrp('192.0.2.2');
  e.producer.pushSlot(CTL_IN.NO_ENTRY, ip('10.0.0.5'), ip('10.1.0.1'));
  t.equal(e.d.drain(), 4, 'all four messages consumed');
  t.same(e.handled, ['192.0.2.1', '192.0.2.2', 'noentry 10.0.0.5'], 'the messages around the bad one were handled');
  t.equal(e.consumer.pending, 0, 'ring empty: the failing slot was released');
  t.equal(e.d.handlerErrors, 1);
  t.equal(e.d.drain(), 0, 'nothing replayed on the next doorbell');
  t.equal(e.d.handlerErrors, 1);
  t.equal(e.logs.length, 1);
  t.match(e.logs[0], /NHRP_IN \(addr 192\.0\.2\.66\) dropped: its handler threw TypeError: bad packet from 192\.0\.2\.66/);
});

t.test('failures are logged at most once per interval, with the number not logged', async (t) => {
  const e = setup(new Set(['192.0.2.66']));
  for (let i = 0; i < 10; i++) e.nhrp('192.0.2.66');
  e.d.drain();
  t.equal(e.d.handlerErrors, 10);
  t.equal(e.logs.length, 1, 'one line for a burst');
  e.advance(HANDLER_ERROR_LOG_MS / 2);
  e.nhrp('192.0.2.66'); e.d.drain();
  t.equal(e.logs.length, 1, 'still inside the interval');
  e.advance(HANDLER_ERROR_LOG_MS);
  e.nhrp('192.0.2.66'); e.d.drain();
  t.equal(e.logs.length, 2, 'next interval: logged again');
  t.match(e.logs[1], /\(10 more failures since the last report\)/);
  t.equal(e.d.handlerErrors, 12);
});
