// The header-batch datagram an agent sends to an analyzer (SPEC.md §3, §6.5): a 28-byte
// header and whole records of captured frame bytes, or one piece of a record too large for a
// datagram, optionally ending in a MAC. The decoder never throws on bad bytes. The native
// twin is native/src/header_batch.h (same checks, same order, same names).
import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';

export const HEADER_BATCH_MAGIC = 0x44434842; // "DCHB"
export const HEADER_BATCH_VERSION = 1;
/** Flag bit 0: record bytes start at the Ethernet header. Always set. */
export const HEADER_BATCH_FLAG_ETHERNET = 0x01;
/** Flag bit 1: the datagram carries one piece of one record (SPEC.md §6.5). */
export const HEADER_BATCH_FLAG_FRAGMENT = 0x02;
/** Flag bit 2: a MAC_SIZE-byte MAC ends the datagram (SPEC.md §6.5). */
export const HEADER_BATCH_FLAG_MAC = 0x04;
/** Flag bit 3: zero bytes follow the last record, up to the MAC or the end (SPEC.md §6.5); whole records only. */
export const HEADER_BATCH_FLAG_PADDED = 0x08;
const KNOWN_FLAGS =
  HEADER_BATCH_FLAG_ETHERNET | HEADER_BATCH_FLAG_FRAGMENT | HEADER_BATCH_FLAG_MAC | HEADER_BATCH_FLAG_PADDED;
export const HEADER_BATCH_HEADER_SIZE = 28;
export const RECORD_HEADER_SIZE = 12;
/** A fragment's record header plus its u32 offset. */
export const FRAGMENT_HEADER_SIZE = RECORD_HEADER_SIZE + 4;
export const BATCH_MAC_SIZE = 16;
/** Default UDP payload size a batch fills (SPEC.md §3). */
export const DEFAULT_BATCH_PAYLOAD = 1472;
/** wire_len is u16; larger frames are recorded as this value. */
export const MAX_RECORDED_WIRE_LEN = 0xffff;
/** cap_len is u16: the most bytes a record holds (a whole frame up to 65535 bytes). */
export const MAX_RECORD_CAP_LEN = 0xffff;
/** Label of the batch key's derivation from the cluster key (SPEC.md §6.5). */
const BATCH_KEY_LABEL = 'dicap header batches v2';

export interface BatchRecord {
  /** Capture time: Unix seconds and nanoseconds within the second. */
  readonly tsSec: number;
  readonly tsNsec: number;
  /** Frame length on the wire (clamped to 65535 when encoded). */
  readonly wireLen: number;
  /** The captured bytes from the Ethernet header on (cap_len = data.length). */
  readonly data: Buffer;
}

export interface HeaderBatch {
  readonly nodeId: number;
  readonly epoch: number;
  /** The sending worker's index. */
  readonly stream: number;
  /** Per (node, stream, analyzer) datagram counter (SPEC.md, dicap extensions), u64. */
  readonly seq: bigint;
  readonly records: readonly BatchRecord[];
}

/** One piece of a record split over datagrams: bytes [offset, offset + data.length) of it. */
export interface BatchFragment {
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly wireLen: number;
  /** The whole record's captured length. */
  readonly capLen: number;
  readonly offset: number;
  readonly data: Buffer;
}

export const HEADER_BATCH_ERROR_CODES = [
  'SHORT', // shorter than the 28-byte header (plus the MAC when flagged)
  'BAD_MAGIC',
  'BAD_VERSION',
  'BAD_FLAGS', // bit 0 clear, an undefined bit set, or PADDED on a fragment
  'BAD_RESERVED', // reserved field not 0
  'RECORD_OVERRUN', // a record header or its bytes run past the end of the datagram
  'COUNT_MISMATCH', // the datagram ends before `record count` records
  'TRAILING_BYTES', // bytes left after the last counted record (not zero padding of a PADDED datagram)
  'BAD_FRAGMENT', // a fragment whose count is not 1, that carries no byte, or runs past its record
] as const;
export type HeaderBatchErrorCode = (typeof HEADER_BATCH_ERROR_CODES)[number];

