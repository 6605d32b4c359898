// The worker an ESP SPI goes to with N data-plane workers, as appliance/native/nbma-spread.c's classic
// BPF programs compute it for raw ESP and for ESP in UDP 4500 ((SPI * 0x9e3779b1 mod 2^32) >> 16, mod N),
// written out here again as the tests' oracle: a kernel that ran the programs otherwise fails them.
export const espSpreadWorker = (spi: number, workers: number): number => ((Math.imul(spi, 0x9e3779b1) >>> 0) >>> 16) % workers;

const ipU32 = (a: string) => a.split('.').reduce((n, b) => ((n << 8) | Number(b)) >>> 0, 0);

/** The TUN queue the steering program (appliance/native/tun-steering.c) picks for an outbound IPv4
 *  packet: x = src ^ dst (^ the ports word for TCP/UDP), folded, the same multiply as above, mod the
 *  queue count; written out again as the oracle. `ports`: source port << 16 | destination port. */
export function tunSteerQueue(src: string, dst: string, ports: number | undefined, queues: number): number {
  let x = (ipU32(src) ^ ipU32(dst)) >>> 0;
  if (ports !== undefined) x = (x ^ ports) >>> 0;
  const y = (x ^ (x >>> 16)) >>> 0;
  return ((Math.imul(y, 0x9e3779b1) >>> 0) >>> 16) % queues;
}
