// `show crypto ikev2 sa [detail]` in the IOS 15 layout: one block per IKE SA (tunnel-id, local and
// remote address/port, fvrf/ivrf, status), the negotiated suite and life/active time; `detail` adds
// the SPIs, identities, message IDs, DPD, fragmentation and NAT-T lines. A pure function of the SAs
// and the policy; it prints no key.
import type { IkeV2Policy } from '../ike/config-v2.js';
import type { IkeSaV2 } from '../ike/sa/ike-sa-v2.js';

const ENCR: Record<string, string> = { 'aes-cbc': 'AES-CBC', 'aes-gcm-16': 'AES-GCM', 'chacha20-poly1305': 'CHACHA20-POLY1305' };
const HASH: Record<string, string> = { sha1: 'SHA96', sha256: 'SHA256', sha384: 'SHA384', sha512: 'SHA512' };

/** IOS's names of the AUTH methods (`Auth sign: ECDSA, Auth verify: RSA`) */
const AUTH_NAME: Record<string, string> = { ec: 'ECDSA', rsa: 'RSA', ed25519: 'ED25519' };

const pad = (s: string, n: number) => (s.length >= n ? s + ' ' : s + ' '.repeat(n - s.length));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

export function formatCryptoIkev2Sa(sas: readonly IkeSaV2[], policy: IkeV2Policy | undefined, detail: boolean, now = Date.now()): string {
  const out = [' IPv4 Crypto IKEv2  SA ', '', 'Tunnel-id Local                 Remote                fvrf/ivrf            Status '];
  const kt = policy?.credentials?.key.asymmetricKeyType;
  const ourAuth = kt ? AUTH_NAME[kt] ?? kt : 'PSK';
  for (const sa of sas) {
    out.push(`${pad(String(sa.connId), 10)}${pad(`${sa.local}/${sa.localPort}`, 22)}${pad(`${sa.remote}/${sa.remotePort}`, 22)}${pad('none/none', 21)}${sa.state === 'READY' ? 'READY' : sa.state === 'IN-NEG' ? 'IN-NEG' : 'DELETE'}  `);
    const s = sa.suite;
    if (s) {
      const hash = s.integ ? HASH[s.integ.hash] : 'None';
      out.push(`      Encr: ${ENCR[s.encr.encr]}, keysize: ${s.encr.keyBits}, PRF: ${HASH[s.prf.prf].replace('SHA96', 'SHA1')}, Hash: ${hash}, DH Grp:${s.group}, Auth sign: ${ourAuth}, Auth verify: ${sa.peerKeyType ? AUTH_NAME[sa.peerKeyType] ?? sa.peerKeyType : 'PSK'}`);
    }
    const active = sa.establishedAt ? Math.max(0, Math.floor((now - sa.establishedAt) / 1000)) : 0;
    out.push(`      Life/Active Time: ${policy?.lifetime ?? 86400}/${active} sec`);
    if (!detail) continue;
    out.push(
      `      CE id: 0, Session-id: ${sa.connId}`,
      `      Status Description: ${sa.state === 'READY' ? 'Negotiation done' : sa.state === 'IN-NEG' ? 'Negotiation in progress' : 'Deleting'}`,
      `      Local spi: ${hex(sa.initiator ? sa.ispi : sa.rspi)}       Remote spi: ${hex(sa.initiator ? sa.rspi : sa.ispi)}`,
      `      Local id: ${policy?.localFqdn ?? sa.local}`,
      `      Remote id: ${sa.peerId ?? sa.remote}`,
      `      Local req msg id:  ${pad(String(Math.max(0, sa.nextRequestId - 1)), 15)}Remote req msg id:  ${Math.max(0, sa.nextPeerRequestId - 1)}`,
      `      Local next msg id: ${pad(String(sa.nextRequestId), 15)}Remote next msg id: ${sa.nextPeerRequestId}`,
      `      Local window:      ${pad('1', 15)}Remote window:      1`,
      policy?.dpd ? `      DPD configured for ${policy.dpd.interval} seconds, retry ${policy.dpd.retry}` : '      DPD configured for 0 seconds, retry 0',
      policy?.fragmentMtu ? `      Fragmentation is configured.` : '      Fragmentation not  configured.',
      `      Extended Authentication not configured.`,
      sa.nat ? `      NAT-T is detected ${sa.natLocal ? 'inside' : 'outside'}` : '      NAT-T is not detected',
      `      Initiator of SA : ${sa.initiator ? 'Yes' : 'No'}`,
    );
    if (sa.rekeyedFrom) out.push(`      Rekeyed from: ${sa.rekeyedFrom}`);
    out.push('');
  }
  out.push('', ' IPv6 Crypto IKEv2  SA ', '');
  return out.join('\n') + '\n';
}
