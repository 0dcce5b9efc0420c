// The control-message codec (SPEC.md §1, §1.1): AVP bytes ⇄ ControlMessage, with the
// authentication trailer TIMESTAMP, SENDER_SEQ, HMAC_0..7. Decoding never throws on bad
// bytes; encoding throws RangeError on a message it would not itself accept (misuse).
// Freshness (timestamp window, replay) is ReplayGuard's job, not the codec's.
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  AUTH_TRAILER_AVPS,
  AVP_SIZE,
  AvpCode,
  CONTROL_HEADER_SIZE,
  CONTROL_MAGIC,
  CONTROL_VERSION,
  HMAC_AVP_COUNT,
  MAX_AVPS,
  messageTypeName,
  type MessageType,
} from './avp.js';
import type { ControlError } from './control-errors.js';
import { checkControlBody } from './control-structure.js';

export interface Avp {
  /** u8 */
  readonly code: number;
  /** u32 */
  readonly value: number;
}

/** A message without its authentication trailer: what the typed constructors build. */
export interface ControlBody {
  readonly type: MessageType;
  /** In wire order, without TIMESTAMP, SENDER_SEQ and the HMAC AVPs. */
  readonly avps: readonly Avp[];
}

export interface ControlMessage extends ControlBody {
  /** Sender's Unix seconds (u32). */
  readonly timestamp: number;
  /** Per-sender sequence (u32), increasing. */
  readonly senderSeq: number;
}

export type ControlDecodeResult =
  | { readonly ok: true; readonly message: ControlMessage; readonly macValid: boolean }
  | { readonly ok: false; readonly error: ControlError };

/**
 * The key of insecure mode (`key` null): 32 zero bytes. Insecure messages carry a MAC
 * like any other, so the layout never changes, but it authenticates nothing.
 */
export const INSECURE_KEY: Buffer = Buffer.alloc(32);

const MAC_SIZE = 4 * HMAC_AVP_COUNT;

function computeMac(key: Buffer | null, signed: Buffer): Buffer {
  return createHmac('sha256', key ?? INSECURE_KEY)
    .update(signed)
    .digest();
}

function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

/**
 * Bytes of `msg` with TIMESTAMP, SENDER_SEQ and the HMAC over everything before HMAC_0.
 * `key` is the cluster key, or null in insecure mode. Returns a new Buffer the caller owns.
 */
export function encodeControlMessage(msg: ControlMessage, key: Buffer | null): Buffer {
  const problem = checkControlBody(msg);
  if (problem) throw new RangeError(`cannot encode control message: ${problem.reason}`);
  for (const avp of msg.avps) {
    if (!Number.isInteger(avp.code) || avp.code < 0 || avp.code > 0xff || !isU32(avp.value)) {
      throw new RangeError(
        `cannot encode AVP code ${avp.code} value ${avp.value}: code must be u8, value u32`,
      );
    }
  }
  if (!isU32(msg.timestamp) || !isU32(msg.senderSeq)) {
    throw new RangeError(`timestamp ${msg.timestamp} and senderSeq ${msg.senderSeq} must both be u32`);
  }
  const count = msg.avps.length + AUTH_TRAILER_AVPS;
  if (count > MAX_AVPS)
    throw new RangeError(`${count} AVPs exceed the limit of ${MAX_AVPS}; split the message`);

  const bytes = Buffer.alloc(CONTROL_HEADER_SIZE + AVP_SIZE * count);
  bytes.writeUInt16BE(CONTROL_MAGIC, 0);
  bytes.writeUInt8(CONTROL_VERSION, 2);
  bytes.writeUInt8(msg.type, 3);
  bytes.writeUInt16BE(count, 4);
  let offset = CONTROL_HEADER_SIZE;
  const put = (code: number, value: number) => {
    bytes.writeUInt8(code, offset);
    bytes.writeUInt32BE(value, offset + 1);
    offset += AVP_SIZE;
  };
  for (const avp of msg.avps) put(avp.code, avp.value);
  put(AvpCode.TIMESTAMP, msg.timestamp);
  put(AvpCode.SENDER_SEQ, msg.senderSeq);
  const mac = computeMac(key, bytes.subarray(0, offset));
  for (let i = 0; i < HMAC_AVP_COUNT; i++) put(AvpCode.HMAC_0 + i, mac.readUInt32BE(4 * i));
  return bytes;
}

