// The one door to @peculiar/x509 (a maintained X.509 library; the issue asks for one rather than a
// hand-written DER encoder): it needs the Reflect metadata polyfill loaded before it and node's
// WebCrypto as its provider. Everything else in enroll/ imports x509 from here.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
