// `show ip ospf neighbor` and `show ip bgp summary` in IOS form from FRR 8.4's JSON (captured from the
// hub of the seed-003 lab: two spokes FULL/DROTHER; two dynamic BGP neighbors and one configured
// neighbor still connecting).
import t from 'tap';
import fs from 'node:fs';
import { ospfNeighborRows, formatOspfNeighbors, iosOspfState } from '../appliance/show/ospf-neighbor.js';
import { bgpSummaryOf, formatBgpSummary } from '../appliance/show/bgp-summary.js';

const fx = (n: string) => JSON.parse(fs.readFileSync(new URL(`./fixtures/frr/${n}`, import.meta.url), 'utf8'));

t.test('show ip ospf neighbor', async (t) => {
  const rows = ospfNeighborRows(fx('show-ip-ospf-neighbor.json'), (os) => (os === 'Tunnel0' ? 'Tunnel0' : `?${os}`));
  t.same(rows.map((r) => [r.neighborId, r.priority, r.state, r.deadSeconds, r.address, r.iface]),
    [['2.2.2.2', 0, 'FULL/DROTHER', 4, '192.168.0.2', 'Tunnel0'], ['3.3.3.3', 0, 'FULL/DROTHER', 4, '192.168.0.3', 'Tunnel0']]);
  t.equal(formatOspfNeighbors(rows, false), [
    '',
    'Neighbor ID     Pri   State           Dead Time   Address         Interface',
    '2.2.2.2           0   FULL/DROTHER    00:00:04    192.168.0.2     Tunnel0',
    '3.3.3.3           0   FULL/DROTHER    00:00:04    192.168.0.3     Tunnel0',
    '',
  ].join('\n'));
  t.same(['Full/DR', 'Full/Backup', '2-Way/DROther', 'Full/-', 'Init/-', 'ExStart/DR'].map(iosOspfState),
    ['FULL/DR', 'FULL/BDR', '2WAY/DROTHER', 'FULL/  -', 'INIT/  -', 'EXSTART/DR']);
  t.same(ospfNeighborRows(undefined), [], 'FRR not answering: no rows');
  t.same(ospfNeighborRows({}), []);
});

t.test('show ip bgp summary', async (t) => {
  const s = bgpSummaryOf(fx('show-ip-bgp-summary.json'), 1)!;
  t.equal(formatBgpSummary(s, false), [
    'BGP router identifier 192.168.0.1, local AS number 65000',
    'BGP table version is 2, main routing table version 2',
    '3 network entries using 576 bytes of memory',
    '',
    'Neighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd',
    '10.0.1.99       4        65099       0       0        0    0    0 never    Connect',
    '*192.168.0.2    4        65000       4       3        0    0    0 00:00:12        1',
    '*192.168.0.3    4        65000       4       3        0    0    0 00:00:13        1',
    '* Dynamically created based on a listen range command',
    'Dynamically created neighbors: 2, Subnet ranges: 1',
    '',
  ].join('\n'));
  t.equal(formatBgpSummary(bgpSummaryOf({}, 0), false), '% BGP not active\n', 'FRR without BGP');
  t.equal(formatBgpSummary(bgpSummaryOf(undefined, 0), true), '{}\n');
});
