// rtnetlink codec (RFC 3549, linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h, linux/if_link.h):
// nlmsghdr framing, rtmsg/ifaddrmsg/ifinfomsg with their attributes, and the requests we send (dumps,
// route add/delete). Pure and bounds-checked: every length is checked against what is left before it
// is used, and a malformed message becomes a `problem` string (counted and dropped by the caller),
// never an exception. Netlink is in host byte order; addresses inside attributes are network order.
import { bytesToIpv4, ipv4Bytes } from './ipv4.js';

export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const;
export const RTM = {
  NEWLINK: 16, DELLINK: 17, GETLINK: 18,
  NEWADDR: 20, DELADDR: 21, GETADDR: 22,
  NEWROUTE: 24, DELROUTE: 25, GETROUTE: 26,
} as const;
export const NLM_F = { REQUEST: 0x1, MULTI: 0x2, ACK: 0x4, ROOT: 0x100, MATCH: 0x200, DUMP: 0x300, REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400 } as const;
/** Multicast groups (the legacy bit masks bind() takes). */
export const RTMGRP = { LINK: 0x1, IPV4_IFADDR: 0x10, IPV4_ROUTE: 0x40 } as const;
export const AF_INET = 2;
export const AF_UNSPEC = 0;
export const RT_TABLE_MAIN = 254;
/** rtm_type */
export const RTN = { UNICAST: 1, LOCAL: 2, BROADCAST: 3, ANYCAST: 4, MULTICAST: 5, BLACKHOLE: 6, UNREACHABLE: 7, PROHIBIT: 8 } as const;
/** rtm_scope */
export const RT_SCOPE = { UNIVERSE: 0, LINK: 253, HOST: 254, NOWHERE: 255 } as const;
/** ifi_flags */
export const IFF = { UP: 0x1, LOOPBACK: 0x8, POINTOPOINT: 0x10, NOARP: 0x80, LOWER_UP: 0x10000 } as const;

const RTA = { DST: 1, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, MULTIPATH: 9, TABLE: 15 } as const;
const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3 } as const;
const IFLA = { IFNAME: 3, MTU: 4 } as const;
const NLA_TYPE_MASK = 0x3fff; // without NLA_F_NESTED / NLA_F_NET_BYTEORDER

const HDR = 16, RTMSG = 12, IFADDRMSG = 8, IFINFOMSG = 16, RTATTR = 4, RTNEXTHOP = 8;
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const align4 = (n: number) => (n + 3) & ~3;

export interface NlHeader { len: number; type: number; flags: number; seq: number; pid: number }
/** One message of a datagram: its header and a view of its payload (after the 16-byte header). */
export interface NlMessage { header: NlHeader; payload: Uint8Array }

export interface RouteMsg {
  family: number; dstLen: number; tos: number; table: number; protocol: number; scope: number; type: number; flags: number;
  dst?: string; gateway?: string; oif?: number; priority?: number; prefsrc?: string;
  /** RTA_MULTIPATH (ECMP): each next hop; a single-path route has none here (gateway/oif above) */
  nexthops: Array<{ gateway?: string; oif: number; flags: number }>;
}
export interface AddrMsg { family: number; prefixLen: number; flags: number; scope: number; index: number; address?: string; local?: string; label?: string }
export interface LinkMsg { family: number; type: number; index: number; flags: number; name?: string; mtu?: number }

export type Decoded =
  | { kind: 'route'; op: 'new' | 'del'; header: NlHeader; route: RouteMsg }
  | { kind: 'addr'; op: 'new' | 'del'; header: NlHeader; addr: AddrMsg }
  | { kind: 'link'; op: 'new' | 'del'; header: NlHeader; link: LinkMsg }
  | { kind: 'done'; header: NlHeader }
  | { kind: 'error'; header: NlHeader; errno: number; message?: string }
  | { kind: 'other'; header: NlHeader };

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Splits one datagram into messages. A header whose length is impossible ends the datagram there. */
export function splitMessages(buf: Uint8Array): { messages: NlMessage[]; problem?: string } {
  const messages: NlMessage[] = [];
  const dv = view(buf);
  let off = 0;
  while (off + HDR <= buf.length) {
    const len = dv.getUint32(off, LITTLE);
    if (len < HDR || len > buf.length - off) return { messages, problem: `nlmsghdr length ${len} at offset ${off} outside the ${buf.length}-byte datagram` };
    messages.push({
      header: { len, type: dv.getUint16(off + 4, LITTLE), flags: dv.getUint16(off + 6, LITTLE), seq: dv.getUint32(off + 8, LITTLE), pid: dv.getUint32(off + 12, LITTLE) },
      payload: buf.subarray(off + HDR, off + len),
    });
    off += align4(len);
  }
  if (off < buf.length) return { messages, problem: `${buf.length - off} bytes after the last message are not a netlink header` };
  return { messages };
}

