// The native receive path in this process: real UDP on 127.0.0.1 into AnalyzerSink, the
// pcap it writes read back frame by frame and by tcpdump, and its counters.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorCode } from '../../common/errors.js';
import { AnalyzerSink, MALFORMED_REASONS, type AnalyzerSinkCounters } from '../../native/analyzer-sink.js';
import { decodeHeaderBatch, type BatchRecord } from '../../protocol/header-batch.js';
import {
  batch,
  expectedPcapRecords,
  readPcap,
  tcpdumpLines,
  tcpdumpTimestamp,
  testRecords,
  waitUntil,
  node,
  sinkHarnessForFile,
  type BatchSpec,
} from './helpers.js';

const harness = sinkHarnessForFile('dicap-sink-');
const { tmpFile, startSink, waitForDatagrams } = harness;
const children: ChildProcess[] = [];

// The readers (tcpdump) a test starts are killed after it, as the harness stops its sinks.
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function totalMalformed(counters: AnalyzerSinkCounters): number {
  return MALFORMED_REASONS.reduce((sum, reason) => sum + counters.malformed[reason], 0);
}

/** Every record received is written, unwritten, or a duplicate's: nothing vanishes. */
function expectRecordsAccountedFor(c: AnalyzerSinkCounters): void {
  const duplicateRecords = c.nodes.reduce((sum, n) => sum + n.duplicateRecords, 0);
  expect(c.recordsWritten + c.recordsUnwritten + duplicateRecords).toBe(c.records);
}

