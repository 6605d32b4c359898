// Tunnel configuration (CFG_TUNNEL). The worker keeps a copy in globals for the packet path and writes
// the tunnel state block (docs/dataplane.md, "Tunnel state block") for the supervisor; setup() reloads
// it from there so a restarted worker keeps the configuration.
import {
  tunnelState, nbmaTx, slotDataMax, TUNNEL_FLAG_KEY, TUNNEL_STATE_SOURCE, TUNNEL_STATE_TUNNEL_IP,
  TUNNEL_STATE_TUNNEL_PREFIX_LEN, TUNNEL_STATE_FLAGS, TUNNEL_STATE_KEY, TUNNEL_STATE_IP_MTU, TUNNEL_STATE_TCP_MSS,
  TUNNEL_STATE_TTL, TUNNEL_STATE_P2P_DESTINATION, TUNNEL_STATE_NHS_FALLBACK, TUNNEL_STATE_CONFIG_GEN,
  CFG_TUNNEL_SOURCE, CFG_TUNNEL_TUNNEL_IP, CFG_TUNNEL_TUNNEL_PREFIX_LEN, CFG_TUNNEL_FLAGS, CFG_TUNNEL_KEY,
  CFG_TUNNEL_IP_MTU, CFG_TUNNEL_TCP_MSS, CFG_TUNNEL_TTL, CFG_TUNNEL_P2P_DESTINATION, CFG_TUNNEL_NHS_FALLBACK,
} from './layout';
import { tablesRead } from './tables';

/** Outer IPv4 header we write (no options) and GRE header sizes; see gre/defs.ts for the fields. */
const OUTER_IPV4_LEN: u32 = 20;
const DEFAULT_IP_MTU: u32 = 1400;
const DEFAULT_TTL: u32 = 255;
const MIN_IP_MTU: u32 = 68; // RFC 791: every host must take 68 bytes unfragmented

export let configured: bool = false;
export let source: u32 = 0;
export let tunnelIp: u32 = 0;
export let prefixLen: u32 = 0;
export let flags: u32 = 0;
export let key: u32 = 0;
export let ipMtu: u32 = DEFAULT_IP_MTU;
export let tcpMss: u32 = 0;
export let ttl: u32 = DEFAULT_TTL;
export let p2pDestination: u32 = 0;
export let nhsFallback: u32 = 0;
/** GRE header length (4, or 8 with a key). */
export let greLen: u32 = 4;
/** inner packets longer than this are fragmented or answered with ICMP frag-needed. */
export let effMtu: u32 = DEFAULT_IP_MTU;

/** configGen of the tunnel state block when the globals were loaded. */
let loadedGen: u32 = 0;

/**
 * A worker > 0 at the start of each batch: reloads the globals after worker 0 applied a CFG_TUNNEL,
 * read under the tables' seqlock (core/tables.ts) so a half-written block is never taken.
 */
export function configRefresh(): void {
  if (atomic.load<u32>(tunnelState, TUNNEL_STATE_CONFIG_GEN) == loadedGen) return;
  tablesRead<u32>(reload, 0, 0);
}

function reload(_: u32): u32 { loadConfig(); return 0; }

/** Loads the globals from the tunnel state block. */
export function loadConfig(): void {
  const s = tunnelState;
  loadedGen = load<u32>(s, TUNNEL_STATE_CONFIG_GEN);
  configured = loadedGen != 0;
  source = load<u32>(s, TUNNEL_STATE_SOURCE);
  tunnelIp = load<u32>(s, TUNNEL_STATE_TUNNEL_IP);
  prefixLen = load<u32>(s, TUNNEL_STATE_TUNNEL_PREFIX_LEN);
  flags = load<u32>(s, TUNNEL_STATE_FLAGS);
  key = load<u32>(s, TUNNEL_STATE_KEY);
  ipMtu = load<u32>(s, TUNNEL_STATE_IP_MTU);
  tcpMss = load<u32>(s, TUNNEL_STATE_TCP_MSS);
  ttl = load<u32>(s, TUNNEL_STATE_TTL);
  p2pDestination = load<u32>(s, TUNNEL_STATE_P2P_DESTINATION);
  nhsFallback = load<u32>(s, TUNNEL_STATE_NHS_FALLBACK);
  greLen = (flags & TUNNEL_FLAG_KEY) != 0 ? 8 : 4;
  const room = slotDataMax(nbmaTx) - OUTER_IPV4_LEN - greLen;
  effMtu = ipMtu < room ? ipMtu : room;
}

/** Applies a CFG_TUNNEL record at `d`. Returns false if a field is out of range. */
export function applyCfgTunnel(d: usize): bool {
  const plen = load<u32>(d, CFG_TUNNEL_TUNNEL_PREFIX_LEN);
  let mtu = load<u32>(d, CFG_TUNNEL_IP_MTU);
  let t = load<u32>(d, CFG_TUNNEL_TTL);
  const mss = load<u32>(d, CFG_TUNNEL_TCP_MSS);
  if (mtu == 0) mtu = DEFAULT_IP_MTU;
  if (t == 0) t = DEFAULT_TTL;
  if (plen > 32 || mtu < MIN_IP_MTU || mtu > 65535 || t > 255 || mss > 65535 || load<u32>(d, CFG_TUNNEL_SOURCE) == 0) return false;
  const s = tunnelState;
  store<u32>(s, load<u32>(d, CFG_TUNNEL_SOURCE), TUNNEL_STATE_SOURCE);
  store<u32>(s, load<u32>(d, CFG_TUNNEL_TUNNEL_IP), TUNNEL_STATE_TUNNEL_IP);
  store<u32>(s, plen, TUNNEL_STATE_TUNNEL_PREFIX_LEN);
  store<u32>(s, load<u32>(d, CFG_TUNNEL_FLAGS), TUNNEL_STATE_FLAGS);
  store<u32>(s, load<u32>(d, CFG_TUNNEL_KEY), TUNNEL_STATE_KEY);
  store<u32>(s, mtu, TUNNEL_STATE_IP_MTU);
  store<u32>(s, mss, TUNNEL_STATE_TCP_MSS);
  store<u32>(s, t, TUNNEL_STATE_TTL);
  store<u32>(s, load<u32>(d, CFG_TUNNEL_P2P_DESTINATION), TUNNEL_STATE_P2P_DESTINATION);
  store<u32>(s, load<u32>(d, CFG_TUNNEL_NHS_FALLBACK), TUNNEL_STATE_NHS_FALLBACK);
  atomic.store<u32>(s, load<u32>(s, TUNNEL_STATE_CONFIG_GEN) + 1, TUNNEL_STATE_CONFIG_GEN);
  loadConfig();
  return true;
}
