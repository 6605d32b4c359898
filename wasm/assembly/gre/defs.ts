// GRE (RFC 2784) with the key extension (RFC 2890): header fields and protocol types.
export const GRE_FLAGS: usize = 0; // u16: C R K S s recur(3) flags(5) ver(3)
export const GRE_PROTO: usize = 2; // u16 protocol type
export const GRE_KEY: usize = 4; // u32 key, present when K is set
export const GRE_HDR_LEN: u32 = 4;
export const GRE_HDR_LEN_KEY: u32 = 8;
export const GRE_PROTO_IPV4: u32 = 0x0800;
export const GRE_PROTO_NHRP: u32 = 0x2001;
export const GRE_F_K: u32 = 0x2000;
export const GRE_VERSION_MASK: u32 = 7;
/** C | R | S | s | recursion control: rejected (dropGreFlags); bits 8-12 are ignored per RFC 2784. */
export const GRE_F_REJECT: u32 = 0x8000 | 0x4000 | 0x1000 | 0x0800 | 0x0700;

// greDecap results: > 0 is the GRE header length.
export const GRE_E_TRUNCATED: i32 = -1;
export const GRE_E_VERSION: i32 = -2;
export const GRE_E_FLAGS: i32 = -3;
export const GRE_E_KEY: i32 = -4;
