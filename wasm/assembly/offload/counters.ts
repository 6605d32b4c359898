// Counters of the TSO/GRO offload paths. They live in their own block of the global counter array
// (from index 64; names in appliance/dataplane/layout.ts OFFLOAD_COUNTER_NAMES) so they never shift
// the contract's main counter numbering as other features append to it.
export const TSO_SUPER: u32 = 64;      // GSO super-packets read from TUN and segmented
export const TSO_SEGMENTS: u32 = 65;   // segments they produced
export const CSUM_COMPLETED: u32 = 66; // non-GSO packets whose NEEDS_CSUM checksum we finished
export const GRO_SUPER: u32 = 67;      // coalesced super-packets written to TUN (2+ segments)
export const GRO_MERGED: u32 = 68;     // segments appended to another one
export const DROP_BAD_VNET: u32 = 69;  // malformed virtio_net_hdr or super-packet (dropped)
