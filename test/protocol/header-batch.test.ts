import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BATCH_PAYLOAD,
  HEADER_BATCH_ERROR_CODES,
  HEADER_BATCH_HEADER_SIZE,
  RECORD_HEADER_SIZE,
  batchRecordSize,
  decodeHeaderBatch,
  encodeHeaderBatch,
  type HeaderBatch,
} from '../../protocol/index.js';

const record = (n: number, capLen = 52) => ({
  tsSec: 1795000000 + n,
  tsNsec: n * 1000,
  wireLen: 1514,
  data: Buffer.alloc(capLen, n),
});

const BATCH: HeaderBatch = {
  nodeId: 11,
  epoch: 42,
  stream: 3,
  seq: 2n ** 63n + 5n,
  records: [record(1), record(2, 14), record(3, 0)],
};

function codeOf(bytes: Buffer): string {
  const result = decodeHeaderBatch(bytes);
  return result.ok ? 'OK' : result.error.code;
}

describe('header batch', () => {
  it('round-trips a batch, header fields and records alike', () => {
    const bytes = encodeHeaderBatch(BATCH);
    expect(bytes.length).toBe(HEADER_BATCH_HEADER_SIZE + 3 * RECORD_HEADER_SIZE + 52 + 14);
    expect(bytes.subarray(0, 8).toString('hex')).toBe('4443484201010003');
    expect(decodeHeaderBatch(bytes)).toEqual({ ok: true, batch: BATCH });
  });

  it('fits 22 records of 52 captured bytes in the default 1472-byte payload (SPEC.md §6.5)', () => {
    expect(Math.floor((DEFAULT_BATCH_PAYLOAD - HEADER_BATCH_HEADER_SIZE) / batchRecordSize(52))).toBe(22);
  });

  it('records wire lengths above 65535 as 65535', () => {
    const bytes = encodeHeaderBatch({ ...BATCH, records: [{ ...record(1), wireLen: 70000 }] });
    const result = decodeHeaderBatch(bytes);
    expect(result.ok && result.batch.records[0]!.wireLen).toBe(65535);
  });

  it('refuses to encode fields that do not fit', () => {
    expect(() => encodeHeaderBatch({ ...BATCH, stream: 65536 })).toThrow(/stream/);
    expect(() => encodeHeaderBatch({ ...BATCH, seq: -1n })).toThrow(/seq/);
    expect(() => encodeHeaderBatch({ ...BATCH, records: [{ ...record(1), wireLen: 10 }] })).toThrow(
      /cap_len/,
    );
  });

  const valid = encodeHeaderBatch(BATCH);
  const patched = (at: number, hex: string) => {
    const bytes = Buffer.from(valid);
    Buffer.from(hex, 'hex').copy(bytes, at);
    return bytes;
  };
  const cases: Array<[string, Buffer, string]> = [
    ['27 bytes', valid.subarray(0, 27), 'SHORT'],
    ['another magic', patched(0, '44434843'), 'BAD_MAGIC'],
    ['version 2', patched(4, '02'), 'BAD_VERSION'],
    ['flags 0', patched(5, '00'), 'BAD_FLAGS'],
    ['a non-zero reserved field', patched(18, '0001'), 'BAD_RESERVED'],
    ['a count one too high', patched(6, '0004'), 'COUNT_MISMATCH'],
    ['a count one too low', patched(6, '0002'), 'TRAILING_BYTES'],
    ['a record header cut off', valid.subarray(0, HEADER_BATCH_HEADER_SIZE + 5), 'RECORD_OVERRUN'],
    ['a cap_len past the end', patched(HEADER_BATCH_HEADER_SIZE + 10, '00ff'), 'RECORD_OVERRUN'],
    ['ts_nsec of 10^9', patched(HEADER_BATCH_HEADER_SIZE + 4, '3b9aca00'), 'BAD_RECORD'],
    ['cap_len above wire_len', patched(HEADER_BATCH_HEADER_SIZE + 8, '0010'), 'BAD_RECORD'],
  ];
  for (const [what, bytes, code] of cases) {
    it(`rejects ${what} as ${code}`, () => expect(codeOf(bytes)).toBe(code));
  }

  it('returns record data as views into the datagram (no copy)', () => {
    const result = decodeHeaderBatch(valid);
    expect(result.ok && result.batch.records[0]!.data.buffer).toBe(valid.buffer);
  });
});

describe('header batch decoding never throws (property)', () => {
  const arbitraryBatch = fc.record({
    nodeId: fc.integer({ min: 0, max: 0xffffffff }),
    epoch: fc.integer({ min: 0, max: 0xffffffff }),
    stream: fc.integer({ min: 0, max: 0xffff }),
    seq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    records: fc.array(
      fc.record({
        tsSec: fc.integer({ min: 0, max: 0xffffffff }),
        tsNsec: fc.integer({ min: 0, max: 999_999_999 }),
        wireLen: fc.integer({ min: 64, max: 9000 }),
        data: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      }),
      { maxLength: 6 },
    ),
  });

  it('round-trips any batch', () => {
    fc.assert(
      fc.property(arbitraryBatch, (batch) => {
        expect(decodeHeaderBatch(encodeHeaderBatch(batch))).toEqual({ ok: true, batch });
      }),
    );
  });

  it('rejects random bytes, truncations and extensions with a listed code', () => {
    fc.assert(
      fc.property(
        arbitraryBatch,
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        fc.uint8Array({ maxLength: 100 }),
        (batch, cut, extra, noise) => {
          const bytes = encodeHeaderBatch(batch);
          for (const bad of [bytes.subarray(0, cut % bytes.length), Buffer.concat([bytes, extra])]) {
            const result = decodeHeaderBatch(bad);
            expect(result.ok).toBe(false);
            if (!result.ok) expect(HEADER_BATCH_ERROR_CODES).toContain(result.error.code);
          }
          expect(() => decodeHeaderBatch(noise)).not.toThrow();
        },
      ),
    );
  });

  it('never throws on a single-byte change', () => {
    fc.assert(
      fc.property(arbitraryBatch, fc.nat(), fc.integer({ min: 1, max: 255 }), (batch, at, flip) => {
        const bytes = encodeHeaderBatch(batch);
        bytes[at % bytes.length]! ^= flip;
        expect(() => decodeHeaderBatch(bytes)).not.toThrow();
      }),
    );
  });
});
