// Installs the planned SAs (ipsec-plan.ts) into the data plane's SA table, keeps NAT-T keepalives
// going to UDP-encapsulated peers, and shows `show crypto ipsec sa` in the IOS layout. IKEv2 will
// program the same table through the same commands; manual SAs are the hand-keyed case.
import { ESP_ENC, ESP_INTEG, SaCommands, readSas, readEspCounters, type SaRow } from '../dataplane/sa.js';
import { ipToU32, u32ToIp } from '../net/ipv4.js';
import type { PlannedSa, CipherName, IntegrityName } from './ipsec-plan.js';
import { SeqGuard } from './seq-guard.js';
import type { LogFn } from '../log/log.js';

const ENC: Record<CipherName, number> = {
  'aes-gcm-128': ESP_ENC.AES_GCM_128, 'aes-gcm-256': ESP_ENC.AES_GCM_256, 'chacha20-poly1305': ESP_ENC.CHACHA20_POLY1305,
  'aes-cbc-128': ESP_ENC.AES_CBC_128, 'aes-cbc-192': 0, 'aes-cbc-256': ESP_ENC.AES_CBC_256, null: ESP_ENC.NULL,
};
const INTEG: Record<IntegrityName, number> = { none: ESP_INTEG.NONE, 'hmac-sha1-96': ESP_INTEG.HMAC_SHA1_96, 'hmac-sha256-128': ESP_INTEG.HMAC_SHA256_128 };
const ENC_NAME: Record<number, string> = { 1: 'esp-gcm', 2: 'esp-256-gcm', 3: 'esp-chacha20-poly1305', 4: 'esp-aes', 5: 'esp-256-aes', 6: 'esp-null' };
const INTEG_NAME: Record<number, string> = { 1: 'esp-sha-hmac', 2: 'esp-sha256-hmac' };
const NATT_KEEPALIVE_MS = 20000; // RFC 3948 suggests 20 s
/** How often persisted inbound replay edges are written (and once more at stop). */
const EDGE_SAVE_MS = 1000;


export class IpsecManager {
  private readonly planned: Array<PlannedSa & { index: number }>;
  private keepalive?: NodeJS.Timeout;
  private edgeTimer?: NodeJS.Timeout;
  private readonly seq: SeqGuard;

  constructor(private readonly cmds: SaCommands, sas: PlannedSa[],
    private readonly opts: { log?: LogFn; readSas?: () => SaRow[] } = {}) {
    this.planned = sas.map((s, index) => ({ ...s, index }));
    this.seq = new SeqGuard(cmds, opts.log ?? (() => {}));
  }

  install(): void {
    for (const s of this.planned) {
      const ok = this.cmds.saAdd({
        index: s.index, dir: s.direction, spi: s.spi, peer: ipToU32(s.peer),
        enc: ENC[s.transform.cipher], integ: INTEG[s.transform.integrity],
        icvLen: s.transform.cipher.startsWith('aes-gcm') ? s.transform.icvLen : 0,
        udp: s.udpEncap ? {} : undefined, tunnel: s.transform.mode === 'tunnel',
        key: s.key, authKey: s.authKey, greOnly: true, ...this.seq.prepare(s),
      });
      if (!ok) throw new Error('control ring full while installing SAs');
    }
    // one manual-sa = one peer: its inbound SA steers its outbound SA's NAT-T port (port floating)
    for (const i of this.planned.filter((s) => s.direction === 'in')) {
      const o = this.outFor(i.index);
      if (o !== undefined && !this.cmds.saPair(i.index, o)) throw new Error('control ring full while installing SAs');
    }
    this.seq.openAll(); // persisted reservations: the first block is on disk before any packet
    const read = this.opts.readSas;
    if (this.seq.persisting && read) {
      this.edgeTimer = setInterval(() => this.seq.saveEdges(read()), EDGE_SAVE_MS);
      this.edgeTimer.unref();
    }
    // the plan no longer needs the key material: drop our copies
    for (const s of this.planned) { s.key.fill(0); s.authKey.fill(0); }
    const udpPeers = [...new Set(this.planned.filter((s) => s.udpEncap && s.direction === 'out').map((s) => s.peer))];
    if (udpPeers.length) {
      const send = () => { for (const p of udpPeers) this.cmds.keepalive(ipToU32(p)); };
      send();
      this.keepalive = setInterval(send, NATT_KEEPALIVE_MS);
      this.keepalive.unref();
    }
  }

