// Multiplicative (Fibonacci) hashing of a u32 key: every table and index of the data plane uses the
// same multiplier (PEER_HASH_MUL, shared with the supervisor's readers) and keeps the top bits.
import { PEER_HASH_MUL } from './layout';

/** The top `32 - shift` bits of key * PEER_HASH_MUL. */
@inline export function hashTop(key: u32, shift: u32): u32 { return (key * PEER_HASH_MUL) >>> shift; }

/** `shift` for a table of `capacity` (a power of two) entries. */
@inline export function hashShift(capacity: u32): u32 { return 32 - (31 - clz<u32>(capacity)); }
