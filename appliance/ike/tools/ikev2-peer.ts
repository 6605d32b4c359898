// A stand-alone IKEv2 endpoint for interoperability labs (test/ike2-strongswan.test.ts runs it in a
// network namespace against strongSwan): UDP 500/4500 of --local, the IkeV2Settings in --settings
// (JSON), optionally initiating to --initiate; one JSON line per event on stdout. Key material goes only
// to --keylog FILE (a lab aid like SSLKEYLOGFILE, off by default), never to stdout or a log line.
// Signals: SIGUSR1 prints a status line; SIGUSR2 sends a liveness check on every SA; SIGHUP clears them.
// --claim-fqdn NAME sends ID_FQDN NAME whatever the certificate carries (the configuration check that
// refuses a name our certificate lacks is skipped): a hostile peer, to show that the other side refuses it.
import { appendFileSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ikeV2Policy, type IkeV2Settings } from '../config-v2.js';
import { startIkeV2Udp } from '../transport/udp-v2.js';
import type { IkeSaV2 } from '../sa/ike-sa-v2.js';

const { values } = parseArgs({ options: { local: { type: 'string' }, settings: { type: 'string' }, initiate: { type: 'string' }, keylog: { type: 'string' }, 'claim-fqdn': { type: 'string' } } });
if (!values.local || !values.settings) {
  process.stderr.write('usage: ikev2-peer --local IP --settings FILE.json [--initiate PEER] [--keylog FILE] [--claim-fqdn NAME]\n');
  process.exit(2);
}
const parsed = ikeV2Policy(JSON.parse(readFileSync(values.settings, 'utf8')) as IkeV2Settings);
if (!parsed.ok) { process.stderr.write(`ikev2-peer: ${parsed.reason}\n`); process.exit(2); }
const claim = values['claim-fqdn'];
if (claim !== undefined) parsed.value.localFqdn = claim;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const emit = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const keylog = (o: object) => { if (values.keylog) appendFileSync(values.keylog, JSON.stringify(o) + '\n', { mode: 0o600 }); };
const describe = (sa: IkeSaV2) => ({ peer: sa.remote, ispi: hex(sa.ispi), rspi: hex(sa.rspi), state: sa.state, initiator: sa.initiator, peerId: sa.peerId,
  nat: sa.nat, localPort: sa.localPort, remotePort: sa.remotePort });
for (const w of parsed.warnings) emit({ event: 'warning', line: w });

const ike = await startIkeV2Udp(parsed.value, values.local, {
  log: (level, line) => emit({ event: 'log', level, line }),
  events: {
    established: (sa) => {
      emit({ event: 'established', ...describe(sa), suite: sa.suite });
      const k = sa.keys!;
      keylog({ ispi: hex(sa.ispi), rspi: hex(sa.rspi), skD: hex(k.skD), skEi: hex(k.skEi), skEr: hex(k.skEr), skAi: hex(k.skAi), skAr: hex(k.skAr) });
    },
    child: (sa, k) => {
      emit({ event: 'child', peer: sa.remote, spiIn: k.inbound.spi, spiOut: k.outbound.spi, mode: k.mode, cipher: k.cipher,
        keyBits: k.keyBits, integrity: k.integrity, lifetime: k.lifetime, protocol: k.protocol, udpEncap: k.udpEncap });
      keylog({ ispi: hex(sa.ispi), spiIn: k.inbound.spi, spiOut: k.outbound.spi, encIn: hex(k.inbound.encKey), authIn: hex(k.inbound.authKey),
        encOut: hex(k.outbound.encKey), authOut: hex(k.outbound.authKey) });
    },
    failed: (sa, reason) => emit({ event: 'failed', reason, ...describe(sa) }),
    deleted: (sa) => emit({ event: 'deleted', ...describe(sa) }),
    childDeleted: (sa, spis) => emit({ event: 'child-deleted', peer: sa.remote, spis }),
  },
});
emit({ event: 'listening', port: ike.port });
if (values.initiate) ike.manager.initiate(values.initiate);

const status = () => emit({ event: 'status', counters: ike.manager.counters, sas: ike.manager.sas.map(describe) });
process.on('SIGUSR1', status);
process.on('SIGUSR2', () => { for (const sa of ike.manager.sas) ike.manager.checkLiveness(sa); });
process.on('SIGHUP', () => { for (const sa of ike.manager.sas) ike.manager.clear(sa); });
process.on('SIGTERM', () => { status(); void ike.close().then(() => process.exit(0)); });