/** A FIFO with a shell reading it as `script` says ($0 is the FIFO's path; stdin is ours). */
function fifoWithReader(script: string): { fifo: string; reader: ChildProcess } {
  const fifo = tmpFile('fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = spawn('sh', ['-c', script, fifo], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(reader);
  return { fifo, reader };
}

describe('AnalyzerSink', () => {
  it('writes every record of every accepted datagram as nanosecond pcap, as tcpdump and a strict reader see it', async () => {
    const file = tmpFile('all.pcap');
    const { sink, sender } = startSink(file);
    const specs: BatchSpec[] = [];
    let next = 0;
    for (let seq = 0; seq < 4; seq++) {
      for (const nodeId of [11, 22, 33]) {
        for (const stream of [0, 1]) {
          const records = testRecords(next, 1 + ((next + stream) % 5), 14 + (next % 51));
          next += records.length;
          specs.push({ nodeId, epoch: 7, stream, seq, records });
        }
      }
    }
    // Frames longer than 65535 bytes on the wire are recorded as 65535 ("or larger").
    const jumbo: BatchRecord = {
      tsSec: 1_800_000_000,
      tsNsec: 999_999_999,
      wireLen: 70_000,
      data: testRecords(9999, 1, 64)[0]!.data,
    };
    specs.push({ nodeId: 11, epoch: 7, stream: 0, seq: 4, records: [jumbo] });
    const datagrams = specs.map(batch);
    await sender.send(datagrams);
    await waitForDatagrams(sink, datagrams.length);
    sink.stop();

    const sent = specs.flatMap((s) => s.records);
    const written = readPcap(fs.readFileSync(file));
    expect(written).toEqual(expectedPcapRecords(sent));
    expect(written.at(-1)!.origLen).toBe(65535);
    const lines = tcpdumpLines(file);
    expect(lines).toHaveLength(sent.length);
    expect(lines.map((line) => line.split(' ')[0])).toEqual(sent.map(tcpdumpTimestamp));
    expect(lines.filter((line) => / IP 198\.18\.0\.1[ .]/.test(line)).length).toBe(
      sent.filter((r) => r.data.length >= 34).length,
    );

    const c = sink.counters();
    expect(c).toMatchObject({
      datagrams: datagrams.length,
      bytes: datagrams.reduce((sum, d) => sum + d.length, 0),
      records: sent.length,
      recordsWritten: sent.length,
      recordsUnwritten: 0,
      bytesWritten: fs.statSync(file).size,
      writeErrors: 0,
      socketDrops: 0,
      outputState: 'closed',
      outputError: null,
    });
    expect(totalMalformed(c)).toBe(0);
    expect(c.nodes.map((n) => n.nodeId)).toEqual([11, 22, 33]);
    for (const n of c.nodes) {
      expect(n).toMatchObject({
        streams: 2,
        runs: 2,
        gapDatagrams: 0,
        lateDatagrams: 0,
        lostDatagrams: 0,
        duplicateDatagrams: 0,
        lastEpoch: 7,
      });
    }
    expect(node(c, 11).datagrams).toBe(9);
    expect(c.nodes.reduce((sum, n) => sum + n.records, 0)).toBe(sent.length);
  });

  it('writes a valid, empty pcap when nothing arrives', () => {
    const file = tmpFile('empty.pcap');
    const { sink } = startSink(file);
    sink.stop();
    expect(readPcap(fs.readFileSync(file))).toEqual([]);
    expect(tcpdumpLines(file)).toEqual([]);
  });

  it('flushes on its timer while running, so a reader sees frames within the flush interval', async () => {
    const file = tmpFile('timer.pcap');
    const { sink, sender } = startSink(file, { flushIntervalMs: 50 });
    const records = testRecords(0, 3);
    await sender.send([batch({ nodeId: 1, epoch: 1, stream: 0, seq: 0, records })]);
    await waitUntil(() => fs.statSync(file).size > 24, 'the first records in the file', 1000);
    expect(readPcap(fs.readFileSync(file))).toEqual(expectedPcapRecords(records));
    expect(sink.counters().outputState).toBe('open');
  });

  // Each row is one (node, stream): the (epoch, seq) sequence it sends, in order, which of
  // them (by index) are duplicates the sink must not write again, and the counters it must
  // arrive at. Every row runs in the same sink, on its own node ID.
  const SEQUENCES: Array<{
    name: string;
    sent: Array<[epoch: number, seq: number]>;
    duplicates: number[];
    expect: { gapDatagrams: number; lateDatagrams: number; runs: number; lastEpoch: number };
  }> = [
    {
      name: 'in order',
      sent: [
        [1, 0],
        [1, 1],
        [1, 2],
        [1, 3],
      ],
      duplicates: [],
      expect: { gapDatagrams: 0, lateDatagrams: 0, runs: 1, lastEpoch: 1 },
    },
    {
      name: 'a gap of two',
      sent: [
        [1, 0],
        [1, 1],
        [1, 4],
        [1, 5],
      ],
      duplicates: [],
      expect: { gapDatagrams: 2, lateDatagrams: 0, runs: 1, lastEpoch: 1 },
    },
    {
      name: 'one late datagram',
      sent: [
        [1, 0],
        [1, 2],
        [1, 1],
        [1, 3],
      ],
      duplicates: [],
      expect: { gapDatagrams: 1, lateDatagrams: 1, runs: 1, lastEpoch: 1 },
    },
    {
      name: 'a duplicate',
      sent: [
        [1, 0],
        [1, 1],
        [1, 1],
        [1, 2],
      ],
      duplicates: [2],
      expect: { gapDatagrams: 0, lateDatagrams: 0, runs: 1, lastEpoch: 1 },
    },
    {
      name: 'a late datagram arriving twice',
      sent: [
        [1, 0],
        [1, 2],
        [1, 1],
        [1, 1],
      ],
      duplicates: [3],
      expect: { gapDatagrams: 1, lateDatagrams: 1, runs: 1, lastEpoch: 1 },
    },
    {
      name: 'restart at 0 with a new epoch',
      sent: [
        [1, 0],
        [1, 1],
        [1, 2],
        [2, 0],
        [2, 1],
      ],
      duplicates: [],
      expect: { gapDatagrams: 0, lateDatagrams: 0, runs: 2, lastEpoch: 2 },
    },
    {
      name: 'restart at 0 with the same epoch',
      sent: [
        [3, 0],
        [3, 1],
        [3, 2],
        [3, 0],
        [3, 1],
      ],
      duplicates: [],
      expect: { gapDatagrams: 0, lateDatagrams: 0, runs: 2, lastEpoch: 3 },
    },
    {
      name: 'restart with a new epoch whose first datagrams were lost',
      sent: [
        [1, 0],
        [1, 1],
        [1, 2],
        [1, 3],
        [1, 4],
        [2, 2],
        [2, 3],
      ],
      duplicates: [],
      expect: { gapDatagrams: 2, lateDatagrams: 0, runs: 2, lastEpoch: 2 },
    },
    {
      name: 'a new epoch while seq continues',
      sent: [
        [1, 0],
        [1, 1],
        [2, 2],
        [2, 3],
      ],
      duplicates: [],
      expect: { gapDatagrams: 0, lateDatagrams: 0, runs: 1, lastEpoch: 2 },
    },
    {
      name: 'a late datagram of the previous epoch',
      sent: [
        [1, 0],
        [2, 2],
        [1, 1],
        [2, 3],
      ],
      duplicates: [],
      expect: { gapDatagrams: 1, lateDatagrams: 1, runs: 1, lastEpoch: 2 },
    },
    {
      name: 'restart with the same epoch whose first datagrams were lost (frames captured after all before)',
      sent: [
        [4, 20],
        [4, 21],
        [4, 22],
        [4, 2],
        [4, 3],
      ],
      duplicates: [],
      expect: { gapDatagrams: 2, lateDatagrams: 0, runs: 2, lastEpoch: 4 },
    },
    {
      name: "a copy of an earlier epoch's datagram after the epoch changed",
      sent: [
        [1, 0],
        [1, 1],
        [2, 2],
        [1, 1],
      ],
      duplicates: [3],
      expect: { gapDatagrams: 0, lateDatagrams: 0, runs: 1, lastEpoch: 2 },
    },
    {
      name: 'a copy of seq 0',
      sent: [
        [1, 0],
        [1, 1],
        [1, 0],
      ],
      duplicates: [2],
      expect: { gapDatagrams: 0, lateDatagrams: 0, runs: 1, lastEpoch: 1 },
    },
    {
      name: 'joining mid-run (the analyzer started late)',
      sent: [
        [5, 70],
        [5, 71],
        [5, 72],
      ],
      duplicates: [],
      expect: { gapDatagrams: 0, lateDatagrams: 0, runs: 1, lastEpoch: 5 },
    },
    {
      name: 'an old seq with the same epoch',
      sent: [
        [1, 10],
        [1, 11],
        [1, 3],
      ],
      duplicates: [2],
      expect: { gapDatagrams: 0, lateDatagrams: 0, runs: 1, lastEpoch: 1 },
    },
  ];

  it('accounts sequences per (node, stream): gaps, late arrivals, duplicates, restarts and epochs', async () => {
    const file = tmpFile('sequences.pcap');
    const { sink, sender } = startSink(file);
    const datagrams: BatchSpec[] = [];
    const expectedWritten: BatchRecord[] = [];
    let next = 0;
    SEQUENCES.forEach((row, nodeId) =>
      row.sent.forEach(([epoch, seq], index) => {
        // A duplicate is a copy of the earlier datagram with its (epoch, seq), or, without one,
        // holds frames captured before any the test sends (SPEC §6.1 c); every other datagram
        // holds frames captured after all before it.
        const original = row.sent.findIndex(([e, s]) => e === epoch && s === seq);
        const copied = row.duplicates.includes(index);
        const records =
          copied && original < index
            ? datagrams.find((d) => d.nodeId === nodeId && d.epoch === epoch && d.seq === seq)!.records
            : copied
              ? testRecords(0, 2)
              : testRecords(next, 2);
        if (!copied) next += 2;
        datagrams.push({ nodeId, epoch, stream: 3, seq, records });
        if (!copied) expectedWritten.push(...records);
      }),
    );
    await sender.send(datagrams.map(batch));
    await waitForDatagrams(sink, datagrams.length);
    sink.stop();

    const c = sink.counters();
    const failures: string[] = [];
    SEQUENCES.forEach((row, nodeId) => {
      const n = node(c, nodeId);
      const want = {
        ...row.expect,
        lostDatagrams: row.expect.gapDatagrams - row.expect.lateDatagrams,
        duplicateDatagrams: row.duplicates.length,
        duplicateRecords: 2 * row.duplicates.length,
        datagrams: row.sent.length,
      };
      const got = Object.fromEntries(Object.keys(want).map((k) => [k, n[k as keyof typeof n]]));
      if (JSON.stringify(got) !== JSON.stringify(want))
        failures.push(`${row.name}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    });
    expect(failures).toEqual([]);
    expect(readPcap(fs.readFileSync(file))).toEqual(expectedPcapRecords(expectedWritten));
    expectRecordsAccountedFor(c);
  });

  it('tells a late datagram from a duplicate within a 1024-datagram window and counts older ones as duplicates', async () => {
    const { sink, sender } = startSink(tmpFile('window.pcap'));
    const seqs = [0, ...Array.from({ length: 1100 }, (_, i) => i + 2), 1];
    await sender.send(seqs.map((seq) => batch({ nodeId: 9, epoch: 1, stream: 0, seq, records: [] })));
    await waitForDatagrams(sink, seqs.length);
    // seq 1 went missing 1100 datagrams ago: beyond the window, so it counts as a duplicate and stays lost.
    expect(node(sink.counters(), 9)).toMatchObject({
      gapDatagrams: 1,
      lateDatagrams: 0,
      duplicateDatagrams: 1,
      lostDatagrams: 1,
    });
    await sender.send([
      batch({ nodeId: 9, epoch: 1, stream: 1, seq: 0, records: [] }),
      batch({ nodeId: 9, epoch: 1, stream: 1, seq: 1000, records: [] }),
      batch({ nodeId: 9, epoch: 1, stream: 1, seq: 1, records: [] }),
    ]);
    await waitForDatagrams(sink, seqs.length + 3);
    // Stream 1: 999 datagrams missing, one of them then arrives late (within the window).
    expect(node(sink.counters(), 9)).toMatchObject({
      streams: 2,
      gapDatagrams: 1000,
      lateDatagrams: 1,
      duplicateDatagrams: 1,
      lostDatagrams: 999,
    });
  });

  it('keeps many nodes and streams apart', async () => {
    const file = tmpFile('many.pcap');
    const { sink, sender } = startSink(file);
    const NODES = 40;
    const STREAMS = 4;
    const ROUNDS = 10;
    const specs: BatchSpec[] = [];
    let next = 0;
    // Round-robin over (node, stream), so every stream's datagrams interleave with all others.
    for (let seq = 0; seq < ROUNDS; seq++) {
      for (let n = 0; n < NODES; n++) {
        for (let stream = 0; stream < STREAMS; stream++) {
          const records = testRecords(next, 1 + ((n * 7 + stream + seq) % 9));
          next += records.length;
          specs.push({
            nodeId: 1_000_000 + n * 65_537,
            epoch: 100 + n,
            stream: stream * 1000,
            seq: seq + n,
            records,
          });
        }
      }
    }
    await sender.send(specs.map(batch));
    await waitForDatagrams(sink, specs.length);
    sink.stop();
    const c = sink.counters();
    expect(c.nodes).toHaveLength(NODES);
    for (let n = 0; n < NODES; n++) {
      const mine = specs.filter((s) => s.nodeId === 1_000_000 + n * 65_537);
      expect(node(c, 1_000_000 + n * 65_537)).toMatchObject({
        streams: STREAMS,
        runs: STREAMS,
        datagrams: STREAMS * ROUNDS,
        records: mine.reduce((sum, s) => sum + s.records.length, 0),
        gapDatagrams: 0,
        duplicateDatagrams: 0,
        lastEpoch: 100 + n,
      });
    }
    expect(readPcap(fs.readFileSync(file))).toEqual(expectedPcapRecords(specs.flatMap((s) => s.records)));
  });

  it("counts malformed datagrams by the protocol decoder's reason and still writes the good ones around them", async () => {
    const file = tmpFile('malformed.pcap');
    const { sink, sender } = startSink(file);
    const good = batch({ nodeId: 4, epoch: 1, stream: 0, seq: 0, records: testRecords(0, 3) });
    const bad: Buffer[] = [];
    // Every truncation of a good datagram (length 0 included).
    for (let length = 0; length < good.length; length++) bad.push(Buffer.from(good.subarray(0, length)));
    // Hand-made field errors.
    const mutate = (edit: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(good);
      edit(b);
      return b;
    };
    bad.push(mutate((b) => b.writeUInt32BE(0x44434843, 0))); // magic
    bad.push(mutate((b) => b.writeUInt8(2, 4))); // version
    bad.push(
      mutate((b) => b.writeUInt8(0, 5)),
      mutate((b) => b.writeUInt8(0x11, 5)),
      mutate((b) => b.writeUInt8(3, 5)),
    ); // flags: none, an undefined bit, a fragment flag on whole records
    bad.push(mutate((b) => b.writeUInt16BE(1, 18))); // reserved
    bad.push(mutate((b) => b.writeUInt16BE(4, 6))); // count larger than the records
    bad.push(mutate((b) => b.writeUInt16BE(2, 6))); // count smaller: trailing bytes
    bad.push(Buffer.concat([good, Buffer.from([0])])); // one byte too many
    bad.push(mutate((b) => b.writeUInt16BE(60000, 28 + 10))); // cap_len past the end
    // Random bytes, and random damage to good datagrams (only what the decoder rejects).
    let state = 12345;
    const random = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    for (let i = 0; i < 200; i++)
      bad.push(Buffer.from(Array.from({ length: random(200) }, () => random(256))));
    for (let i = 0; bad.length < 700; i++) {
      const b = mutate((d) => {
        for (let k = 0; k <= random(3); k++) d[random(d.length)] = random(256);
      });
      if (!decodeHeaderBatch(b).ok) bad.push(b);
    }
    const expected = Object.fromEntries(MALFORMED_REASONS.map((r) => [r, 0]));
    for (const b of bad) {
      const decoded = decodeHeaderBatch(b);
      if (decoded.ok) throw new Error(`test datagram ${b.toString('hex')} is not malformed`);
      expected[decoded.error.code]!++;
    }
    // Good datagrams between the bad ones: node 4, seq 0, 1, 2, …
    const datagrams: Buffer[] = [];
    const goodRecords: BatchRecord[] = [];
    bad.forEach((b, i) => {
      if (i % 50 === 0) {
        const records = testRecords(i, 2);
        goodRecords.push(...records);
        datagrams.push(batch({ nodeId: 4, epoch: 1, stream: 0, seq: i / 50, records }));
      }
      datagrams.push(b);
    });
    await sender.send(datagrams);
    await waitForDatagrams(sink, datagrams.length);
    sink.stop();

    const c = sink.counters();
    expect(c.malformed).toEqual(expected);
    expect(totalMalformed(c)).toBe(bad.length);
    expect(new Set(Object.keys(c.malformed))).toEqual(new Set(MALFORMED_REASONS));
    expect(c.nodes).toHaveLength(1);
    expect(node(c, 4)).toMatchObject({
      datagrams: goodRecords.length / 2,
      gapDatagrams: 0,
      duplicateDatagrams: 0,
    });
    expect(readPcap(fs.readFileSync(file))).toEqual(expectedPcapRecords(goodRecords));
  });

  it('counts datagrams the kernel dropped while the output was blocked (SO_RXQ_OVFL), matching the sequence gaps', async () => {
    // The reader waits for our word, so the pipe fills, the sink thread waits, and the tiny socket buffer overflows.
    const { fifo, reader } = fifoWithReader('exec 3<"$0"; read go; exec cat <&3 >/dev/null');
    const { sink, sender } = startSink(fifo, {
      receiveBufferBytes: 4096,
      outputBufferBytes: 4096,
      flushIntervalMs: 1,
    });
    // Records that come before the reader opens the FIFO are counted unwritten, never written.
    await waitUntil(() => sink.counters().outputState === 'open', 'the reader to open the FIFO');
    const SENT = 2000;
    await sender.send(
      Array.from({ length: SENT }, (_, seq) =>
        batch({ nodeId: 8, epoch: 1, stream: 0, seq, records: testRecords(seq, 20) }),
      ),
    );
    reader.stdin!.write('go\n');
    await waitUntil(
      () => sink.counters().records > 0 && sink.counters().recordsWritten === sink.counters().records,
      'the blocked records to be written',
      10_000,
    );
    await new Promise((r) => setTimeout(r, 100));
    // Drops are reported with the next datagram received, so send a few more now that the queue is drained.
    for (let seq = SENT; seq < SENT + 5; seq++)
      await sender.send([batch({ nodeId: 8, epoch: 1, stream: 0, seq, records: [] })]);
    await waitUntil(
      () => sink.counters().datagrams + sink.counters().socketDrops === SENT + 5,
      `received + dropped = ${SENT + 5}`,
    );
    sink.stop();
    const c = sink.counters();
    expect(c.socketDrops).toBeGreaterThan(0);
    expect(node(c, 8).gapDatagrams).toBe(c.socketDrops);
    expect(c.recordsWritten).toBe(c.records);
  });

  it('keeps receiving when the FIFO reader goes away, counts what it could not write, and gives the next reader a whole pcap stream', async () => {
    const { fifo } = fifoWithReader('exec head -c 100 "$0" >/dev/null');
    const { sink, sender } = startSink(fifo, { flushIntervalMs: 1 });
    await waitUntil(() => sink.counters().outputState === 'open', 'the first reader');
    let seq = 0;
    await waitUntil(
      () => {
        void sender.send([
          batch({ nodeId: 2, epoch: 1, stream: 0, seq: seq++, records: testRecords(seq, 10) }),
        ]);
        return sink.counters().outputState === 'no-reader';
      },
      'the reader to go away',
      10_000,
    );
    await sender.send([
      batch({ nodeId: 2, epoch: 1, stream: 0, seq: seq++, records: testRecords(1000, 10) }),
    ]);
    await waitForDatagrams(sink, seq);
    expect(sink.counters().recordsUnwritten).toBeGreaterThanOrEqual(10);

    // The next reader: the FIFO is opened again and the stream starts with a file header.
    const copy = tmpFile('second-reader.pcap');
    const second = spawn('sh', ['-c', 'exec cat "$0" > "$1"', fifo, copy], { stdio: 'ignore' });
    children.push(second);
    await waitUntil(() => sink.counters().outputState === 'open', 'the second reader', 5000);
    const last = testRecords(2000, 7);
    await sender.send([batch({ nodeId: 2, epoch: 1, stream: 0, seq: seq++, records: last })]);
    await waitForDatagrams(sink, seq);
    sink.stop();
    await once(second, 'exit');
    const records = readPcap(fs.readFileSync(copy));
    expect(records.slice(-last.length)).toEqual(expectedPcapRecords(last));
    const c = sink.counters();
    expect(c).toMatchObject({ outputState: 'closed', writeErrors: 0, filesOpened: 2 });
    expectRecordsAccountedFor(c);
  });

  it('gives up on a reader that stops reading, so stop() returns within seconds', async () => {
    const { fifo } = fifoWithReader('exec 3<"$0"; exec sleep 60');
    const { sink, sender } = startSink(fifo, { flushIntervalMs: 1 });
    await waitUntil(() => sink.counters().outputState === 'open', 'the reader');
    // 200 datagrams of 20 records: far more than a pipe holds.
    await sender.send(
      Array.from({ length: 200 }, (_, seq) =>
        batch({ nodeId: 3, epoch: 1, stream: 0, seq, records: testRecords(seq, 20) }),
      ),
    );
    await waitForDatagrams(sink, 1);
    const start = Date.now();
    sink.stop();
    expect(Date.now() - start).toBeLessThan(5000);
    const c = sink.counters();
    expect(c.outputState).toBe('stalled');
    expect(c.recordsUnwritten).toBeGreaterThan(0);
    expectRecordsAccountedFor(c);
  });

  it('fails to start with a coded one-line error, leaving nothing open', async () => {
    const holder = new AnalyzerSink({ host: '127.0.0.1', port: 0, output: tmpFile('holder.pcap') });
    const { port } = holder.start();
    harness.track(holder);

    // A port in use must not truncate an existing file.
    const precious = tmpFile('precious.pcap');
    fs.writeFileSync(precious, 'keep me');
    const taken = new AnalyzerSink({ host: '127.0.0.1', port, output: precious });
    expect(() => taken.start()).toThrow(
      expect.objectContaining({
        code: 'DICAP_ERR_ADDRESS_IN_USE',
        message: `bind 127.0.0.1:${port}: Address already in use`,
      }),
    );
    expect(fs.readFileSync(precious, 'utf8')).toBe('keep me');
    expect(() => taken.start()).toThrow(expect.objectContaining({ code: 'DICAP_ERR_STATE' }));
    taken.stop();

    const missing = path.join(harness.dir, 'no-such-dir', 'x.pcap');
    const unwritable = new AnalyzerSink({ host: '127.0.0.1', port: 0, output: missing });
    expect(() => unwritable.start()).toThrow(
      expect.objectContaining({
        code: 'DICAP_ERR_SINK_OUTPUT',
        message: `open ${missing}: No such file or directory`,
      }),
    );

    // The failed starts released their sockets: the port is free once its holder stops.
    holder.stop();
    const again = new AnalyzerSink({ host: '127.0.0.1', port, output: tmpFile('again.pcap') });
    expect(again.start()).toMatchObject({ port });
    harness.track(again);
  });

  it('rejects misuse in the constructor and tolerates stop() before start() and twice', () => {
    expect(() => new AnalyzerSink({ host: 'localhost', port: 0, output: '/dev/null' })).toThrow(
      expect.objectContaining({
        code: 'DICAP_ERR_ARGUMENT',
        message: 'analyzer sink: host "localhost" is not an IPv4 address; resolve host names first',
      }),
    );
    expect(() => new AnalyzerSink({ host: '127.0.0.1', port: 70000, output: '/dev/null' })).toThrow(
      expect.objectContaining({ code: 'DICAP_ERR_ARGUMENT' }),
    );
    expect(() => new AnalyzerSink({ host: '127.0.0.1', port: 0, output: '' })).toThrow(
      expect.objectContaining({ code: 'DICAP_ERR_ARGUMENT' }),
    );
    const sink = new AnalyzerSink({ host: '127.0.0.1', port: 0, output: tmpFile('unused.pcap') });
    sink.stop();
    sink.stop();
    expect(
      errorCode(
        (() => {
          try {
            sink.start();
          } catch (e) {
            return e;
          }
        })(),
      ),
    ).toBe('DICAP_ERR_STATE');
  });
});
