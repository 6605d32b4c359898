// Tunnel configuration (CFG_TUNNEL). The worker keeps a copy in globals for the packet path and writes
// the tunnel state block (docs/dataplane.md, "Tunnel state block") for the supervisor; setup() reloads
// it from there so a restarted worker keeps the configuration.
import { tunnelState, nbmaTx, slotDataMax } from './layout';

export const FLAG_KEY: u32 = 1;
export const FLAG_P2P: u32 = 2;
export const FLAG_STRICT: u32 = 4;
/** Phase 3 hub (`ip nhrp redirect`): report hairpinned traffic for Traffic Indications. */
export const FLAG_REDIRECT: u32 = 8;

export const TS_SOURCE: usize = 0;
export const TS_TUNNEL_IP: usize = 4;
export const TS_PREFIX_LEN: usize = 8;
export const TS_FLAGS: usize = 12;
export const TS_KEY: usize = 16;
export const TS_IP_MTU: usize = 20;
export const TS_TCP_MSS: usize = 24;
export const TS_TTL: usize = 28;
export const TS_P2P_DEST: usize = 32;
export const TS_NHS_FALLBACK: usize = 36;
export const TS_CONFIG_GEN: usize = 40;
export const TS_PEER_COUNT: usize = 44;
export const TS_ROUTE_COUNT: usize = 48;
export const TS_ROUTES_PER_LEN: usize = 64;

export let configured: bool = false;
export let source: u32 = 0;
export let tunnelIp: u32 = 0;
export let prefixLen: u32 = 0;
export let flags: u32 = 0;
export let key: u32 = 0;
export let ipMtu: u32 = 1400;
export let tcpMss: u32 = 0;
export let ttl: u32 = 255;
export let p2pDestination: u32 = 0;
export let nhsFallback: u32 = 0;
/** GRE header length (4, or 8 with a key). */
export let greLen: u32 = 4;
/** inner packets longer than this are fragmented or answered with ICMP frag-needed. */
export let effMtu: u32 = 1400;

/** Loads the globals from the tunnel state block. */
export function loadConfig(): void {
  const s = tunnelState;
  configured = load<u32>(s, TS_CONFIG_GEN) != 0;
  source = load<u32>(s, TS_SOURCE);
  tunnelIp = load<u32>(s, TS_TUNNEL_IP);
  prefixLen = load<u32>(s, TS_PREFIX_LEN);
  flags = load<u32>(s, TS_FLAGS);
  key = load<u32>(s, TS_KEY);
  ipMtu = load<u32>(s, TS_IP_MTU);
  tcpMss = load<u32>(s, TS_TCP_MSS);
  ttl = load<u32>(s, TS_TTL);
  p2pDestination = load<u32>(s, TS_P2P_DEST);
  nhsFallback = load<u32>(s, TS_NHS_FALLBACK);
  greLen = (flags & FLAG_KEY) != 0 ? 8 : 4;
  const room = slotDataMax(nbmaTx) - 20 - greLen;
  effMtu = ipMtu < room ? ipMtu : room;
}

/** Applies CFG_TUNNEL (10 u32 fields at `d`). Returns false if a field is out of range. */
export function applyCfgTunnel(d: usize): bool {
  const plen = load<u32>(d, 8);
  let mtu = load<u32>(d, 20);
  let t = load<u32>(d, 28);
  const mss = load<u32>(d, 24);
  if (mtu == 0) mtu = 1400;
  if (t == 0) t = 255;
  if (plen > 32 || mtu < 68 || mtu > 65535 || t > 255 || mss > 65535 || load<u32>(d, 0) == 0) return false;
  const s = tunnelState;
  store<u32>(s, load<u32>(d, 0), TS_SOURCE);
  store<u32>(s, load<u32>(d, 4), TS_TUNNEL_IP);
  store<u32>(s, plen, TS_PREFIX_LEN);
  store<u32>(s, load<u32>(d, 12), TS_FLAGS);
  store<u32>(s, load<u32>(d, 16), TS_KEY);
  store<u32>(s, mtu, TS_IP_MTU);
  store<u32>(s, mss, TS_TCP_MSS);
  store<u32>(s, t, TS_TTL);
  store<u32>(s, load<u32>(d, 32), TS_P2P_DEST);
  store<u32>(s, load<u32>(d, 36), TS_NHS_FALLBACK);
  atomic.store<u32>(s, load<u32>(s, TS_CONFIG_GEN) + 1, TS_CONFIG_GEN);
  loadConfig();
  return true;
}
