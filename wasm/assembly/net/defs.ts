// Protocol constants of the network layer: IPv4 (RFC 791), ICMP (RFC 792/1191), TCP (RFC 9293),
// UDP (RFC 768). Byte offsets inside each header; multi-byte fields are in network byte order.

// IPv4 header
export const IPV4_VER_IHL: usize = 0;
export const IPV4_TOS: usize = 1;
export const IPV4_TOT_LEN: usize = 2;
export const IPV4_ID: usize = 4;
export const IPV4_FRAG: usize = 6; // flags (3 bits) + fragment offset (13 bits, 8-byte units)
export const IPV4_TTL: usize = 8;
export const IPV4_PROTO: usize = 9;
export const IPV4_CSUM: usize = 10;
export const IPV4_SRC: usize = 12;
export const IPV4_DST: usize = 16;
export const IPV4_HDR_LEN: u32 = 20; // without options
export const IPV4_VERSION: u32 = 4;
export const IPV4_VER_IHL_20: u32 = 0x45;
export const IP_DF: u32 = 0x4000;
export const IP_MF: u32 = 0x2000;
export const IP_OFFMASK: u32 = 0x1fff;
/** IP option type bit: copy the option into every fragment. */
export const IPOPT_COPIED: u32 = 0x80;
export const IPOPT_END: u32 = 0;
export const IPOPT_NOP: u32 = 1;
/** option length byte, after the type (IP and TCP options alike) */
export const OPT_LEN: usize = 1;
export const IPV4_MAX_LEN: u32 = 65535;

// IP protocol numbers
export const IPPROTO_ICMP: u32 = 1;
export const IPPROTO_IPIP: u32 = 4;
export const IPPROTO_TCP: u32 = 6;
export const IPPROTO_UDP: u32 = 17;
export const IPPROTO_IPV6: u32 = 41;
export const IPPROTO_GRE: u32 = 47;
export const IPPROTO_ESP: u32 = 50;

// ICMP
export const ICMP_TYPE: usize = 0;
export const ICMP_CSUM: usize = 2;
export const ICMP_MTU: usize = 6; // next-hop MTU of frag-needed (RFC 1191)
export const ICMP_HDR_LEN: u32 = 8;
export const ICMP_ECHO_REPLY: u32 = 0;
export const ICMP_DEST_UNREACH: u32 = 3;
export const ICMP_FRAG_NEEDED: u32 = 4; // code of DEST_UNREACH
export const ICMP_ECHO: u32 = 8;
export const ICMP_TIMESTAMP: u32 = 13;
export const ICMP_TIMESTAMP_REPLY: u32 = 14;
export const ICMP_INFO_REQUEST: u32 = 15;
export const ICMP_INFO_REPLY: u32 = 16;
export const ICMP_ADDRESS: u32 = 17;
export const ICMP_ADDRESS_REPLY: u32 = 18;
/** RFC 1812 4.3.2.3: an ICMP error quotes as much of the packet as fits in 576 bytes. */
export const ICMP_ERROR_MAX: u32 = 576;
export const TOS_INTERNETWORK_CONTROL: u32 = 0xc0;
export const TTL_DEFAULT: u32 = 64;

// TCP
export const TCP_PORTS: usize = 0;
export const TCP_SEQ: usize = 4;
export const TCP_ACK_SEQ: usize = 8;
export const TCP_DOFF: usize = 12; // data offset in the high nibble (32-bit words)
export const TCP_FLAGS: usize = 13;
export const TCP_CSUM: usize = 16;
export const TCP_HDR_LEN: u32 = 20;
export const TCP_FIN: u32 = 0x01;
export const TCP_SYN: u32 = 0x02;
export const TCP_PSH: u32 = 0x08;
export const TCP_ACK: u32 = 0x10;
export const TCP_CWR: u32 = 0x80;
export const TCPOPT_MSS: u32 = 2;
export const TCPOLEN_MSS: u32 = 4;

// UDP
export const UDP_SPORT: usize = 0;
export const UDP_DPORT: usize = 2;
export const UDP_LEN: usize = 4;
export const UDP_CSUM: usize = 6;
export const UDP_HDR_LEN: u32 = 8;
