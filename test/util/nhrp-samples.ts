// Sample NHRP messages of every type we emit, shared by the codec and Wireshark tests.
import {
  FLAG_CISCO_NAT, FLAG_PURGE_N, FLAG_REG_UNIQUE, FLAG_RES_A, FLAG_RES_D, FLAG_RES_Q, FLAG_RES_S, FLAG_RES_U,
  NhrpType,
} from '../../appliance/nhrp/types.js';
import type { NhrpCie, NhrpExtension, NhrpMessage } from '../../appliance/nhrp/types.js';
import { encodeNhrp } from '../../appliance/nhrp/codec.js';

const enc = new TextEncoder();

export const cie = (p: Partial<NhrpCie>): NhrpCie => ({ code: 0, prefixLen: 32, mtu: 1400, holdingTime: 0, preference: 0, ...p });
export const authExt = (secret: string): NhrpExtension =>
  ({ type: 7, compulsory: true, auth: { spi: 1, secret: enc.encode(secret) } });

/** A small, complete IPv4/UDP packet (valid checksum) used as a traffic indication payload. */
export function sampleIpPacket(): Uint8Array {
  const b = new Uint8Array([
    0x45, 0, 0, 32, 0x12, 0x34, 0, 0, 63, 17, 0, 0, 192, 168, 1, 5, 192, 168, 2, 5,
    0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0, 1, 2, 3, 4,
  ]);
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (b[i] << 8) | b[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  s = ~s & 0xffff;
  b[10] = s >> 8; b[11] = s & 0xff;
  return b;
}

export interface Sample { name: string; msg: NhrpMessage; greKey?: number; outerSrc: string; outerDst: string }

const HUB_NBMA = '203.0.113.1';
const SPOKE_NBMA = '198.51.100.2';

export function samples(): Sample[] {
  const resReq: NhrpMessage = {
    type: NhrpType.ResolutionRequest, hopCount: 255, srcNbma: SPOKE_NBMA, srcProto: '10.0.0.2', dstProto: '10.0.0.3',
    flags: FLAG_RES_Q | FLAG_RES_A | FLAG_RES_D | FLAG_RES_U | FLAG_RES_S | FLAG_CISCO_NAT, requestId: 0x01020304,
    cies: [cie({ prefixLen: 32, holdingTime: 600 })],
    extensions: [{ type: 3, compulsory: true, cies: [] }, { type: 4, compulsory: true, cies: [] },
      { type: 5, compulsory: true, cies: [] }],
  };
  return [
    {
      name: 'registration request', greKey: 42, outerSrc: SPOKE_NBMA, outerDst: HUB_NBMA,
      msg: {
        type: NhrpType.RegistrationRequest, hopCount: 1, srcNbma: SPOKE_NBMA, srcProto: '10.0.0.2', dstProto: '10.0.0.1',
        flags: FLAG_REG_UNIQUE | FLAG_CISCO_NAT, requestId: 0x1234abcd,
        cies: [cie({ prefixLen: 255, holdingTime: 600 })],
        extensions: [
          { type: 4, compulsory: true, cies: [] }, { type: 5, compulsory: true, cies: [] },
          { type: 3, compulsory: true, cies: [] },
          { type: 9, compulsory: false, cies: [cie({ nbma: HUB_NBMA, proto: '10.0.0.1' })] },
          authExt('cisco123'),
        ],
      },
    },
    {
      name: 'registration reply', outerSrc: HUB_NBMA, outerDst: SPOKE_NBMA,
      msg: {
        type: NhrpType.RegistrationReply, hopCount: 64, srcNbma: SPOKE_NBMA, srcProto: '10.0.0.2', dstProto: '10.0.0.1',
        flags: FLAG_REG_UNIQUE | FLAG_CISCO_NAT, requestId: 0x1234abcd,
        cies: [cie({ code: 0, prefixLen: 255, holdingTime: 600 })],
        extensions: [
          { type: 4, compulsory: true, cies: [] },
          { type: 5, compulsory: true, cies: [cie({ nbma: '192.0.2.9', proto: '10.0.0.9', holdingTime: 7200 })] },
          { type: 3, compulsory: true, cies: [cie({ prefixLen: 0, nbma: HUB_NBMA, proto: '10.0.0.1', holdingTime: 600 })] },
          { type: 9, compulsory: false, cies: [cie({ nbma: HUB_NBMA, proto: '10.0.0.1' }), cie({ nbma: '100.64.0.7', proto: '10.0.0.2' })] },
          authExt('cisco123'),
        ],
      },
    },
    {
      name: 'registration reply NAK (unique address registered)', outerSrc: HUB_NBMA, outerDst: SPOKE_NBMA,
      msg: {
        type: NhrpType.RegistrationReply, hopCount: 64, srcNbma: SPOKE_NBMA, srcProto: '10.0.0.2', dstProto: '10.0.0.1',
        flags: FLAG_REG_UNIQUE, requestId: 77, cies: [cie({ code: 14, prefixLen: 255, holdingTime: 600 })],
        extensions: [{ type: 3, compulsory: true, cies: [cie({ prefixLen: 0, nbma: HUB_NBMA, proto: '10.0.0.1', holdingTime: 600 })] }],
      },
    },
    { name: 'resolution request', greKey: 0xdeadbeef, outerSrc: SPOKE_NBMA, outerDst: HUB_NBMA, msg: resReq },
    {
      name: 'resolution reply', outerSrc: '198.51.100.3', outerDst: SPOKE_NBMA,
      msg: {
        type: NhrpType.ResolutionReply, hopCount: 64, srcNbma: SPOKE_NBMA, srcProto: '10.0.0.2', dstProto: '10.0.0.3',
        flags: FLAG_RES_Q | FLAG_RES_A | FLAG_RES_S | FLAG_CISCO_NAT, requestId: 0x01020304,
        cies: [cie({ prefixLen: 32, holdingTime: 600, nbma: '198.51.100.3', proto: '10.0.0.3', preference: 1 })],
        extensions: [
          { type: 3, compulsory: true, cies: [cie({ nbma: '198.51.100.3', proto: '10.0.0.3', holdingTime: 600 })] },
          { type: 8, compulsory: false, vendor: { id: 0x00000c, data: new Uint8Array([1, 2]) } },
        ],
      },
    },
    {
      name: 'purge request', outerSrc: HUB_NBMA, outerDst: SPOKE_NBMA,
      msg: {
        type: NhrpType.PurgeRequest, hopCount: 64, srcNbma: HUB_NBMA, srcProto: '10.0.0.1', dstProto: '10.0.0.2',
        flags: FLAG_PURGE_N, requestId: 9, cies: [cie({ prefixLen: 32, proto: '10.0.0.3' })], extensions: [],
      },
    },
    {
      name: 'purge reply', outerSrc: SPOKE_NBMA, outerDst: HUB_NBMA,
      msg: {
        type: NhrpType.PurgeReply, hopCount: 64, srcNbma: HUB_NBMA, srcProto: '10.0.0.1', dstProto: '10.0.0.2',
        flags: 0, requestId: 9, cies: [cie({ prefixLen: 32, proto: '10.0.0.3' })], extensions: [],
      },
    },
    {
      name: 'error indication', outerSrc: HUB_NBMA, outerDst: SPOKE_NBMA,
      msg: {
        type: NhrpType.ErrorIndication, hopCount: 64, srcNbma: HUB_NBMA, srcProto: '10.0.0.1', dstProto: '10.0.0.2',
        flags: 0, requestId: 0, cies: [], errorCode: 6, errorOffset: 0, payload: encodeNhrp(resReq), extensions: [],
      },
    },
    {
      name: 'traffic indication', outerSrc: HUB_NBMA, outerDst: SPOKE_NBMA,
      msg: {
        type: NhrpType.TrafficIndication, hopCount: 1, srcNbma: HUB_NBMA, srcProto: '10.0.0.1', dstProto: '192.168.2.5',
        flags: 0, requestId: 0, cies: [], trafficCode: 0, payload: sampleIpPacket(), extensions: [],
      },
    },
  ];
}
