// Header batches from an attacker on the analyzer's data port (issue 11 cases 2, 3 and the
// batch half of 8) and the batch MAC (SPEC.md §6.5): real UDP on 127.0.0.1 into the native
// sink, its counters and the pcap it writes.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AnalyzerReports } from '../../analyzer/coordinator-reports.js';
import { createAnalyzerMetrics } from '../../analyzer/metrics.js';
import type { CoordinatorLink } from '../../common/coordinator-link.js';
import {
  HEADER_BATCH_HEADER_SIZE,
  batchRecordSize,
  deriveBatchKey,
  encodeHeaderBatch,
  type BatchRecord,
} from '../../protocol/header-batch.js';
import { readControlMessage, type ControlBody } from '../../protocol/index.js';
import { batch, expectedPcapRecords, node, readPcap, sinkHarnessForFile, testRecords } from './helpers.js';

const { tmpFile, startSink, waitForDatagrams } = sinkHarnessForFile('dicap-hostile-');

const U64_MAX = 2n ** 64n - 1n;

describe('hostile header batches', () => {
  it('takes seq 0 then 2^64-1 from one (node, stream) as a jump, not 2^64 lost datagrams, and reports it (case 2)', async () => {
    const { sink, sender } = startSink(tmpFile('jump.pcap'));
    const records = testRecords(0, 2);
    await sender.send([
      encodeHeaderBatch({ nodeId: 5, epoch: 1, stream: 0, seq: 0n, records: records.slice(0, 1) }),
      encodeHeaderBatch({ nodeId: 5, epoch: 1, stream: 0, seq: U64_MAX, records: records.slice(1) }),
      // and on from there: the run continues without overflowing
      encodeHeaderBatch({ nodeId: 5, epoch: 1, stream: 0, seq: 0n, records: [] }),
      encodeHeaderBatch({ nodeId: 5, epoch: 1, stream: 1, seq: U64_MAX - 5n, records: [] }),
      encodeHeaderBatch({ nodeId: 5, epoch: 1, stream: 1, seq: U64_MAX, records: [] }),
    ]);
    await waitForDatagrams(sink, 5);
    const c = sink.counters();
    // stream 0: a jump, then a restart at 0; stream 1: 4 seqs skipped just below 2^64 - 1
    expect(node(c, 5)).toMatchObject({
      gapDatagrams: 4,
      seqJumps: 1,
      duplicateDatagrams: 0,
      lostDatagrams: 4,
    });

    const sent: ControlBody[] = [];
    const link = { sendToAll: (body: ControlBody) => sent.push(body) } as unknown as CoordinatorLink;
    new AnalyzerReports(link, 100, () => sink.counters()).send();
    expect(sent.map(readControlMessage)).toEqual([
      expect.objectContaining({ type: 'ANALYZER_REPORT', sourceNodeId: 5, lostDatagrams: 4n }),
    ]);
  });

  it('keeps state for at most maxNodes spoofed node IDs and keeps /metrics small, writing the first ones only (case 3)', async () => {
    const file = tmpFile('spoofed.pcap');
    const { sink, sender } = startSink(file, { maxNodes: 64 });
    const SPOOFED = 20_000;
    const datagrams = Array.from({ length: SPOOFED }, (_, i) =>
      batch({ nodeId: 1_000_000 + i, epoch: 1, stream: i % 7, seq: i, records: testRecords(i, 1) }),
    );
    for (let i = 0; i < datagrams.length; i += 1000) await sender.send(datagrams.slice(i, i + 1000));
    await waitForDatagrams(sink, SPOOFED);
    const c = sink.counters();
    expect(c.nodes).toHaveLength(64);
    expect(c.malformed.NODE_LIMIT).toBe(SPOOFED - 64);
    expect(c.socketDrops).toBe(0);
    expect(c.recordsWritten + c.malformed.NODE_LIMIT).toBe(SPOOFED);
    const scrape = await createAnalyzerMetrics(() => sink.counters()).metrics();
    expect(scrape.length).toBeLessThan(200_000);
  });

  it('accepts only the topology nodes, keeps no state for others and still takes a node dropped a moment ago (case 3)', async () => {
    const file = tmpFile('topology.pcap');
    const { sink, sender } = startSink(file);
    sink.setTopologyNodes([11, 12]);
    const good = testRecords(0, 2);
    await sender.send([
      batch({ nodeId: 11, epoch: 1, stream: 0, seq: 0, records: good.slice(0, 1) }),
      ...Array.from({ length: 500 }, (_, i) =>
        batch({ nodeId: 5000 + i, epoch: 1, stream: 0, seq: 0, records: testRecords(100 + i, 1) }),
      ),
    ]);
    await waitForDatagrams(sink, 501);
    sink.setTopologyNodes([11]); // 12 leaves: its datagrams in flight still count
    await sender.send([batch({ nodeId: 12, epoch: 1, stream: 0, seq: 0, records: good.slice(1) })]);
    await waitForDatagrams(sink, 502);
    sink.stop();
    const c = sink.counters();
    expect(c.malformed.UNKNOWN_NODE).toBe(500);
    expect(c.nodes.map((n) => n.nodeId)).toEqual([11, 12]);
    expect(readPcap(fs.readFileSync(file))).toEqual(expectedPcapRecords(good));
  });

  it('skips a record with cap_len > wire length, counted, and writes the good records of its datagram (case 8)', async () => {
    const file = tmpFile('bad-record.pcap');
    const { sink, sender } = startSink(file);
    const records = testRecords(0, 3);
    const bytes = batch({ nodeId: 3, epoch: 1, stream: 0, seq: 0, records });
    bytes.writeUInt16BE(20, HEADER_BATCH_HEADER_SIZE + batchRecordSize(54) + 8); // record 1: wire_len 20 < cap_len 54
    await sender.send([bytes]);
    await waitForDatagrams(sink, 1);
    sink.stop();
    const c = sink.counters();
    expect(c.badRecords).toBe(1);
    expect(node(c, 3)).toMatchObject({ records: 2, badRecords: 1 });
    expect(Object.values(c.malformed).reduce((a, b) => a + b, 0)).toBe(0);
    expect(readPcap(fs.readFileSync(file))).toEqual(expectedPcapRecords([records[0]!, records[2]!]));
  });
});

