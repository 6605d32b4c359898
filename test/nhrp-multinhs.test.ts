// Several NHSes: IOS registers with all of them (no cluster limit by default) and sends resolution
// requests to the best responding one: lower priority number first, then configuration order.
// When the primary stops answering requests move to the next; they return when it is back.
import t from 'tap';
import { selectNhs } from '../appliance/nhrp/resolution-nhs.js';
import { Net, Node, clientOf, tunnel } from './util/nhrp-net.js';

const H1 = { ip: '10.0.0.1', nbma: '203.0.113.1' };
const H2 = { ip: '10.0.0.254', nbma: '203.0.113.254' };
const A = { ip: '10.0.0.2', nbma: '198.51.100.2' };
const B = { ip: '10.0.0.3', nbma: '198.51.100.3' };

t.test('selectNhs: responding first, then lower priority number, then configuration order', async (t) => {
  const c = (nbma: string, priority: number, up: boolean) => ({ nbma, priority, up });
  t.equal(selectNhs([c('x', 5, true), c('y', 0, true)])?.nbma, 'y', 'priority 0 is the most preferred');
  t.equal(selectNhs([c('x', 0, false), c('y', 9, true)])?.nbma, 'y', 'a responding NHS beats a silent one');
  t.equal(selectNhs([c('x', 3, true), c('y', 3, true)])?.nbma, 'x', 'ties: configuration order');
  t.equal(selectNhs([c('x', 3, false), c('y', 1, false)])?.nbma, 'y', 'none responding: still by priority');
  t.equal(selectNhs([]), undefined);
});

t.test('registers with every NHS; resolves via the preferred one, fails over and comes back', async (t) => {
  const net = new Net();
  const h1 = new Node(net, H1, tunnel());
  const h2 = new Node(net, H2, tunnel());
  // H2 listed first but H1 has the better (lower) priority
  const cfg = () => clientOf([{ ...H2, priority: 2 }, { ...H1, priority: 1 }]);
  const a = new Node(net, A, cfg());
  const b = new Node(net, B, cfg());
  [h1, h2, a, b].forEach((n) => n.engine.start());
  net.settle(0);
  t.match(h1.entry(A.ip), { flags: { registered: true } }, 'registered with H1');
  t.match(h2.entry(A.ip), { flags: { registered: true } }, 'and with H2');
  t.match(a.engine.nhsStatus(), [{ tunnelIp: H2.ip, up: true }, { tunnelIp: H1.ip, up: true }]);

  a.engine.noEntry(B.ip, '192.168.20.5');
  t.same(net.of(1, A.nbma).map((s) => s.to), [H1.nbma], 'request to the priority-1 NHS');
  t.match(a.entry(B.ip), { nbma: B.nbma });

  net.cut.add(H1.nbma);
  net.settle(300_000); // next registration at 200 s goes unanswered three times
  t.match(a.engine.nhsStatus()[1], { tunnelIp: H1.ip, up: false }, 'H1 declared down');
  a.engine.clearCache();
  a.engine.noEntry(B.ip, '192.168.20.5');
  t.equal(net.of(1, A.nbma).at(-1)?.to, H2.nbma, 'failed over to H2');
  t.match(a.entry(B.ip), { type: 'dynamic', nbma: B.nbma }, 'and resolved there');

  net.cut.delete(H1.nbma);
  net.settle(70_000); // registration retries to H1 back off to at most 64 s
  t.match(a.engine.nhsStatus()[1], { up: true }, 'H1 answering again');
  a.engine.clearCache();
  a.engine.noEntry(B.ip, '192.168.20.5');
  t.equal(net.of(1, A.nbma).at(-1)?.to, H1.nbma, 'back on the preferred NHS');
});

t.test('a request in flight moves to the next NHS when the preferred one stops answering', async (t) => {
  const net = new Net();
  const h1 = new Node(net, H1, tunnel());
  const h2 = new Node(net, H2, tunnel());
  const a = new Node(net, A, clientOf([H1, H2]));
  const b = new Node(net, B, clientOf([H1, H2]));
  [h1, h2, a, b].forEach((n) => n.engine.start());
  net.settle(0);
  net.cut.add(H1.nbma);
  // A's registration with H1 goes unanswered at 200, 201 and 203 s; at 207 s H1 is declared down.
  net.settle(205_000);
  a.engine.noEntry(B.ip, '192.168.20.5');
  t.same(net.of(1, A.nbma).map((s) => s.to), [H1.nbma], 'first try: H1, still believed up');
  net.settle(1_000);
  t.equal(net.of(1, A.nbma).at(-1)?.to, H1.nbma, 'first retransmission: H1 still');
  t.match(a.entry(B.ip), { type: 'incomplete' });
  net.settle(2_000);
  t.match(a.engine.nhsStatus()[0], { up: false }, 'H1 declared down meanwhile');
  t.equal(net.of(1, A.nbma).at(-1)?.to, H2.nbma, 'second retransmission re-chose: H2');
  t.match(a.entry(B.ip), { type: 'dynamic', nbma: B.nbma }, 'resolved without going negative');
});