/** Attributes after a fixed part: type -> value view (the first of a repeated type wins). */
function attributes(b: Uint8Array): { attrs: Map<number, Uint8Array>; problem?: string } {
  const attrs = new Map<number, Uint8Array>();
  const dv = view(b);
  let off = 0;
  while (off + RTATTR <= b.length) {
    const len = dv.getUint16(off, LITTLE), type = dv.getUint16(off + 2, LITTLE) & NLA_TYPE_MASK;
    if (len < RTATTR || len > b.length - off) return { attrs, problem: `attribute ${type} length ${len} at offset ${off} outside its ${b.length}-byte message` };
    if (!attrs.has(type)) attrs.set(type, b.subarray(off + RTATTR, off + len));
    off += align4(len);
  }
  return { attrs };
}

function ipv4Attr(v: Uint8Array | undefined, what: string): string | undefined {
  if (v === undefined) return undefined;
  if (v.length !== 4) throw new DecodeProblem(`${what} is ${v.length} bytes, not an IPv4 address`);
  return bytesToIpv4(v, 0);
}
function u32Attr(v: Uint8Array | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (v.length < 4) throw new DecodeProblem(`${what} is ${v.length} bytes, not a u32`);
  return view(v).getUint32(0, LITTLE);
}
function stringAttr(v: Uint8Array | undefined): string | undefined {
  if (v === undefined) return undefined;
  const end = v.indexOf(0);
  return Buffer.from(v.subarray(0, end < 0 ? v.length : end)).toString('latin1');
}

/** Internal: a malformed field, turned into a `problem` by decodeMessage. */
class DecodeProblem extends Error {}

function decodeRoute(p: Uint8Array): RouteMsg {
  if (p.length < RTMSG) throw new DecodeProblem(`rtmsg needs ${RTMSG} bytes, has ${p.length}`);
  const dv = view(p);
  const { attrs, problem } = attributes(p.subarray(RTMSG));
  if (problem) throw new DecodeProblem(problem);
  const r: RouteMsg = {
    family: p[0], dstLen: p[1], tos: p[3], table: p[4], protocol: p[5], scope: p[6], type: p[7], flags: dv.getUint32(8, LITTLE), nexthops: [],
  };
  if (r.family !== AF_INET) return r; // only IPv4 is read further (we subscribe to IPv4 groups only)
  if (r.dstLen > 32) throw new DecodeProblem(`rtm_dst_len ${r.dstLen} > 32`);
  r.table = u32Attr(attrs.get(RTA.TABLE), 'RTA_TABLE') ?? r.table;
  r.dst = ipv4Attr(attrs.get(RTA.DST), 'RTA_DST');
  r.gateway = ipv4Attr(attrs.get(RTA.GATEWAY), 'RTA_GATEWAY');
  r.oif = u32Attr(attrs.get(RTA.OIF), 'RTA_OIF');
  r.priority = u32Attr(attrs.get(RTA.PRIORITY), 'RTA_PRIORITY');
  r.prefsrc = ipv4Attr(attrs.get(RTA.PREFSRC), 'RTA_PREFSRC');
  const mp = attrs.get(RTA.MULTIPATH);
  if (mp) {
    const mv = view(mp);
    for (let off = 0; off + RTNEXTHOP <= mp.length;) {
      const len = mv.getUint16(off, LITTLE);
      if (len < RTNEXTHOP || len > mp.length - off) throw new DecodeProblem(`rtnexthop length ${len} at offset ${off} outside RTA_MULTIPATH (${mp.length} bytes)`);
      const nh = attributes(mp.subarray(off + RTNEXTHOP, off + len));
      if (nh.problem) throw new DecodeProblem(`next hop: ${nh.problem}`);
      r.nexthops.push({ flags: mp[off + 2], oif: mv.getInt32(off + 4, LITTLE), gateway: ipv4Attr(nh.attrs.get(RTA.GATEWAY), 'next hop RTA_GATEWAY') });
      off += align4(len);
    }
  }
  return r;
}

