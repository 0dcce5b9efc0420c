// The header-batch datagram an agent sends to an analyzer (SPEC.md §3): a 28-byte header
// and whole records of captured frame bytes. The decoder never throws on bad bytes.

export const HEADER_BATCH_MAGIC = 0x44434842; // "DCHB"
export const HEADER_BATCH_VERSION = 1;
/** Flag bit 0: record bytes start at the Ethernet header. Always set in version 1. */
export const HEADER_BATCH_FLAG_ETHERNET = 0x01;
export const HEADER_BATCH_HEADER_SIZE = 28;
export const RECORD_HEADER_SIZE = 12;
/** Default UDP payload size a batch fills (SPEC.md §3). */
export const DEFAULT_BATCH_PAYLOAD = 1472;
/** wire_len is u16; larger frames are recorded as this value. */
export const MAX_RECORDED_WIRE_LEN = 0xffff;

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

export const HEADER_BATCH_ERROR_CODES = [
  'SHORT', // shorter than the 28-byte header
  'BAD_MAGIC',
  'BAD_VERSION',
  'BAD_FLAGS', // flags other than exactly bit 0
  'BAD_RESERVED', // reserved field not 0
  'RECORD_OVERRUN', // a record header or its bytes run past the end of the datagram
  'COUNT_MISMATCH', // the datagram ends before `record count` records
  'BAD_RECORD', // ts_nsec ≥ 10^9, or cap_len > wire_len
  'TRAILING_BYTES', // bytes left after the last counted record
] as const;
export type HeaderBatchErrorCode = (typeof HEADER_BATCH_ERROR_CODES)[number];

export type HeaderBatchDecodeResult =
  | { readonly ok: true; readonly batch: HeaderBatch }
  | { readonly ok: false; readonly error: { readonly code: HeaderBatchErrorCode; readonly reason: string } };

/** Encoded size of a record carrying `capLen` bytes, for filling a datagram. */
export function batchRecordSize(capLen: number): number {
  return RECORD_HEADER_SIZE + capLen;
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`header batch ${name} ${value} must be an integer 0-${max}`);
  }
}

/** A new datagram holding `batch`. Throws RangeError on fields that do not fit their width. */
export function encodeHeaderBatch(batch: HeaderBatch): Buffer {
  checkField('nodeId', batch.nodeId, 0xffffffff);
  checkField('epoch', batch.epoch, 0xffffffff);
  checkField('stream', batch.stream, 0xffff);
  checkField('record count', batch.records.length, 0xffff);
  if (batch.seq < 0n || batch.seq > 0xffffffffffffffffn)
    throw new RangeError(`header batch seq ${batch.seq} is not u64`);
  const size = batch.records.reduce(
    (sum, r) => sum + batchRecordSize(r.data.length),
    HEADER_BATCH_HEADER_SIZE,
  );
  const out = Buffer.alloc(size);
  out.writeUInt32BE(HEADER_BATCH_MAGIC, 0);
  out.writeUInt8(HEADER_BATCH_VERSION, 4);
  out.writeUInt8(HEADER_BATCH_FLAG_ETHERNET, 5);
  out.writeUInt16BE(batch.records.length, 6);
  out.writeUInt32BE(batch.nodeId, 8);
  out.writeUInt32BE(batch.epoch, 12);
  out.writeUInt16BE(batch.stream, 16);
  out.writeBigUInt64BE(batch.seq, 20);
  let offset = HEADER_BATCH_HEADER_SIZE;
  for (const record of batch.records) {
    checkField('tsSec', record.tsSec, 0xffffffff);
    checkField('tsNsec', record.tsNsec, 999_999_999);
    checkField('wireLen', record.wireLen, Number.MAX_SAFE_INTEGER);
    checkField(
      'cap_len (data.length, at most wireLen)',
      record.data.length,
      Math.min(record.wireLen, MAX_RECORDED_WIRE_LEN),
    );
    out.writeUInt32BE(record.tsSec, offset);
    out.writeUInt32BE(record.tsNsec, offset + 4);
    out.writeUInt16BE(Math.min(record.wireLen, MAX_RECORDED_WIRE_LEN), offset + 8);
    out.writeUInt16BE(record.data.length, offset + 10);
    record.data.copy(out, offset + RECORD_HEADER_SIZE);
    offset += batchRecordSize(record.data.length);
  }
  return out;
}

function reject(code: HeaderBatchErrorCode, reason: string): HeaderBatchDecodeResult {
  return { ok: false, error: { code, reason } };
}

/**
 * Parses one datagram. Each record's `data` is a view into `bytes` (no copy): copy it
 * if you keep it beyond the life of the receive buffer.
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
  if (flags !== HEADER_BATCH_FLAG_ETHERNET)
    return reject('BAD_FLAGS', `flags 0x${flags.toString(16)} are not 0x01`);
  const reserved = buf.readUInt16BE(18);
  if (reserved !== 0) return reject('BAD_RESERVED', `reserved field is ${reserved}, not 0`);
  const count = buf.readUInt16BE(6);

  const records: BatchRecord[] = [];
  let offset = HEADER_BATCH_HEADER_SIZE;
  while (records.length < count) {
    const index = records.length;
    if (offset === buf.length) {
      return reject(
        'COUNT_MISMATCH',
        `record count is ${count}, but the datagram ends after ${index} records`,
      );
    }
    if (offset + RECORD_HEADER_SIZE > buf.length) {
      return reject('RECORD_OVERRUN', `record ${index}'s header is cut off at byte ${buf.length}`);
    }
    const tsNsec = buf.readUInt32BE(offset + 4);
    const wireLen = buf.readUInt16BE(offset + 8);
    const capLen = buf.readUInt16BE(offset + 10);
    const end = offset + batchRecordSize(capLen);
    if (end > buf.length) {
      return reject(
        'RECORD_OVERRUN',
        `record ${index} claims ${capLen} bytes, but only ${buf.length - offset - RECORD_HEADER_SIZE} remain`,
      );
    }
    if (tsNsec > 999_999_999) return reject('BAD_RECORD', `record ${index} has ts_nsec ${tsNsec} (≥ 10^9)`);
    if (capLen > wireLen)
      return reject('BAD_RECORD', `record ${index} has cap_len ${capLen} > wire_len ${wireLen}`);
    records.push({
      tsSec: buf.readUInt32BE(offset),
      tsNsec,
      wireLen,
      data: buf.subarray(offset + RECORD_HEADER_SIZE, end),
    });
    offset = end;
  }
  if (offset !== buf.length) {
    return reject('TRAILING_BYTES', `${buf.length - offset} bytes follow the last of the ${count} records`);
  }
  return {
    ok: true,
    batch: {
      nodeId: buf.readUInt32BE(8),
      epoch: buf.readUInt32BE(12),
      stream: buf.readUInt16BE(16),
      seq: buf.readBigUInt64BE(20),
      records,
    },
  };
}