function reject(code: ControlError['code'], reason: string): ControlDecodeResult {
  return { ok: false, error: { code, reason } };
}

/**
 * The checks of SPEC.md §1 in the order the C++ decoder runs them, so both count a bad
 * message under the same code: header, size, HMAC trailer, the MAC (when `stopOnBadMac`),
 * then TIMESTAMP/SENDER_SEQ and the type's AVP rules.
 */
function decode(bytes: Uint8Array, key: Buffer | null, stopOnBadMac: boolean): ControlDecodeResult {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < CONTROL_HEADER_SIZE) {
    return reject('SHORT', `${buf.length} bytes is shorter than the ${CONTROL_HEADER_SIZE}-byte header`);
  }
  const magic = buf.readUInt16BE(0);
  if (magic !== CONTROL_MAGIC)
    return reject('BAD_MAGIC', `magic 0x${magic.toString(16)} is not 0x4443 ("DC")`);
  const version = buf.readUInt8(2);
  if (version !== CONTROL_VERSION)
    return reject('BAD_VERSION', `version ${version} is not ${CONTROL_VERSION}`);
  const type = buf.readUInt8(3);
  if (!messageTypeName(type))
    return reject('UNKNOWN_TYPE', `message type ${type} is not defined in version 1`);
  const count = buf.readUInt16BE(4);
  if (count > MAX_AVPS) return reject('TOO_MANY_AVPS', `LEN ${count} exceeds the limit of ${MAX_AVPS} AVPs`);
  const expected = CONTROL_HEADER_SIZE + AVP_SIZE * count;
  if (buf.length !== expected) {
    return reject('LENGTH_MISMATCH', `${buf.length} bytes, but LEN ${count} means exactly ${expected}`);
  }

  const avps: Avp[] = [];
  for (let offset = CONTROL_HEADER_SIZE; offset < buf.length; offset += AVP_SIZE) {
    avps.push({ code: buf.readUInt8(offset), value: buf.readUInt32BE(offset + 1) });
  }
  const hmacStart = count - HMAC_AVP_COUNT;
  const hmacs = avps.slice(Math.max(hmacStart, 0));
  if (hmacStart < 0 || hmacs.some((avp, i) => avp.code !== AvpCode.HMAC_0 + i)) {
    return reject('MISSING_HMAC', 'the message does not end with HMAC_0..HMAC_7 in order');
  }
  const received = Buffer.alloc(MAC_SIZE);
  hmacs.forEach((avp, i) => received.writeUInt32BE(avp.value, 4 * i));
  const signed = buf.subarray(0, CONTROL_HEADER_SIZE + AVP_SIZE * hmacStart);
  const macValid = timingSafeEqual(received, computeMac(key, signed));
  if (stopOnBadMac && !macValid) {
    return reject('BAD_HMAC', 'the HMAC does not verify: wrong cluster key, or the message was altered');
  }

  const timestamp = avps[hmacStart - 2];
  const senderSeq = avps[hmacStart - 1];
  if (timestamp?.code !== AvpCode.TIMESTAMP || senderSeq?.code !== AvpCode.SENDER_SEQ) {
    return reject('MISSING_AVP', 'TIMESTAMP and SENDER_SEQ must come right before HMAC_0');
  }
  const message: ControlMessage = {
    type: type as MessageType,
    avps: avps.slice(0, hmacStart - 2),
    timestamp: timestamp.value,
    senderSeq: senderSeq.value,
  };
  const problem = checkControlBody(message);
  return problem ? { ok: false, error: problem } : { ok: true, message, macValid };
}

/**
 * What a receiver calls: parses one control message and accepts it only if its MAC
 * verifies with `key` (null: insecure mode's zero key) and it is well-formed. `ok`
 * means authentic; freshness is still the caller's (ReplayGuard). The result holds no
 * reference to `bytes`.
 */
export function verifyControlMessage(bytes: Uint8Array, key: Buffer | null): ControlDecodeResult {
  return decode(bytes, key, true);
}

/**
 * For tools and diagnostics: like verifyControlMessage, but a MAC that does not verify is
 * reported as `macValid: false` instead of a BAD_HMAC rejection, so forged or mis-keyed
 * messages can still be shown. Never act on a message with `macValid` false.
 */
export function decodeControlMessage(bytes: Uint8Array, key: Buffer | null): ControlDecodeResult {
  return decode(bytes, key, false);
}
