// Installs the planned SAs (ipsec-plan.ts) into the data plane's SA table, keeps NAT-T keepalives
// going to UDP-encapsulated peers, and names the SAs for `show crypto ipsec sa` (appliance/show/
// crypto-ipsec.ts). IKEv2 will program the same table through the same commands; manual SAs are the
// hand-keyed case.
import { ESP_ENC, ESP_INTEG, SaCommands, type SaRow } from '../dataplane/sa.js';
import { ipToU32 } from '../net/ipv4.js';
import type { PlannedSa, CipherName, IntegrityName } from './ipsec-plan.js';
import { SeqGuard } from './seq-guard.js';
import type { LogFn } from '../log/log.js';

const ENC: Record<CipherName, number> = {
  'aes-gcm-128': ESP_ENC.AES_GCM_128, 'aes-gcm-256': ESP_ENC.AES_GCM_256, 'chacha20-poly1305': ESP_ENC.CHACHA20_POLY1305,
  'aes-cbc-128': ESP_ENC.AES_CBC_128, 'aes-cbc-192': 0, 'aes-cbc-256': ESP_ENC.AES_CBC_256, null: ESP_ENC.NULL,
};
const INTEG: Record<IntegrityName, number> = { none: ESP_INTEG.NONE, 'hmac-sha1-96': ESP_INTEG.HMAC_SHA1_96, 'hmac-sha256-128': ESP_INTEG.HMAC_SHA256_128 };
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
}
