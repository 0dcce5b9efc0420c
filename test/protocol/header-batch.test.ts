import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BATCH_PAYLOAD,
  HEADER_BATCH_ERROR_CODES,
  HEADER_BATCH_HEADER_SIZE,
  RECORD_HEADER_SIZE,
  BATCH_MAC_SIZE,
  FRAGMENT_HEADER_SIZE,
  batchMac,
  batchMacVerifies,
  batchRecordSize,
  decodeHeaderBatch,
  deriveBatchKey,
  encodeHeaderBatch,
  encodeRecordFragments,
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
    expect(decodeHeaderBatch(bytes)).toEqual({
      ok: true,
      batch: BATCH,
      fragment: null,
      badRecords: 0,
      mac: null,
      signedLength: bytes.length,
    });
  });

  it('signs a batch with the key derived from the cluster key, and the MAC covers every byte before it', () => {
    const key = deriveBatchKey(Buffer.alloc(32, 7));
    expect(key).not.toEqual(deriveBatchKey(Buffer.alloc(32, 8)));
    const bytes = encodeHeaderBatch(BATCH, key);
    expect(bytes.length).toBe(encodeHeaderBatch(BATCH).length + BATCH_MAC_SIZE);
    expect(bytes[5]).toBe(0x05); // Ethernet + MAC
    const decoded = decodeHeaderBatch(bytes);
    expect(decoded.ok && decoded.batch).toEqual(BATCH);
    expect(batchMacVerifies(key, bytes, decoded)).toBe(true);
    expect(batchMacVerifies(deriveBatchKey(Buffer.alloc(32, 8)), bytes, decoded)).toBe(false);
    for (const at of [0, 8, 20, bytes.length - BATCH_MAC_SIZE - 1, bytes.length - 1]) {
      const forged = Buffer.from(bytes);
      forged[at]! ^= 1;
      const d = decodeHeaderBatch(forged);
      expect(d.ok && batchMacVerifies(key, forged, d), `byte ${at}`).toBe(false);
    }
    // Unsigned datagrams never verify.
    const plain = encodeHeaderBatch(BATCH);
    expect(batchMacVerifies(key, plain, decodeHeaderBatch(plain))).toBe(false);
  });

  it('computes the MAC as SPEC §6.5 says: AES-128 under K_T of the GMAC under K_H with a zero IV', () => {
    // Computed with the OpenSSL 3 command line, apart from this code:
    //   openssl mac -cipher AES-128-GCM -macopt hexkey:00..0f -macopt hexiv:00 (12 bytes) GMAC < message
    //   | xxd -r -p | openssl enc -aes-128-ecb -K 10..1f -nopad
    const batchKey = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
    const message = Buffer.from('every byte before the MAC, 16-byte blocks and a partial one');
    expect(batchMac(batchKey, message).toString('hex')).toBe('196b12ddcbb875f8cdb4ffb11fe25726');
  });

  it('splits a record too large for a datagram into fragments that carry it whole', () => {
    const big = { tsSec: 1795000000, tsNsec: 5, wireLen: 65535, data: Buffer.alloc(65535, 0xab) };
    big.data.writeUInt32BE(0xdeadbeef, 40000);
    const key = deriveBatchKey(Buffer.alloc(32, 1));
    const pieces = encodeRecordFragments({ nodeId: 1, epoch: 2, stream: 3, seq: 10n }, big, 1472, key);
    const room = 1472 - HEADER_BATCH_HEADER_SIZE - FRAGMENT_HEADER_SIZE - BATCH_MAC_SIZE;
    expect(pieces).toHaveLength(Math.ceil(65535 / room));
    const joined = Buffer.alloc(65535);
    pieces.forEach((piece, i) => {
      expect(piece.length).toBeLessThanOrEqual(1472);
      const d = decodeHeaderBatch(piece);
      if (!d.ok || !d.fragment) throw new Error(`piece ${i} does not decode as a fragment`);
      expect(batchMacVerifies(key, piece, d)).toBe(true);
      expect(d.batch.seq).toBe(10n + BigInt(i));
      expect(d.batch.records).toEqual([]);
      expect(d.fragment).toMatchObject({ capLen: 65535, wireLen: 65535, offset: i * room });
      d.fragment.data.copy(joined, d.fragment.offset);
    });
    expect(joined.equals(big.data)).toBe(true);
  });

  it('skips an impossible record and keeps the others of its datagram (issue 11 case 8)', () => {
    const bytes = encodeHeaderBatch(BATCH);
    bytes.writeUInt16BE(10, HEADER_BATCH_HEADER_SIZE + 8); // record 0: cap_len 52 > wire_len 10
    const second = HEADER_BATCH_HEADER_SIZE + batchRecordSize(52);
    bytes.writeUInt32BE(1_000_000_000, second + 4); // record 1: ts_nsec 10^9
    const decoded = decodeHeaderBatch(bytes);
    expect(decoded.ok && decoded.badRecords).toBe(2);
    expect(decoded.ok && decoded.batch.records).toEqual([BATCH.records[2]]);
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
    ['an undefined flag bit', patched(5, '11'), 'BAD_FLAGS'],
    ['the padded flag on a fragment', patched(5, '0b'), 'BAD_FLAGS'],
    [
      'zero bytes after the records without the padded flag',
      Buffer.concat([valid, Buffer.alloc(5)]),
      'TRAILING_BYTES',
    ],
    [
      'a non-zero byte in the padding',
      Buffer.concat([patched(5, '09'), Buffer.from([0, 0, 7])]),
      'TRAILING_BYTES',
    ],
    [
      'the MAC flag without room for a MAC',
      encodeHeaderBatch({ ...BATCH, records: [] }).fill(5, 5, 6),
      'SHORT',
    ],
    ['the fragment flag on whole records', patched(5, '03'), 'BAD_FRAGMENT'],
    ['a non-zero reserved field', patched(18, '0001'), 'BAD_RESERVED'],
    ['a count one too high', patched(6, '0004'), 'COUNT_MISMATCH'],
    ['a count one too low', patched(6, '0002'), 'TRAILING_BYTES'],
    ['a record header cut off', valid.subarray(0, HEADER_BATCH_HEADER_SIZE + 5), 'RECORD_OVERRUN'],
    ['a cap_len past the end', patched(HEADER_BATCH_HEADER_SIZE + 10, '00ff'), 'RECORD_OVERRUN'],
  ];
  for (const [what, bytes, code] of cases) {
    it(`rejects ${what} as ${code}`, () => expect(codeOf(bytes)).toBe(code));
  }

  it('accepts zero padding after the records when the padded flag is set (SPEC.md §6.5)', () => {
    const padded = Buffer.concat([valid, Buffer.alloc(40)]);
    padded.writeUInt8(0x09, 5);
    const result = decodeHeaderBatch(padded);
    expect(result.ok && result.batch.records).toEqual(BATCH.records);
  });

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
        const decoded = decodeHeaderBatch(encodeHeaderBatch(batch));
        expect(decoded.ok && decoded.batch).toEqual(batch);
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
