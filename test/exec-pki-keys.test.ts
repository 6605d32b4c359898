// `crypto key generate rsa|ec|ed25519` (supervisor/exec-pki.ts over key-store.ts): the key made is of
// the kind and size asked, as node's key parser reads it back from the store's file (not our own
// view of it), the message names the size IOS names, and the file is mode 0600 without the key in
// any message.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { pkiCommands } from '../appliance/supervisor/exec-pki.js';
import { KeyStore } from '../appliance/supervisor/key-store.js';
import { parseStartupConfig } from '../appliance/config/load.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpk-keys-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const store = new KeyStore(path.join(dir, 'startup-config.keys'));
const loaded = parseStartupConfig('hostname R1\n');
if (!loaded.ok) throw new Error('empty config does not load');
const cmds = pkiCommands({ config: () => loaded.config, reconfigure: async () => ({ ok: true }), keys: () => store }).configExec;
const run = (spec: string, p: Record<string, string>) => cmds[spec]({ kw: new Set(), p, no: false }) as Promise<string>;
const stored = (label: string) => {
  const j = JSON.parse(fs.readFileSync(store.file, 'utf8')) as { keys: Record<string, { pem: string }> };
  return createPrivateKey(j.keys[label].pem);
};

t.test('each kind and size is the key asked for', async (t) => {
  t.match(await run('crypto key generate rsa label {label:word} modulus {bits:range:2048-4096}', { label: 'R3072', bits: '3072' }), /% Generating 3072 bit RSA keys/);
  t.equal(stored('R3072').asymmetricKeyDetails?.modulusLength, 3072, 'RSA modulus 3072');
  t.match(await run('crypto key generate rsa label {label:word}', { label: 'RDEF' }), /% Generating 2048 bit RSA keys/, 'RSA without modulus: 2048');
  t.equal(stored('RDEF').asymmetricKeyDetails?.modulusLength, 2048);
  t.match(await run('crypto key generate ec keysize 256 label {label:word}', { label: 'E' }), /% Generating 256 bit EC keys \(P-256\)/);
  t.equal(stored('E').asymmetricKeyDetails?.namedCurve, 'prime256v1', 'EC on P-256');
  t.match(await run('crypto key generate ed25519 label {label:word}', { label: 'D' }), /% Generating Ed25519 keys/);
  t.equal(stored('D').asymmetricKeyType, 'ed25519');
  t.equal(fs.statSync(store.file).mode & 0o777, 0o600, 'key store file mode 0600');
  t.match(await run('crypto key generate ec label {label:word}', { label: 'E' }), /% key pair E exists/, 'an existing label: refused');
  const pem = fs.readFileSync(store.file, 'utf8');
  const secret = /-----BEGIN PRIVATE KEY-----\\n([A-Za-z0-9+/=]{20})/.exec(pem)![1];
  t.notMatch(await run('crypto key zeroize ec {label:word}', { label: 'E' }) + await run('crypto key generate rsa label {label:word}', { label: 'RDEF' }), secret, 'no key material in the messages');
});

t.test('an RSA 4096 key is made without stopping the event loop; its label is taken meanwhile', async (t) => {
  // With a synchronous generation the handler's promise would already be settled when it returns, and
  // its continuation (a microtask) would run before any timer; here the timer comes first.
  let timerRan = false, beforeDone = false;
  setTimeout(() => { timerRan = true; }, 0);
  const gen = run('crypto key generate rsa label {label:word} modulus {bits:range:2048-4096}', { label: 'R4096', bits: '4096' });
  t.match(await run('crypto key generate ec label {label:word}', { label: 'R4096' }), /% key pair R4096 is being generated/, 'the same label meanwhile: refused');
  const out = await gen.then((o) => { beforeDone = timerRan; return o; });
  t.ok(beforeDone, 'a timer ran while the key was being generated');
  t.match(out, /% Generating 4096 bit RSA keys/);
  t.equal(stored('R4096').asymmetricKeyDetails?.modulusLength, 4096, 'RSA modulus 4096, kept in the store');
  t.match(await run('crypto key generate ec label {label:word}', { label: 'R4096' }), /% key pair R4096 exists/, 'after it: the label exists');
});