export type HeaderBatchDecodeResult =
  | {
      readonly ok: true;
      /** A fragment datagram has no whole records: see `fragment`. */
      readonly batch: HeaderBatch;
      readonly fragment: BatchFragment | null;
      /** Records skipped as impossible (ts_nsec ≥ 10^9, or cap_len > wire_len); the rest are in batch.records. */
      readonly badRecords: number;
      /** The MAC, when flagged; it covers the first `signedLength` bytes. */
      readonly mac: Buffer | null;
      readonly signedLength: number;
    }
  | { readonly ok: false; readonly error: { readonly code: HeaderBatchErrorCode; readonly reason: string } };

/** The key that signs header batches, derived from the cluster key (SPEC.md §6.5): two AES-128 keys. */
export function deriveBatchKey(clusterKey: Buffer): Buffer {
  return createHmac('sha256', clusterKey).update(BATCH_KEY_LABEL).digest();
}

const GMAC_FIXED_IV = Buffer.alloc(12);

/**
 * The MAC of the first `length` bytes of a datagram: their GMAC under the batch key's first
 * half and a fixed IV, encrypted with AES-128 under its second half (SPEC.md §6.5).
 */
export function batchMac(batchKey: Buffer, bytes: Uint8Array): Buffer {
  const ghash = createCipheriv('aes-128-gcm', batchKey.subarray(0, 16), GMAC_FIXED_IV);
  ghash.setAAD(bytes);
  ghash.final();
  const encrypt = createCipheriv('aes-128-ecb', batchKey.subarray(16, 32), null).setAutoPadding(false);
  return encrypt.update(ghash.getAuthTag());
}

/** True when a decoded datagram's MAC is present and verifies under `batchKey`. */
export function batchMacVerifies(
  batchKey: Buffer,
  bytes: Uint8Array,
  decoded: HeaderBatchDecodeResult,
): boolean {
  if (!decoded.ok || decoded.mac === null) return false;
  return timingSafeEqual(batchMac(batchKey, bytes.subarray(0, decoded.signedLength)), decoded.mac);
}

/** Encoded size of a record carrying `capLen` bytes, for filling a datagram. */
export function batchRecordSize(capLen: number): number {
  return RECORD_HEADER_SIZE + capLen;
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`header batch ${name} ${value} must be an integer 0-${max}`);
  }
}

type BatchHeaderFields = Omit<HeaderBatch, 'records'>;

function writeHeader(out: Buffer, h: BatchHeaderFields, flags: number, count: number): void {
  checkField('nodeId', h.nodeId, 0xffffffff);
  checkField('epoch', h.epoch, 0xffffffff);
  checkField('stream', h.stream, 0xffff);
  checkField('record count', count, 0xffff);
  if (h.seq < 0n || h.seq > 0xffffffffffffffffn) throw new RangeError(`header batch seq ${h.seq} is not u64`);
  out.writeUInt32BE(HEADER_BATCH_MAGIC, 0);
  out.writeUInt8(HEADER_BATCH_VERSION, 4);
  out.writeUInt8(flags, 5);
  out.writeUInt16BE(count, 6);
  out.writeUInt32BE(h.nodeId, 8);
  out.writeUInt32BE(h.epoch, 12);
  out.writeUInt16BE(h.stream, 16);
  out.writeBigUInt64BE(h.seq, 20);
}

function writeRecordHeader(out: Buffer, offset: number, record: BatchRecord, capLen: number): void {
  checkField('tsSec', record.tsSec, 0xffffffff);
  checkField('tsNsec', record.tsNsec, 999_999_999);
  checkField('wireLen', record.wireLen, Number.MAX_SAFE_INTEGER);
  checkField(
    'cap_len (data.length, at most wireLen)',
    capLen,
    Math.min(record.wireLen, MAX_RECORDED_WIRE_LEN),
  );
  out.writeUInt32BE(record.tsSec, offset);
  out.writeUInt32BE(record.tsNsec, offset + 4);
  out.writeUInt16BE(Math.min(record.wireLen, MAX_RECORDED_WIRE_LEN), offset + 8);
  out.writeUInt16BE(capLen, offset + 10);
}

/** Signs a finished datagram in place when there is a key (its last BATCH_MAC_SIZE bytes). */
function sign(out: Buffer, batchKey: Buffer | undefined): Buffer {
  if (batchKey)
    batchMac(batchKey, out.subarray(0, out.length - BATCH_MAC_SIZE)).copy(out, out.length - BATCH_MAC_SIZE);
  return out;
}

/**
 * A new datagram holding `batch` (whole records), signed when `batchKey` is given.
 * Throws RangeError on fields that do not fit their width.
 */
