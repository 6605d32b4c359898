// A stand-alone IKEv1 endpoint for interoperability labs (test/ike-strongswan.test.ts runs it inside a
// network namespace against strongSwan): listens on UDP 500 of --local with the crypto config in
// --crypto (a JSON CryptoConfig), optionally initiates to --initiate, and prints one JSON line per
// event on stdout. Key material is written only to --keylog FILE, never to stdout or a log line (the
// lab compares it with strongSwan's SAs; like SSLKEYLOGFILE it is a debugging aid, off by default).
import { appendFileSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CryptoConfig } from '../../config/model.js';
import { startIkeUdp } from '../transport/udp.js';
import type { IkeSaV1 } from '../sa/ike-sa-v1.js';

const { values } = parseArgs({ options: { local: { type: 'string' }, crypto: { type: 'string' }, initiate: { type: 'string' }, quick: { type: 'boolean' }, keylog: { type: 'string' } } });
if (!values.local || !values.crypto) {
  process.stderr.write('usage: ikev1-peer --local IP --crypto FILE.json [--initiate PEER [--quick]] [--keylog FILE]\n');
  process.exit(2);
}
const crypto = JSON.parse(readFileSync(values.crypto, 'utf8')) as CryptoConfig;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const emit = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const keylog = (o: object) => { if (values.keylog) appendFileSync(values.keylog, JSON.stringify(o) + '\n', { mode: 0o600 }); };
const describe = (sa: IkeSaV1) => ({ peer: sa.remote, ispi: hex(sa.ispi), rspi: hex(sa.rspi), connId: sa.connId, state: sa.state, initiator: sa.initiator, peerId: sa.peerId });

const ike = await startIkeUdp(crypto, values.local, {
  log: (level, line) => emit({ event: 'log', level, line }),
  events: {
    established: (sa) => {
      emit({ event: 'established', ...describe(sa) });
      keylog({ ispi: hex(sa.ispi), skeyidD: hex(sa.keys!.skeyidD) });
      if (values.quick && sa.initiator) ike.manager.initiateQuick(sa);
    },
    child: (sa, k) => {
      emit({ event: 'child', peer: sa.remote, spiIn: k.inbound.spi, spiOut: k.outbound.spi, mode: k.mode, cipher: k.cipher,
        keyBits: k.keyBits, integrity: k.integrity, lifetime: k.lifetime, lifetimeKilobytes: k.lifetimeKilobytes, protocol: k.protocol });
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
process.on('SIGTERM', () => { status(); void ike.close().then(() => process.exit(0)); });
