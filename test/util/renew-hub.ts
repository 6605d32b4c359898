// An in-process enrollment hub for the renewal tests: a throw-away CA (TestCa), the service with its
// state kept in memory, and the TLS listener on 127.0.0.1; plus a device enrolled through it, and a raw
// renewal request with any client certificate (what a hostile or broken spoke could send).
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { emptyState, type EnrollmentState } from '../../appliance/enroll/bindings.js';
import { frame } from '../../appliance/enroll/codec.js';
import { EnrollmentService } from '../../appliance/enroll/service.js';
import { EnrollmentListener } from '../../appliance/enroll/listener.js';
import { pinOf } from '../../appliance/enroll/credentials.js';
import { certificateRequest } from '../../appliance/ike/pki/csr.js';
import type { EnrollmentConfig } from '../../appliance/config/model-enroll.js';
import { TestCa } from './pki.js';
import { ROOT } from './lab.js';

export const TEMPLATE = fs.readFileSync(path.join(ROOT, 'test/fixtures/enroll-spoke-template.cfg'), 'utf8');
const SECRET = 'correct-horse-battery-staple';

export const pemOf = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;

/** The hub's TLS identity and CA from `ca` (lab.pem/lab.key; hub.pem for 127.0.0.1). */
export function hubPki(ca: TestCa) {
  const caPem = ca.ca('lab');
  const hubPem = ca.leaf('hub', 'lab', ['127.0.0.1']);
  return { tlsCert: hubPem, tlsKey: ca.read('hub.key'), caCert: caPem, caKey: ca.read('lab.key'), pin: pinOf(hubPem) };
}

/** A hub listening on 127.0.0.1 with `extra` enrollment config (10-minute certificates); closed at the end of `t`. */
export async function renewHub(t: { teardown(f: () => void): void }, extra: Partial<EnrollmentConfig> = {}) {
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const creds = hubPki(ca);
  const cfg: EnrollmentConfig = { tokens: [{ name: 'FLEET', sha256: createHash('sha256').update(SECRET).digest('hex') }], pool: { start: '192.168.0.10', end: '192.168.0.20' }, template: 'spoke.cfg', lifetime: { days: 0, minutes: 10 }, ...extra };
  const state: EnrollmentState = emptyState();
  const logs: string[] = [];
  const saves: EnrollmentState[] = [];
  let port = 0;
  const svc = new EnrollmentService({ config: () => cfg, credentials: () => creds, template: () => TEMPLATE, state,
    save: (s) => { saves.push(structuredClone(s)); }, log: (_l, m, x) => logs.push(`${m}: ${x}`), endpoint: () => ({ address: '127.0.0.1', port }) });
  const listener = new EnrollmentListener(svc, { perSourcePerMinute: 1000, perMinute: 1000, concurrent: 4, handshakeMs: 5000, exchangeMs: 5000 });
  port = await listener.listen(creds, 0, '127.0.0.1');
  t.teardown(() => listener.close());
  /** device key `key` (a new Ed25519 one by default) enrolled with the FLEET token: the key and the answer */
  const enroll = async (key: KeyObject = generateKeyPairSync('ed25519').privateKey) => {
    const a = await svc.handle(frame({ v: 1, token: 'FLEET', secret: SECRET, csr: certificateRequest(key, 'CN=factory') }).subarray(4), '127.0.0.1');
    if (a.status !== 'admitted') throw new Error(`not admitted: ${JSON.stringify(a)}`);
    return { key, answer: a };
  };
  /** one raw request `body` over TLS with client certificate `certPem` and key `keyPem` (if given): the answer's JSON text */
  const raw = (body: object | ((s: tls.TLSSocket) => object), certPem?: string, keyPem?: string) => new Promise<string>((res) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(certPem ? { cert: certPem, key: keyPem } : {}) },
      () => s.write(frame(typeof body === 'function' ? body(s) : body)));
    let got = Buffer.alloc(0);
    s.on('data', (b) => { got = Buffer.concat([got, b]); });
    s.on('close', () => res(got.subarray(4).toString()));
    s.on('error', () => res(got.subarray(4).toString()));
  });
  return { ca, creds, cfg, state, logs, saves, svc, port: () => port, enroll, raw };
}