function decodeAddr(p: Uint8Array): AddrMsg {
  if (p.length < IFADDRMSG) throw new DecodeProblem(`ifaddrmsg needs ${IFADDRMSG} bytes, has ${p.length}`);
  const { attrs, problem } = attributes(p.subarray(IFADDRMSG));
  if (problem) throw new DecodeProblem(problem);
  const a: AddrMsg = { family: p[0], prefixLen: p[1], flags: p[2], scope: p[3], index: view(p).getUint32(4, LITTLE) };
  if (a.family !== AF_INET) return a;
  if (a.prefixLen > 32) throw new DecodeProblem(`ifa_prefixlen ${a.prefixLen} > 32`);
  a.address = ipv4Attr(attrs.get(IFA.ADDRESS), 'IFA_ADDRESS');
  a.local = ipv4Attr(attrs.get(IFA.LOCAL), 'IFA_LOCAL');
  a.label = stringAttr(attrs.get(IFA.LABEL));
  return a;
}

function decodeLink(p: Uint8Array): LinkMsg {
  if (p.length < IFINFOMSG) throw new DecodeProblem(`ifinfomsg needs ${IFINFOMSG} bytes, has ${p.length}`);
  const dv = view(p);
  const { attrs, problem } = attributes(p.subarray(IFINFOMSG));
  if (problem) throw new DecodeProblem(problem);
  return {
    family: p[0], type: dv.getUint16(2, LITTLE), index: dv.getInt32(4, LITTLE), flags: dv.getUint32(8, LITTLE),
    name: stringAttr(attrs.get(IFLA.IFNAME)), mtu: u32Attr(attrs.get(IFLA.MTU), 'IFLA_MTU'),
  };
}

/** One message, decoded; or the reason it cannot be (the caller counts and drops it). */
export function decodeMessage(m: NlMessage): { ok: true; msg: Decoded } | { ok: false; problem: string } {
  const { header, payload } = m;
  try {
    switch (header.type) {
      case RTM.NEWROUTE: case RTM.DELROUTE:
        return { ok: true, msg: { kind: 'route', op: header.type === RTM.NEWROUTE ? 'new' : 'del', header, route: decodeRoute(payload) } };
      case RTM.NEWADDR: case RTM.DELADDR:
        return { ok: true, msg: { kind: 'addr', op: header.type === RTM.NEWADDR ? 'new' : 'del', header, addr: decodeAddr(payload) } };
      case RTM.NEWLINK: case RTM.DELLINK:
        return { ok: true, msg: { kind: 'link', op: header.type === RTM.NEWLINK ? 'new' : 'del', header, link: decodeLink(payload) } };
      case NLMSG.DONE: return { ok: true, msg: { kind: 'done', header } };
      case NLMSG.ERROR: {
        if (payload.length < 4) throw new DecodeProblem(`NLMSG_ERROR needs 4 bytes, has ${payload.length}`);
        const errno = -view(payload).getInt32(0, LITTLE);
        return { ok: true, msg: { kind: 'error', header, errno, message: extAckMessage(payload, header.flags) } };
      }
      default: return { ok: true, msg: { kind: 'other', header } };
    }
  } catch (e) {
    if (e instanceof DecodeProblem) return { ok: false, problem: `type ${header.type} seq ${header.seq}: ${e.message}` };
    throw e;
  }
}

/** NLMSGERR_ATTR_MSG (extended ACK): the kernel's text for a refused request, if it sent one. */
function extAckMessage(p: Uint8Array, flags: number): string | undefined {
  const CAPPED = 0x100, ACK_TLVS = 0x200, NLMSGERR_ATTR_MSG = 1;
  if (!(flags & ACK_TLVS) || p.length < 4 + HDR) return undefined;
  const origLen = view(p).getUint32(4, LITTLE);
  const skip = 4 + (flags & CAPPED ? HDR : align4(origLen));
  if (skip > p.length) return undefined;
  return stringAttr(attributes(p.subarray(skip)).attrs.get(NLMSGERR_ATTR_MSG));
}

// ---------- requests ----------

