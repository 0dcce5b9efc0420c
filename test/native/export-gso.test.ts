// UDP GSO export: runs of equal-length header batches leave as one UDP_SEGMENT write, which
// the kernel cuts into the same datagrams. A real UDP socket on loopback receives every
// record exactly once, in as many datagrams as the engine counts, with GSO and without.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { writeSyntheticPcap } from '../../bench/synthetic-pcap.js';
import { AnalyzerSink } from '../../native/analyzer-sink.js';
import { waitUntil } from '../analyzer/helpers.js';
import { BatchCollector } from '../helpers/batch-collector.js';
import { fileEngine, loneNodeTopology, runToEnd } from '../helpers/test-engine.js';

const FRAMES = 20_000;

const dir = tempDir('gso-test');
let file: string;
/** Frames of four sizes: full batches of them differ in length unless padded. */
let mixedFile: string;

beforeAll(() => {
  file = path.join(dir, 'synthetic.pcap');
  writeSyntheticPcap(file, FRAMES);
  mixedFile = path.join(dir, 'mixed.pcap');
  writeSyntheticPcap(mixedFile, FRAMES, 4096, [60, 97, 128, 128, 74]);
});

async function exportAll(gso: boolean, source = file) {
  const collector = new BatchCollector();
  const port = await collector.listen();
  try {
    const engine = fileEngine(source, { queueSlots: 4096, gso });
    engine.offerTopology(loneNodeTopology([{ ip: '127.0.0.1', port }]));
    const c = await runToEnd(engine);
    await collector.waitForRecords(FRAMES);
    const seqs = collector.batches.map((b) => b.seq).sort((a, b) => Number(a - b));
    return {
      counters: c,
      records: collector.records(),
      datagrams: collector.batches.length,
      seqs,
      rejected: collector.rejected,
    };
  } finally {
    collector.close();
  }
}

describe('UDP GSO export', () => {
  it('delivers every record in the datagrams it counts, most of them in GSO writes', async () => {
    const r = await exportAll(true);
    expect(r.counters.recordsExported).toBe(FRAMES);
    expect({ records: r.records, datagrams: r.datagrams, rejected: r.rejected }).toEqual({
      records: FRAMES,
      datagrams: r.counters.datagramsSent,
      rejected: 0,
    });
    // Each datagram once: the segments carry consecutive sequence numbers 0 … n-1.
    expect(r.seqs).toEqual(r.seqs.map((_, i) => BigInt(i)));
    expect(r.counters.gsoFallbacks).toBe(0);
    // 64-byte frames make equal full batches: far fewer writes than datagrams.
    expect(r.counters.gsoWrites).toBeGreaterThan(0);
    expect(r.counters.gsoWrites).toBeLessThan(r.counters.datagramsSent / 4);
  });

  it('pads full batches of mixed-size frames to one length, so they still share GSO writes', async () => {
    const r = await exportAll(true, mixedFile);
    expect({ records: r.records, datagrams: r.datagrams, rejected: r.rejected }).toEqual({
      records: FRAMES,
      datagrams: r.counters.datagramsSent,
      rejected: 0,
    });
    expect(r.seqs).toEqual(r.seqs.map((_, i) => BigInt(i)));
    // Unpadded, full batches of these frames differ in length and a write held ~3 of them.
    expect(r.counters.gsoWrites).toBeLessThan(r.counters.datagramsSent / 8);
  });

  it('reaches an analyzer sink in GRO receives of whole runs, cut into the datagrams sent', async () => {
    const sink = new AnalyzerSink({ host: '127.0.0.1', port: 0, output: '/dev/null', format: 'pcap' });
    const { port } = sink.start();
    try {
      const engine = fileEngine(mixedFile, { queueSlots: 4096, gso: true });
      engine.offerTopology(loneNodeTopology([{ ip: '127.0.0.1', port }]));
      const c = await runToEnd(engine);
      await waitUntil(() => sink.counters().datagrams >= c.datagramsSent, 'every datagram at the sink');
      sink.stop(); // writes out what the output still buffers
      const s = sink.counters();
      expect(s.gro).toBe(true);
      expect({ datagrams: s.datagrams, records: s.records, written: s.recordsWritten }).toEqual({
        datagrams: c.datagramsSent,
        records: FRAMES,
        written: FRAMES,
      });
      expect(Object.values(s.malformed).every((n) => n === 0)).toBe(true);
      const nodeCounters = s.nodes[0]!;
      expect({ gaps: nodeCounters.gapDatagrams, duplicates: nodeCounters.duplicateDatagrams }).toEqual({
        gaps: 0,
        duplicates: 0,
      });
      // Runs arrive whole: far fewer receives than datagrams.
      expect(s.coalescedReceives).toBeGreaterThan(0);
      expect(s.coalescedReceives).toBeLessThan(c.datagramsSent / 4);
    } finally {
      sink.stop();
    }
  });

  it('sends the same datagrams one by one with gso off', async () => {
    const r = await exportAll(false);
    expect({ records: r.records, datagrams: r.datagrams, gsoWrites: r.counters.gsoWrites }).toEqual({
      records: FRAMES,
      datagrams: r.counters.datagramsSent,
      gsoWrites: 0,
    });
  });
});