export function encodeHeaderBatch(batch: HeaderBatch, batchKey?: Buffer): Buffer {
  const macSize = batchKey ? BATCH_MAC_SIZE : 0;
  const size = batch.records.reduce(
    (sum, r) => sum + batchRecordSize(r.data.length),
    HEADER_BATCH_HEADER_SIZE,
  );
  const out = Buffer.alloc(size + macSize);
  writeHeader(
    out,
    batch,
    HEADER_BATCH_FLAG_ETHERNET | (batchKey ? HEADER_BATCH_FLAG_MAC : 0),
    batch.records.length,
  );
  let offset = HEADER_BATCH_HEADER_SIZE;
  for (const record of batch.records) {
    writeRecordHeader(out, offset, record, record.data.length);
    record.data.copy(out, offset + RECORD_HEADER_SIZE);
    offset += batchRecordSize(record.data.length);
  }
  return sign(out, batchKey);
}

/**
 * `record` split into fragment datagrams of at most `payloadSize` bytes, as an agent sends a
 * record too large for one datagram: seqs `header.seq`, `header.seq + 1`, …
 */
export function encodeRecordFragments(
  header: BatchHeaderFields,
  record: BatchRecord,
  payloadSize: number,
  batchKey?: Buffer,
): Buffer[] {
  const macSize = batchKey ? BATCH_MAC_SIZE : 0;
  const room = payloadSize - HEADER_BATCH_HEADER_SIZE - FRAGMENT_HEADER_SIZE - macSize;
  if (room < 1) throw new RangeError(`a ${payloadSize}-byte payload holds no fragment byte`);
  const flags =
    HEADER_BATCH_FLAG_ETHERNET | HEADER_BATCH_FLAG_FRAGMENT | (batchKey ? HEADER_BATCH_FLAG_MAC : 0);
  const out: Buffer[] = [];
  for (let offset = 0; offset < record.data.length; offset += room) {
    const piece = record.data.subarray(offset, offset + room);
    const datagram = Buffer.alloc(HEADER_BATCH_HEADER_SIZE + FRAGMENT_HEADER_SIZE + piece.length + macSize);
    writeHeader(datagram, { ...header, seq: header.seq + BigInt(out.length) }, flags, 1);
    writeRecordHeader(datagram, HEADER_BATCH_HEADER_SIZE, record, record.data.length);
    datagram.writeUInt32BE(offset, HEADER_BATCH_HEADER_SIZE + RECORD_HEADER_SIZE);
    piece.copy(datagram, HEADER_BATCH_HEADER_SIZE + FRAGMENT_HEADER_SIZE);
    out.push(sign(datagram, batchKey));
  }
  return out;
}

function reject(code: HeaderBatchErrorCode, reason: string): HeaderBatchDecodeResult {
  return { ok: false, error: { code, reason } };
}

/** A record header that cannot describe a frame: skipped and counted, its datagram kept. */
function badRecordReason(tsNsec: number, wireLen: number, capLen: number): string | undefined {
  if (tsNsec > 999_999_999) return `ts_nsec ${tsNsec} (≥ 10^9)`;
  if (capLen > wireLen) return `cap_len ${capLen} > wire_len ${wireLen}`;
  return undefined;
}

/**
 * Parses one datagram (the MAC is located, not checked: see batchMacVerifies). Each record's
 * `data` is a view into `bytes` (no copy): copy it if you keep it beyond the life of the
 * receive buffer.
 */