describe('authenticated header batches', () => {
  const clusterKey = Buffer.alloc(32, 0x5a);
  const batchKey = deriveBatchKey(clusterKey);
  const signed = (nodeId: number, seq: number, records: BatchRecord[], key = batchKey) =>
    encodeHeaderBatch({ nodeId, epoch: 1, stream: 0, seq: BigInt(seq), records }, key);

  it('writes only datagrams whose MAC verifies; forged, unsigned and other-key ones are counted and leave no state', async () => {
    const file = tmpFile('mac.pcap');
    const { sink, sender } = startSink(file, { batchKey });
    const good = testRecords(0, 4);
    const forged = signed(7, 1, testRecords(50, 2));
    forged[HEADER_BATCH_HEADER_SIZE + 20]! ^= 0xff; // a frame byte changed after signing
    await sender.send([
      signed(7, 0, good.slice(0, 2)),
      forged,
      batch({ nodeId: 8, epoch: 1, stream: 0, seq: 0, records: testRecords(60, 1) }), // no MAC
      signed(9, 0, testRecords(70, 1), deriveBatchKey(Buffer.alloc(32, 1))), // another cluster's key
      signed(7, 1, good.slice(2)),
    ]);
    await waitForDatagrams(sink, 5);
    sink.stop();
    const c = sink.counters();
    expect(c.malformed).toMatchObject({ BAD_MAC: 2, UNAUTHENTICATED: 1 });
    expect(c.nodes.map((n) => n.nodeId)).toEqual([7]);
    expect(node(c, 7)).toMatchObject({ datagrams: 2, gapDatagrams: 0 });
    expect(readPcap(fs.readFileSync(file))).toEqual(expectedPcapRecords(good));
  });

  it('without a key, reads signed datagrams too (the MAC is not data)', async () => {
    const file = tmpFile('unkeyed.pcap');
    const { sink, sender } = startSink(file);
    const good = testRecords(0, 2);
    await sender.send([signed(7, 0, good)]);
    await waitForDatagrams(sink, 1);
    sink.stop();
    expect(readPcap(fs.readFileSync(file))).toEqual(expectedPcapRecords(good));
  });
});
