// SNTPv4 client packets (RFC 4330; the NTPv4 header of RFC 5905 section 7.3): the request, the checks
// a reply must pass, and the clock offset and round-trip delay it gives. Everything here is pure data;
// the socket and the polling are in supervisor/ntp-client.ts. A reply can come from anyone on the
// Internet: it is accepted only if it answers our request (its Originate Timestamp is the random
// Transmit Timestamp we sent, RFC 5905's "bogus" check), is a server reply (mode 4) from a
// synchronized server (leap indicator not 3, stratum 1-15), and has sane root delay and dispersion.
import { randomBytes } from 'node:crypto';

export const NTP_PORT = 123;
export const PACKET_LEN = 48;
/** seconds from 1900-01-01 (NTP era 0) to 1970-01-01 */
const NTP_UNIX_OFFSET = 2_208_988_800;
const TWO32 = 2 ** 32;
/** RFC 5905 MAXDISP: a server claiming more root delay or dispersion than this is not worth using */
const MAX_ROOT_SECONDS = 16;

export interface SntpRequest { bytes: Buffer; nonce: Buffer }

/** A client request (LI 0, VN 4, mode 3). Its Transmit Timestamp is a random nonce rather than our
 *  clock (as chrony does), so the reply's Originate Timestamp proves it answers this request. */
export function sntpRequest(): SntpRequest {
  const bytes = Buffer.alloc(PACKET_LEN);
  bytes[0] = (0 << 6) | (4 << 3) | 3;
  const nonce = randomBytes(8);
  nonce.copy(bytes, 40);
  return { bytes, nonce };
}

/** NTP 64-bit timestamp at `off` to Unix milliseconds. RFC 4330 section 3: with the top bit of the
 *  seconds clear the time is in era 1 (from 2036-02-07), so the client keeps working after 2036. */
export function ntpToUnixMs(b: Buffer, off: number): number {
  const sec = b.readUInt32BE(off), frac = b.readUInt32BE(off + 4);
  const era = sec & 0x8000_0000 ? 0 : 1;
  return (sec + era * TWO32 - NTP_UNIX_OFFSET) * 1000 + (frac / TWO32) * 1000;
}

export function unixMsToNtp(ms: number, b: Buffer, off: number): void {
  const total = ms / 1000 + NTP_UNIX_OFFSET;
  const sec = Math.floor(total);
  b.writeUInt32BE(sec % TWO32, off);
  b.writeUInt32BE(Math.floor((total - sec) * TWO32), off + 4);
}

export interface SntpSample {
  /** how far our clock is behind the server's, ms (add it to correct the clock) */
  offsetMs: number;
  /** round-trip delay, ms */
  delayMs: number;
  stratum: number;
  /** reference identifier: 4 ASCII characters at stratum 1, else the server's source as an address */
  refId: string;
  rootDelayMs: number;
  rootDispersionMs: number;
}

export type SntpResult = { ok: true; sample: SntpSample } | { ok: false; reason: string; kiss?: string };

const short = (b: Buffer, off: number) => (b.readUInt16BE(off) + b.readUInt16BE(off + 2) / 65536) * 1000; // NTP short format, ms

/** Check and use a reply; `t1`/`t4` are our clock (Unix ms) when the request left and the reply came. */
export function parseSntpReply(b: Buffer, nonce: Buffer, t1: number, t4: number): SntpResult {
  if (b.length < PACKET_LEN) return { ok: false, reason: `short packet (${b.length} bytes)` };
  const li = b[0] >> 6, vn = (b[0] >> 3) & 7, mode = b[0] & 7, stratum = b[1];
  if (mode !== 4) return { ok: false, reason: `not a server reply (mode ${mode})` };
  if (vn < 3 || vn > 4) return { ok: false, reason: `version ${vn}` };
  if (!b.subarray(24, 32).equals(nonce)) return { ok: false, reason: 'does not answer our request (originate timestamp)' };
  const refRaw = b.subarray(12, 16);
  if (stratum === 0) {
    // kiss-o'-death (RFC 4330 section 8): DENY/RSTR mean stop using this server, RATE means slow down
    return { ok: false, reason: 'kiss-o\'-death', kiss: refRaw.toString('latin1').replace(/[^\x20-\x7e]/g, '?') };
  }
  if (stratum > 15) return { ok: false, reason: `stratum ${stratum} (unsynchronized)` };
  if (li === 3) return { ok: false, reason: 'server clock not synchronized (leap indicator 3)' };
  if (b.readUInt32BE(40) === 0 && b.readUInt32BE(44) === 0) return { ok: false, reason: 'no transmit timestamp' };
  const rootDelayMs = short(b, 4), rootDispersionMs = short(b, 8);
  if (rootDelayMs / 2 + rootDispersionMs > MAX_ROOT_SECONDS * 1000) return { ok: false, reason: 'root distance too large' };
  const t2 = ntpToUnixMs(b, 32), t3 = ntpToUnixMs(b, 40);
  const offsetMs = ((t2 - t1) + (t3 - t4)) / 2;
  const delayMs = (t4 - t1) - (t3 - t2);
  const refId = stratum === 1 ? refRaw.toString('latin1').replace(/\0+$/, '') : [...refRaw].join('.');
  return { ok: true, sample: { offsetMs, delayMs: Math.max(0, delayMs), stratum, refId, rootDelayMs, rootDispersionMs } };
}
