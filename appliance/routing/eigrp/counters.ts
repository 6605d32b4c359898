// EIGRP packet counters (what `show ip eigrp traffic` would print): per opcode sent/received and every
// drop by reason, so hostile or broken input is visible, never silent.
import { OPCODE_NAMES } from './types.js';
import type { EigrpDropReason } from './types.js';

export class EigrpCounters {
  readonly sent = new Map<string, number>();
  readonly received = new Map<string, number>();
  readonly dropped = new Map<EigrpDropReason, number>();
  lastDrop?: { reason: EigrpDropReason; from: string; error: string };

  private bump<K>(m: Map<K, number>, k: K): void { m.set(k, (m.get(k) ?? 0) + 1); }
  sentOne(opcode: number, ack = false): void { this.bump(this.sent, ack ? 'Ack' : OPCODE_NAMES[opcode] ?? `op${opcode}`); }
  receivedOne(opcode: number, ack = false): void { this.bump(this.received, ack ? 'Ack' : OPCODE_NAMES[opcode] ?? `op${opcode}`); }
  drop(reason: EigrpDropReason, from: string, error: string): void { this.bump(this.dropped, reason); this.lastDrop = { reason, from, error }; }
  droppedTotal(): number { let n = 0; for (const v of this.dropped.values()) n += v; return n; }
}
