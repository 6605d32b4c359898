// The Child SAs IKE negotiated, as entries of the data plane's SA table: index allocation (after the
// manual SAs), SA_ADD of the inbound and outbound halves with GRE-only selectors between the IKE peers,
// SA_PAIR (NAT-T port floating), SA_DEL when the peer deletes them, they expire or `clear crypto sa`.
// Key material is handed to the ring and dropped here; only SPIs and indexes are kept.
import { ESP_ENC, ESP_INTEG, type SaCommands, type SaSpec } from '../dataplane/sa.js';
import type { ChildSaKeys } from '../ike/sa/child-sa.js';
import { ipToU32 } from '../net/ipv4.js';

export interface InstalledChild {
  peer: string;
  /** conn-id of the ISAKMP SA that negotiated it (show crypto ipsec sa). */
  connId: number;
  /** the authenticated identity of that SA's peer (identity-bound NHRP: supervisor/nhrp-identity.ts) */
  peerId?: string;
  spiIn: number;
  spiOut: number;
  inIndex: number;
  /** undefined until the outbound half is installed (installOutbound; the quick mode initiator waits, see IkeService). */
  outIndex?: number;
  mode: 'tunnel' | 'transport';
  udp: boolean;
  /** ESP in UDP between these ports (a NAT between the peers) */
  udpPorts?: { local: number; remote: number };
  transform: string;
  createdAt: number;
  lifetime: number; // seconds
}

/** The data plane's encryption transforms by negotiated cipher and key bits, with the IOS transform name. */
const DATAPLANE_ENC: Record<string, { enc: number; aead: boolean; name: string }> = {
  'aes-cbc-128': { enc: ESP_ENC.AES_CBC_128, aead: false, name: 'esp-aes' },
  'aes-cbc-256': { enc: ESP_ENC.AES_CBC_256, aead: false, name: 'esp-256-aes' },
  'aes-gcm-16-128': { enc: ESP_ENC.AES_GCM_128, aead: true, name: 'esp-gcm' },
  'aes-gcm-16-256': { enc: ESP_ENC.AES_GCM_256, aead: true, name: 'esp-256-gcm' },
  'chacha20-poly1305-256': { enc: ESP_ENC.CHACHA20_POLY1305, aead: true, name: 'esp-chacha20-poly1305' },
};
const DATAPLANE_INTEG: Record<string, { integ: number; name: string }> = {
  'hmac-sha1-96': { integ: ESP_INTEG.HMAC_SHA1_96, name: 'esp-sha-hmac' },
  'hmac-sha256-128': { integ: ESP_INTEG.HMAC_SHA256_128, name: 'esp-sha256-hmac' },
};

/** ESP transform of negotiated keys in the data plane's numbers (an AEAD: its cipher alone, 16-byte ICV),
 *  or why the data plane cannot run it. */
export function dataplaneTransform(k: ChildSaKeys): { enc: number; integ: number; name: string } | string {
  const e = DATAPLANE_ENC[`${k.cipher}-${k.keyBits}`];
  if (!e) return `${k.cipher}-${k.keyBits} is not implemented in the data plane (esp-aes 128/256, esp-gcm 128/256 and esp-chacha20-poly1305 are)`;
  if (e.aead) return k.integrity === 'none' ? { enc: e.enc, integ: ESP_INTEG.NONE, name: e.name } : `${k.cipher} with ${k.integrity}: an AEAD takes no HMAC`;
  const i = DATAPLANE_INTEG[k.integrity];
  if (!i) return `${k.integrity} is not implemented in the data plane (esp-sha-hmac or esp-sha256-hmac are)`;
  return { enc: e.enc, integ: i.integ, name: `${e.name} ${i.name}` };
}

type OutSpec = Omit<SaSpec, 'index' | 'dir'>;

export class ChildSaTable {
  private readonly free: number[] = [];
  private readonly children: InstalledChild[] = [];
  /** Outbound halves not installed yet, with their keys (zeroed once installed or dropped). */
  private readonly pendingOut = new Map<InstalledChild, OutSpec>();

  /** Indexes `first` .. `capacity - 1` of the SA table are ours (the manual SAs hold the ones below). */
  /** `keyLog`: the lab key log (supervisor/ike-keylog.ts), given the keys of each installed pair. */
  constructor(private readonly cmds: SaCommands, first: number, capacity: number, private readonly keyLog?: (k: ChildSaKeys) => void) {
    for (let i = capacity - 1; i >= first; i--) this.free.push(i);
  }