export function decodeHeaderBatch(bytes: Uint8Array): HeaderBatchDecodeResult {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER_BATCH_HEADER_SIZE) {
    return reject(
      'SHORT',
      `${buf.length} bytes is shorter than the ${HEADER_BATCH_HEADER_SIZE}-byte batch header`,
    );
  }
  const magic = buf.readUInt32BE(0);
  if (magic !== HEADER_BATCH_MAGIC)
    return reject('BAD_MAGIC', `magic 0x${magic.toString(16)} is not 0x44434842 ("DCHB")`);
  const version = buf.readUInt8(4);
  if (version !== HEADER_BATCH_VERSION)
    return reject('BAD_VERSION', `version ${version} is not ${HEADER_BATCH_VERSION}`);
  const flags = buf.readUInt8(5);
  if (!(flags & HEADER_BATCH_FLAG_ETHERNET) || flags & ~KNOWN_FLAGS)
    return reject('BAD_FLAGS', `flags 0x${flags.toString(16)}: bit 0 must be set, bits 4-7 clear`);
  if (flags & HEADER_BATCH_FLAG_FRAGMENT && flags & HEADER_BATCH_FLAG_PADDED)
    return reject('BAD_FLAGS', `flags 0x${flags.toString(16)}: a fragment (bit 1) is never padded (bit 3)`);
  const reserved = buf.readUInt16BE(18);
  if (reserved !== 0) return reject('BAD_RESERVED', `reserved field is ${reserved}, not 0`);
  const macSize = flags & HEADER_BATCH_FLAG_MAC ? BATCH_MAC_SIZE : 0;
  if (buf.length < HEADER_BATCH_HEADER_SIZE + macSize)
    return reject('SHORT', `${buf.length} bytes cannot hold the batch header and a MAC`);
  const end = buf.length - macSize;
  const count = buf.readUInt16BE(6);
  const header = {
    nodeId: buf.readUInt32BE(8),
    epoch: buf.readUInt32BE(12),
    stream: buf.readUInt16BE(16),
    seq: buf.readBigUInt64BE(20),
  };
  const mac = macSize > 0 ? buf.subarray(end) : null;

  if (flags & HEADER_BATCH_FLAG_FRAGMENT) {
    const at = HEADER_BATCH_HEADER_SIZE;
    if (count !== 1) return reject('BAD_FRAGMENT', `a fragment's record count is ${count}, not 1`);
    if (end < at + FRAGMENT_HEADER_SIZE + 1)
      return reject('BAD_FRAGMENT', 'the fragment carries no byte of its record');
    const tsNsec = buf.readUInt32BE(at + 4);
    const wireLen = buf.readUInt16BE(at + 8);
    const capLen = buf.readUInt16BE(at + 10);
    const offset = buf.readUInt32BE(at + RECORD_HEADER_SIZE);
    const data = buf.subarray(at + FRAGMENT_HEADER_SIZE, end);
    const bad = badRecordReason(tsNsec, wireLen, capLen);
    if (bad) return reject('BAD_FRAGMENT', `the fragment's record has ${bad}`);
    if (offset + data.length > capLen)
      return reject(
        'BAD_FRAGMENT',
        `bytes ${offset}..${offset + data.length} run past the record's ${capLen}`,
      );
    const fragment = { tsSec: buf.readUInt32BE(at), tsNsec, wireLen, capLen, offset, data };
    return { ok: true, batch: { ...header, records: [] }, fragment, badRecords: 0, mac, signedLength: end };
  }

  const records: BatchRecord[] = [];
  let badRecords = 0;
  let offset = HEADER_BATCH_HEADER_SIZE;
  for (let index = 0; index < count; index++) {
    if (offset === end) {
      return reject(
        'COUNT_MISMATCH',
        `record count is ${count}, but the datagram ends after ${index} records`,
      );
    }
    if (offset + RECORD_HEADER_SIZE > end) {
      return reject('RECORD_OVERRUN', `record ${index}'s header is cut off at byte ${end}`);
    }
    const tsNsec = buf.readUInt32BE(offset + 4);
    const wireLen = buf.readUInt16BE(offset + 8);
    const capLen = buf.readUInt16BE(offset + 10);
    const next = offset + batchRecordSize(capLen);
    if (next > end) {
      return reject(
        'RECORD_OVERRUN',
        `record ${index} claims ${capLen} bytes, but only ${end - offset - RECORD_HEADER_SIZE} remain`,
      );
    }
    if (badRecordReason(tsNsec, wireLen, capLen) !== undefined) {
      badRecords++;
    } else {
      records.push({
        tsSec: buf.readUInt32BE(offset),
        tsNsec,
        wireLen,
        data: buf.subarray(offset + RECORD_HEADER_SIZE, next),
      });
    }
    offset = next;
  }
  if (offset !== end) {
    const padding = flags & HEADER_BATCH_FLAG_PADDED ? buf.subarray(offset, end) : null;
    if (padding === null || padding.some((byte) => byte !== 0)) {
      return reject(
        'TRAILING_BYTES',
        `${end - offset} bytes follow the last of the ${count} records${padding ? ', not all zero padding' : ''}`,
      );
    }
  }
  return { ok: true, batch: { ...header, records }, fragment: null, badRecords, mac, signedLength: end };
}
