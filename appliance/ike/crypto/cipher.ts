// CBC ciphers for IKEv1 SA encryption and for phase-2 ESP keys. Node's OpenSSL 3 has no plain DES
// (it sits in the legacy provider), but 3DES-EDE with K1 = K2 = K3 is E(K) D(K) E(K) = E(K): single DES
// through the default provider. test/ike-crypto.test.ts proves it against FIPS 81 / SP 800-17 vectors.
import { createCipheriv, createDecipheriv } from 'node:crypto';

export type CipherName = 'des' | '3des' | 'aes-cbc';

export interface CbcCipher {
  name: CipherName;
  keyLen: number; // bytes
  blockLen: number;
}

export function cbcCipher(name: CipherName, keyBits?: number): CbcCipher {
  switch (name) {
    case 'des': return { name, keyLen: 8, blockLen: 8 };
    case '3des': return { name, keyLen: 24, blockLen: 8 };
    case 'aes-cbc': {
      const bits = keyBits ?? 128;
      if (![128, 192, 256].includes(bits)) throw new Error(`AES key length ${bits}`);
      return { name, keyLen: bits / 8, blockLen: 16 };
    }
  }
}

function opensslName(c: CbcCipher): { algo: string; key: (k: Uint8Array) => Uint8Array } {
  if (c.name === 'des') return { algo: 'des-ede3-cbc', key: (k) => Buffer.concat([k, k, k]) };
  if (c.name === '3des') return { algo: 'des-ede3-cbc', key: (k) => k };
  return { algo: `aes-${c.keyLen * 8}-cbc`, key: (k) => k };
}

function run(decrypt: boolean, c: CbcCipher, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length !== c.keyLen) throw new Error(`${c.name}: key must be ${c.keyLen} bytes`);
  if (iv.length !== c.blockLen) throw new Error(`${c.name}: IV must be ${c.blockLen} bytes`);
  if (data.length % c.blockLen) throw new Error(`${c.name}: data not a multiple of the block`);
  const o = opensslName(c);
  const x = decrypt ? createDecipheriv(o.algo, o.key(key), iv) : createCipheriv(o.algo, o.key(key), iv);
  x.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([x.update(data), x.final()]));
}

export const cbcEncrypt = (c: CbcCipher, key: Uint8Array, iv: Uint8Array, plain: Uint8Array) => run(false, c, key, iv, plain);
export const cbcDecrypt = (c: CbcCipher, key: Uint8Array, iv: Uint8Array, cipher: Uint8Array) => run(true, c, key, iv, cipher);
