// Whole frames (SPEC.md §6.5): records larger than a datagram arrive as fragments, which the
// native sink puts back together byte for byte, or counts as lost exactly once. Real UDP on
// 127.0.0.1, the protocol's own encoder on the sending side.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BATCH_PAYLOAD,
  deriveBatchKey,
  encodeHeaderBatch,
  encodeRecordFragments,
  type BatchRecord,
} from '../../protocol/header-batch.js';
import {
  expectedPcapRecords,
  node,
  readPcap,
  sinkHarnessForFile,
  testRecords,
  waitUntil,
} from './helpers.js';

const { tmpFile, startSink, waitForDatagrams } = sinkHarnessForFile('dicap-reassembly-');

/** A frame of `length` bytes whose every byte depends on its position and `seed`. */
function bigRecord(length: number, seed: number): BatchRecord {
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i++) data[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return { tsSec: 1_800_000_000 + seed, tsNsec: seed * 1000, wireLen: length, data };
}

const header = (seq: number, stream = 0) => ({ nodeId: 21, epoch: 1, stream, seq: BigInt(seq) });

describe('records split over datagrams', () => {
  it('puts 9000- and 65535-byte frames back together between whole-record batches, signed or not', async () => {
    for (const key of [undefined, deriveBatchKey(Buffer.alloc(32, 3))]) {
      const file = tmpFile('whole.pcap');
      const { sink, sender } = startSink(file, { batchKey: key });
      const small = testRecords(0, 2);
      const jumbo = bigRecord(9000, 1);
      const max = bigRecord(65535, 2);
      const datagrams = [encodeHeaderBatch({ ...header(0), records: small.slice(0, 1) }, key)];
      const first = encodeRecordFragments(header(1), jumbo, DEFAULT_BATCH_PAYLOAD, key);
      const second = encodeRecordFragments(header(1 + first.length), max, DEFAULT_BATCH_PAYLOAD, key);
      const last = 1 + first.length + second.length;
      datagrams.push(
        ...first,
        ...second,
        encodeHeaderBatch({ ...header(last), records: small.slice(1) }, key),
      );
      await sender.send(datagrams);
      await waitForDatagrams(sink, datagrams.length);
      sink.stop();
      const c = sink.counters();
      expect(c.reassembledRecords).toBe(2);
      expect(c.reassemblyLost).toEqual({ sequence: 0, timeout: 0, memory: 0 });
      expect(c.reassemblyBytes).toBe(0);
      expect(node(c, 21)).toMatchObject({ records: 4, gapDatagrams: 0 });
      expect(readPcap(fs.readFileSync(file))).toEqual(
        expectedPcapRecords([small[0]!, jumbo, max, small[1]!]),
      );
    }
  });

  it('counts a record lost once when a piece is missing, and writes the next record whole', async () => {
    const file = tmpFile('lost-piece.pcap');
    const { sink, sender } = startSink(file);
    const broken = bigRecord(20000, 3);
    const whole = bigRecord(20000, 4);
    const pieces = encodeRecordFragments(header(0), broken, DEFAULT_BATCH_PAYLOAD);
    const next = encodeRecordFragments(header(pieces.length), whole, DEFAULT_BATCH_PAYLOAD);
    const sent = [...pieces.slice(0, 5), ...pieces.slice(6), ...next]; // piece 5 lost
    await sender.send(sent);
    await waitForDatagrams(sink, sent.length);
    sink.stop();
    const c = sink.counters();
    expect(c.reassemblyLost).toEqual({ sequence: 1, timeout: 0, memory: 0 });
    expect(node(c, 21)).toMatchObject({ gapDatagrams: 1, records: 1 });
    expect(readPcap(fs.readFileSync(file))).toEqual(expectedPcapRecords([whole]));
  });

  it('gives up a record whose pieces stop coming, and frees its memory', async () => {
    const { sink, sender } = startSink(tmpFile('timeout.pcap'), { reassemblyTimeoutMs: 50 });
    const pieces = encodeRecordFragments(header(0), bigRecord(30000, 5), DEFAULT_BATCH_PAYLOAD);
    await sender.send(pieces.slice(0, 3));
    await waitForDatagrams(sink, 3);
    expect(sink.counters().reassemblyBytes).toBe(30000);
    await waitUntil(() => sink.counters().reassemblyLost.timeout === 1, 'the timeout');
    expect(sink.counters().reassemblyBytes).toBe(0);
  });

  it('drops pieces of a record whose beginning never came without writing them, counting the record once', async () => {
    const file = tmpFile('orphan.pcap');
    const { sink, sender } = startSink(file);
    const pieces = encodeRecordFragments(header(0, 2), bigRecord(9000, 6), DEFAULT_BATCH_PAYLOAD);
    await sender.send(pieces.slice(1));
    await waitForDatagrams(sink, pieces.length - 1);
    sink.stop();
    expect(sink.counters().reassemblyLost.sequence).toBe(1);
    expect(readPcap(fs.readFileSync(file))).toEqual([]);
  });
});