function message(type: number, flags: number, seq: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HDR + body.length);
  const dv = view(out);
  dv.setUint32(0, out.length, LITTLE);
  dv.setUint16(4, type, LITTLE);
  dv.setUint16(6, flags, LITTLE);
  dv.setUint32(8, seq, LITTLE);
  out.set(body, HDR);
  return out;
}

/** RTM_GETLINK / GETADDR / GETROUTE dump of the whole table (IPv4 for addresses and routes). */
export function dumpRequest(type: typeof RTM.GETLINK | typeof RTM.GETADDR | typeof RTM.GETROUTE, seq: number): Uint8Array {
  const body = new Uint8Array(type === RTM.GETLINK ? IFINFOMSG : type === RTM.GETADDR ? IFADDRMSG : RTMSG);
  body[0] = type === RTM.GETLINK ? AF_UNSPEC : AF_INET;
  return message(type, NLM_F.REQUEST | NLM_F.DUMP, seq, body);
}

export interface RouteRequest {
  prefix: string; len: number; gateway?: string; oif?: number;
  /** ECMP: the next hops (RTA_MULTIPATH), instead of gateway/oif */
  nexthops?: Array<{ gateway: string; oif: number }>;
  table?: number; protocol: number; metric?: number; scope?: number; type?: number;
}

function attr(type: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(align4(RTATTR + value.length));
  const dv = view(out);
  dv.setUint16(0, RTATTR + value.length, LITTLE);
  dv.setUint16(2, type, LITTLE);
  out.set(value, RTATTR);
  return out;
}
function ipv4Value(s: string): Uint8Array {
  const b = ipv4Bytes(s);
  if (!b) throw new Error(`not an IPv4 address: ${s}`);
  return b;
}
function u32Value(n: number): Uint8Array { const b = new Uint8Array(4); view(b).setUint32(0, n >>> 0, LITTLE); return b; }
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}
/** RTA_MULTIPATH's value: one rtnexthop (length, flags, hops, ifindex) + its RTA_GATEWAY per next hop. */
function multipathValue(hops: Array<{ gateway: string; oif: number }>): Uint8Array {
  return concat(hops.map((h) => {
    const gw = attr(RTA.GATEWAY, ipv4Value(h.gateway));
    const nh = new Uint8Array(RTNEXTHOP);
    view(nh).setUint16(0, RTNEXTHOP + gw.length, LITTLE);
    view(nh).setInt32(4, h.oif, LITTLE);
    return concat([nh, gw]);
  }));
}

/** RTM_NEWROUTE (create or replace) / RTM_DELROUTE with an ACK requested. Throws on a bad argument
 *  (our own caller's bug, not network input). */
export function routeRequest(op: 'replace' | 'delete', r: RouteRequest, seq: number): Uint8Array {
  if (!Number.isInteger(r.len) || r.len < 0 || r.len > 32) throw new Error(`prefix length ${r.len} out of range`);
  const fixed = new Uint8Array(RTMSG);
  const table = r.table ?? RT_TABLE_MAIN;
  fixed[0] = AF_INET; fixed[1] = r.len; fixed[4] = table < 256 ? table : 0; fixed[5] = r.protocol;
  // a delete matches any scope (NOWHERE, as iproute2 sends); a route without a gateway is on-link
  const viaGateway = !!r.gateway || !!r.nexthops?.length;
  fixed[6] = r.scope ?? (op === 'delete' ? RT_SCOPE.NOWHERE : viaGateway ? RT_SCOPE.UNIVERSE : RT_SCOPE.LINK); fixed[7] = r.type ?? RTN.UNICAST;
  const parts = [fixed, attr(RTA.DST, ipv4Value(r.prefix)), attr(RTA.TABLE, u32Value(table))];
  if (r.gateway) parts.push(attr(RTA.GATEWAY, ipv4Value(r.gateway)));
  if (r.oif !== undefined) parts.push(attr(RTA.OIF, u32Value(r.oif)));
  if (r.nexthops?.length) parts.push(attr(RTA.MULTIPATH, multipathValue(r.nexthops)));
  if (r.metric !== undefined) parts.push(attr(RTA.PRIORITY, u32Value(r.metric)));
  const body = concat(parts);
  const flags = NLM_F.REQUEST | NLM_F.ACK | (op === 'replace' ? NLM_F.CREATE | NLM_F.REPLACE : 0);
  return message(op === 'replace' ? RTM.NEWROUTE : RTM.DELROUTE, flags, seq, body);
}
