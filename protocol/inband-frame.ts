// The in-band topology frame (SPEC.md §2): a broadcast Ethernet frame of EtherType 0x88B5
// whose payload is one authenticated TOPOLOGY_UPDATE. It travels on the monitored link,
// where anyone can forge one, so only an authentic, newer one is a control frame; the
// caller judges "newer" with ReplayGuard('epoch') against the frame's capture time.
import { MessageType } from './avp.js';
import type { ControlErrorCode } from './control-errors.js';
import { verifyControlMessage, type ControlMessage } from './control-message.js';
import { readTopologyUpdate, type TopologyUpdateFields } from './control-views.js';

/** IEEE 802 local experimental EtherType 1. */
export const INBAND_ETHERTYPE = 0x88b5;
export const ETHERNET_HEADER_SIZE = 14;
const MAC_SIZE = 6;
const BROADCAST = Buffer.alloc(MAC_SIZE, 0xff);
const ETHERTYPE_OFFSET = 12;

export const INBAND_ERROR_CODES = [
  'SHORT', // shorter than an Ethernet header
  'NOT_INBAND', // EtherType is not 0x88B5 (a VLAN tag in front counts as not in-band)
  'NOT_TOPOLOGY_UPDATE', // an authentic control message of another type
] as const;
export type InbandErrorCode = (typeof INBAND_ERROR_CODES)[number];

export interface InbandError {
  readonly code: InbandErrorCode;
  readonly reason: string;
}

export type InbandFrameDecodeResult =
  | { readonly ok: true; readonly srcMac: Buffer; readonly message: Buffer }
  | { readonly ok: false; readonly error: InbandError };

/** A new frame carrying `topologyUpdateBytes` (an encoded TOPOLOGY_UPDATE), sent from `srcMac`. */
export function encodeInbandFrame(srcMac: Buffer, topologyUpdateBytes: Buffer): Buffer {
  if (srcMac.length !== MAC_SIZE)
    throw new RangeError(`source MAC must be ${MAC_SIZE} bytes, got ${srcMac.length}`);
  const frame = Buffer.alloc(ETHERNET_HEADER_SIZE + topologyUpdateBytes.length);
  BROADCAST.copy(frame, 0);
  srcMac.copy(frame, MAC_SIZE);
  frame.writeUInt16BE(INBAND_ETHERTYPE, ETHERTYPE_OFFSET);
  topologyUpdateBytes.copy(frame, ETHERNET_HEADER_SIZE);
  return frame;
}

function reject(code: InbandErrorCode, reason: string): InbandFrameDecodeResult {
  return { ok: false, error: { code, reason } };
}

/**
 * The control-message bytes of an in-band frame: everything after the Ethernet header (a
 * view into `frame`, no copy). The payload must be exactly one control message, so the
 * control decoder rejects trailing bytes; the destination MAC is not judged (SPEC.md §2
 * makes a frame a control frame by its EtherType and its payload alone).
 */
export function decodeInbandFrame(frame: Uint8Array): InbandFrameDecodeResult {
  const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (buf.length < ETHERNET_HEADER_SIZE)
    return reject('SHORT', `${buf.length} bytes is shorter than an Ethernet header`);
  const etherType = buf.readUInt16BE(ETHERTYPE_OFFSET);
  if (etherType !== INBAND_ETHERTYPE) {
    return reject('NOT_INBAND', `EtherType 0x${etherType.toString(16).padStart(4, '0')} is not 0x88b5`);
  }
  return {
    ok: true,
    srcMac: buf.subarray(MAC_SIZE, 2 * MAC_SIZE),
    message: buf.subarray(ETHERNET_HEADER_SIZE),
  };
}

export type InbandTopologyResult =
  | { readonly ok: true; readonly message: ControlMessage; readonly topology: TopologyUpdateFields }
  | {
      readonly ok: false;
      readonly error: { readonly code: InbandErrorCode | ControlErrorCode; readonly reason: string };
    };

/**
 * An authentic TOPOLOGY_UPDATE carried by `frame`, or why the frame is not one (it is then
 * ordinary traffic). Freshness is not judged here: pass `message` to a ReplayGuard('epoch')
 * with the frame's capture time.
 */
export function readInbandTopologyUpdate(frame: Uint8Array, key: Buffer | null): InbandTopologyResult {
  const carried = decodeInbandFrame(frame);
  if (!carried.ok) return carried;
  const decoded = verifyControlMessage(carried.message, key);
  if (!decoded.ok) return decoded;
  if (decoded.message.type !== MessageType.TOPOLOGY_UPDATE) {
    return {
      ok: false,
      error: {
        code: 'NOT_TOPOLOGY_UPDATE',
        reason: `in-band message type ${decoded.message.type} is not TOPOLOGY_UPDATE (3)`,
      },
    };
  }
  return { ok: true, message: decoded.message, topology: readTopologyUpdate(decoded.message) };
}