  stop(): void {
    clearInterval(this.keepalive);
    clearInterval(this.edgeTimer);
    if (this.seq.persisting && this.opts.readSas) this.seq.saveEdges(this.opts.readSas());
  }

  /** SA_EVENT SEQ_LOW: the outbound SA wants its next persisted block. */
  seqLow(index: number): void { this.seq.reserve(index); }

  /** The outbound SA index of the manual-sa whose inbound SA is `inIndex`. */
  outFor(inIndex: number): number | undefined {
    const i = this.planned.find((p) => p.index === inIndex && p.direction === 'in');
    return i ? this.planned.find((p) => p.name === i.name && p.direction === 'out')?.index : undefined;
  }

  nameOf(index: number): string { return this.planned.find((p) => p.index === index)?.name ?? `sa${index}`; }

  /** IOS-like `show crypto ipsec sa`: one block per peer with its inbound and outbound SAs. */
  show(buffer: ArrayBufferLike, layout: Parameters<typeof readSas>[1] & Parameters<typeof readEspCounters>[1],
    iface: string, local: string, json: boolean): string {
    const rows = readSas(buffer, layout);
    if (json) return JSON.stringify(rows.map((r) => ({ ...r, seq: r.seq.toString(), seqLimit: r.seqLimit.toString(), peer: u32ToIp(r.peer), name: this.nameOf(r.index) }))) + '\n';
    const byPeer = new Map<number, SaRow[]>();
    for (const r of rows) byPeer.set(r.peer, [...(byPeer.get(r.peer) ?? []), r]);
    const out: string[] = [`interface: ${iface}`, `    Crypto map tag: ${iface}-head-0, local addr ${local}`, ''];
    for (const [peer, list] of byPeer) {
      const o = list.find((r) => r.dir === 'out'), i = list.find((r) => r.dir === 'in');
      const encaps = o?.packets ?? 0, decaps = i?.packets ?? 0;
      const drops = i ? Object.values(i.drops).reduce((a, b) => a + b, 0) : 0;
      out.push(`   protected vrf: (none)`, `   local  ident (addr/mask/prot/port): (${local}/255.255.255.255/47/0)`,
        `   remote ident (addr/mask/prot/port): (${u32ToIp(peer)}/255.255.255.255/47/0)`,
        `   current_peer ${u32ToIp(peer)} port ${(o ?? i)!.flags & 1 ? 4500 : 500}`,
        `     #pkts encaps: ${encaps}, #pkts encrypt: ${encaps}, #pkts digest: ${encaps}`,
        `     #pkts decaps: ${decaps}, #pkts decrypt: ${decaps}, #pkts verify: ${decaps}`,
        `     #pkts replay failed: ${i ? i.drops.replay + i.drops.tooOld : 0}, #recv errors ${drops}`, '');
      for (const [title, r] of [['inbound esp sas', i], ['outbound esp sas', o]] as const) {
        out.push(`     ${title}:`);
        if (!r) continue;
        const transform = [ENC_NAME[r.enc], INTEG_NAME[r.integ]].filter(Boolean).join(' ');
        out.push(`      spi: 0x${r.spi.toString(16).toUpperCase()}(${r.spi})`,
          `        transform: ${transform} ,`,
          `        in use settings ={${r.flags & 4 ? 'Tunnel' : 'Transport'}${r.flags & 1 ? ' UDP-Encaps' : ''}, }`,
          `        conn id: ${r.index}, sa name: ${this.nameOf(r.index)} (manual)`,
          `        replay detection support: ${r.dir === 'in' ? `Y  replay window size: ${r.replayWindow}` : 'Y'}`,
          ...(r.dir === 'out' && r.seqLimit < 0xffffffffffffffffn ? [`        sequence number: ${r.seq}, persisted reservation up to ${r.seqLimit}, dropped at limit: ${r.drops.seqLimit}`] : []),
          ...(r.dir === 'in' ? [`        replay dropped: ${r.drops.replay + r.drops.tooOld}, policy dropped: ${r.drops.policy}`] : []),
          `        Status: ${r.state === 'active' ? 'ACTIVE(ACTIVE)' : 'EXPIRED'}`, '');
      }
    }
    return out.join('\n') + '\n';
  }
}
