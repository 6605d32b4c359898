// The worker an ESP SPI goes to with N data-plane workers, as appliance/native/nbma-spread.c's classic
// BPF programs compute it for raw ESP and for ESP in UDP 4500 ((SPI * 0x9e3779b1 mod 2^32) >> 16, mod N),
// written out here again as the tests' oracle: a kernel that ran the programs otherwise fails them.
export const espSpreadWorker = (spi: number, workers: number): number => ((Math.imul(spi, 0x9e3779b1) >>> 0) >>> 16) % workers;