  get all(): readonly InstalledChild[] { return this.children; }
  forPeer(peer: string): InstalledChild[] { return this.children.filter((c) => c.peer === peer); }
  /** An outbound SA to `peer` is installed (GRE to it can leave). */
  hasOutbound(peer: string): boolean { return this.children.some((c) => c.peer === peer && c.outIndex !== undefined); }
  byIndex(index: number): InstalledChild | undefined { return this.children.find((c) => c.inIndex === index || c.outIndex === index); }
  /** The child whose outbound SPI the peer named in a delete notify. */
  byOutboundSpi(peer: string, spi: number): InstalledChild | undefined { return this.children.find((c) => c.peer === peer && c.spiOut === spi); }

  /** Installs the inbound half; the outbound one waits for installOutbound (its caller decides when
   *  the peer can take it, and learns that it went in). A string says why not. */
  /** `lifetimeBytes`: the data plane raises SA_EVENT soft at 85 % of it and stops the SA at 100 %. */
  install(k: ChildSaKeys, connId: number, lifetimeBytes?: bigint): InstalledChild | string {
    const t = dataplaneTransform(k);
    if (typeof t === 'string') return t;
    if (this.free.length < 2) return 'SA table full';
    const inIndex = this.free.pop()!;
    const c: InstalledChild = { peer: k.remote, connId, spiIn: k.inbound.spi, spiOut: k.outbound.spi, inIndex, mode: k.mode,
      udp: !!k.udpEncap, transform: t.name, createdAt: Date.now(), lifetime: k.lifetime,
      ...(k.udpEncap ? { udpPorts: { local: k.udpEncap.localPort, remote: k.udpEncap.remotePort } } : {}) };
    const bytes = lifetimeBytes ? { softBytes: (lifetimeBytes * 85n) / 100n, hardBytes: lifetimeBytes } : {};
    const common = { ...bytes, peer: ipToU32(k.remote), enc: t.enc, integ: t.integ, tunnel: k.mode === 'tunnel', greOnly: true,
      udp: k.udpEncap ? { srcPort: k.udpEncap.localPort, dstPort: k.udpEncap.remotePort } : undefined };
    // an AEAD's key is key || salt (RFC 4106 / 7634), which is what SA_ADD takes; it has no HMAC key
    const auth = (e: ChildSaKeys['inbound']) => (t.integ ? e.authKey : undefined);
    const ok = this.cmds.saAdd({ ...common, index: inIndex, dir: 'in', spi: k.inbound.spi, key: k.inbound.encKey, authKey: auth(k.inbound) });
    if (ok) this.keyLog?.(k);
    k.inbound.encKey.fill(0); k.inbound.authKey.fill(0);
    if (!ok) { this.free.push(inIndex); return 'control ring full'; }
    this.children.push(c);
    this.pendingOut.set(c, { ...common, spi: k.outbound.spi, key: k.outbound.encKey, authKey: auth(k.outbound) });
    return c;
  }

  /** The outbound half of `c`, if still pending: from now on GRE to the peer uses it (newest SA wins). */
  installOutbound(c: InstalledChild): boolean {
    const spec = this.pendingOut.get(c);
    if (!spec || !this.free.length) return false;
    const outIndex = this.free.pop()!;
    if (!this.cmds.saAdd({ ...spec, index: outIndex, dir: 'out' })) { this.free.push(outIndex); return false; }
    this.dropPending(c);
    c.outIndex = outIndex;
    this.cmds.saPair(c.inIndex, outIndex);
    return true;
  }

  /** Removes `c` from the data plane (both halves). */
  remove(c: InstalledChild): void {
    const i = this.children.indexOf(c);
    if (i < 0) return;
    this.children.splice(i, 1);
    this.dropPending(c);
    for (const idx of [c.inIndex, c.outIndex]) {
      if (idx === undefined) continue;
      this.cmds.saDel(idx);
      this.free.push(idx);
    }
  }

  private dropPending(c: InstalledChild): void {
    const spec = this.pendingOut.get(c);
    if (!spec) return;
    spec.key.fill(0); spec.authKey?.fill(0);
    this.pendingOut.delete(c);
  }
}
