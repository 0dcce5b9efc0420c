import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { type CaptureEngine, type EngineTopology, type SelectionModeName } from '../../native/engine.js';
import { readCaptureFile } from '../../native/capture-file.js';
import { native } from '../../native/addon.js';
import { PcapFileWriter } from '../../common/pcap-file-writer.js';
import {
  encodeControlMessage,
  encodeInbandFrame,
  ownerPosition,
  RoundRobinOwner,
  topologyUpdate,
} from '../../protocol/index.js';
import { BatchCollector } from '../helpers/batch-collector.js';
import { compareMultisets, frameKey, frameMultiset } from '../helpers/frames.js';
import { testCapture } from '../helpers/captures.js';
import { fileEngine, K0, K1, runToEnd, testTopology } from '../helpers/test-engine.js';

const NODES = [11, 22, 33];
const SNAPLEN = 96;
const CLUSTER_KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

const dir = tempDir('engine-test');
let collector: BatchCollector;
let port: number;

beforeAll(async () => {
  collector = new BatchCollector();
  port = await collector.listen();
});
afterAll(() => {
  collector.close();
});

function topology(mode: SelectionModeName, overrides: Partial<EngineTopology> = {}): EngineTopology {
  return { ...testTopology(mode, NODES, [{ ip: '127.0.0.1', port }]), ...overrides };
}

/** `workers` 0: the capture thread exports itself (`--workers 0`). */
function engineFor(file: string, nodeId: number, clusterKey?: Buffer, workers = 2): CaptureEngine {
  return fileEngine(file, { nodeId, clusterKey, workers, snaplen: SNAPLEN });
}

describe('the capture engine from a file', () => {
  const files = ['tcpdump__afs.pcap', 'tcpdump__arp-oobr.pcap', 'tcpdump__OSPFv2_Capture_FINAL.pcapng'].map(
    (f) => testCapture(f),
  );

  const runs = [
    ...(['flow', 'ipid', 'round-robin'] as const).map((mode) => ({ mode, workers: 2 })),
    { mode: 'flow' as const, workers: 0 },
    { mode: 'round-robin' as const, workers: 0 },
  ];
  for (const { mode, workers } of runs) {
    const exporters = workers === 0 ? 'the capture thread exporting' : `${workers} export workers`;
    it(`exports every frame exactly once across three nodes, each from its owner (${mode}, ${exporters})`, async () => {
      for (const file of files) {
        const input = readCaptureFile(file).frames;
        collector.batches.length = 0;
        for (const nodeId of NODES) {
          const engine = engineFor(file, nodeId, undefined, workers);
          engine.offerTopology(topology(mode));
          await runToEnd(engine);
          const c = engine.counters();
          expect(c.seen).toBe(input.length);
          expect(c.recordsExported).toBe(c.owned);
          // One export stream per worker, or the capture thread's own with no queue between.
          expect(c.workers).toHaveLength(Math.max(1, workers));
          expect(c.queued).toBe(c.owned);
        }
        await collector.waitForRecords(input.length);
        const received = collector.batches.flatMap((b) =>
          b.records.map((r) => ({
            tsNs: BigInt(r.tsSec) * 1_000_000_000n + BigInt(r.tsNsec),
            data: r.data,
            node: b.nodeId,
            wireLen: r.wireLen,
          })),
        );
        expect(compareMultisets(frameMultiset(input, SNAPLEN), frameMultiset(received, SNAPLEN))).toEqual({
          missing: 0,
          extra: 0,
        });

        // Owner of every frame: TypeScript's ownerPosition, and the node that sent it.
        const counter = new RoundRobinOwner();
        const expectedNode = new Map<string, number>();
        for (const frame of input) {
          const position =
            mode === 'round-robin'
              ? counter.next(frame.data, NODES.length)
              : ownerPosition(mode, frame.data, NODES, K0, K1);
          expectedNode.set(frameKey(frame, SNAPLEN), NODES[position]!);
        }
        const wrongOwner = received.filter((r) => expectedNode.get(frameKey(r, SNAPLEN)) !== r.node);
        expect(wrongOwner).toEqual([]);
        const wireLength = new Map(input.map((f) => [frameKey(f, SNAPLEN), Math.min(0xffff, f.wireLen)]));
        const wrongLength = received.filter((r) => r.wireLen !== wireLength.get(frameKey(r, SNAPLEN)));
        expect(wrongLength).toEqual([]);
      }
    });
  }

  it('counts seen, owned and exported per epoch, and switches topology on the frame at its validity start', async () => {
    const file = files[0]!;
    const input = readCaptureFile(file).frames;
    const switchAt = input[300]!.tsNs;
    const expectedBefore = input.filter((f) => f.tsNs < switchAt).length;
    const engine = engineFor(file, 11);
    const topologies: number[] = [];
    engine.on('topology', (t) => topologies.push(t.epoch));
    // Offered in the wrong order: each still comes into force at its own frame time.
    engine.offerTopology(topology('flow', { epoch: 2, nodeIds: [11], validityStartNs: switchAt }));
    engine.offerTopology(topology('flow'));
    engine.start();
    await once(engine, 'end');
    engine.stop();
    const c = engine.counters();
    expect(topologies).toEqual([1, 2]);
    const [first, second] = c.epochs;
    expect(first!.epoch).toBe(1);
    expect(first!.seen).toBe(expectedBefore);
    expect(second!.epoch).toBe(2);
    expect(second!.seen).toBe(input.length - expectedBefore);
    expect(second!.owned).toBe(second!.seen); // the only node of epoch 2 owns everything
    expect(first!.exported + second!.exported).toBe(c.recordsExported);
  });
});

describe('a capture thread that exports itself (workers 0)', () => {
  it('sends a partly filled batch when its flush interval ends, also while a paced file waits for its next frame', async () => {
    const file = path.join(dir, 'two-frames-apart.pcap');
    const writer = new PcapFileWriter(file);
    const [first, second] = readCaptureFile(testCapture('tcpdump__afs.pcap')).frames;
    const gapNs = 1_500_000_000n; // far beyond the 5 ms flush interval
    writer.write(1_795_000_000_000_000_000n, first!.data);
    writer.write(1_795_000_000_000_000_000n + gapNs, second!.data);
    writer.close();
    // A node of its own: records other tests' engines may still have on the way do not count.
    const nodeId = 44;
    const records = () =>
      collector.batches.filter((b) => b.nodeId === nodeId).flatMap((b) => b.records).length;
    const waitForRecords = async (count: number) => {
      const deadline = Date.now() + 5000;
      while (records() < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    };
    const engine = fileEngine(file, { nodeId, workers: 0, snaplen: SNAPLEN, realtime: true });
    engine.offerTopology(topology('flow', { nodeIds: [nodeId] }));
    const ended = once(engine, 'end');
    engine.start();
    try {
      await waitForRecords(1);
      // The first record arrived while the engine still waited to read the second frame.
      expect(records()).toBe(1);
      expect(engine.counters().frames).toBe(1);
      await ended;
    } finally {
      engine.stop();
    }
    await waitForRecords(2);
    expect(records()).toBe(2);
  });
});

describe('in-band topology frames (round-robin)', () => {
  function inbandFile(
    name: string,
    key: Buffer,
    frames: Buffer[],
    at: number,
  ): { file: string; tsNs: bigint[] } {
    const file = path.join(dir, name);
    const writer = new PcapFileWriter(file);
    const baseS = 1_795_000_000;
    const tsNs: bigint[] = [];
    const update = encodeControlMessage(
      {
        ...topologyUpdate({
          term: 1,
          epoch: 7,
          selection: 'round-robin',
          validityStartMs: baseS * 1000,
          nodeIds: NODES,
          analyzers: [{ ip: '127.0.0.1', port }],
          k0: K0,
          k1: K1,
          snaplen: SNAPLEN,
        }),
        timestamp: baseS,
        senderSeq: 1,
      },
      key,
    );
    const inband = encodeInbandFrame(Buffer.from('020000000099', 'hex'), update);
    frames.forEach((frame, i) => {
      const ts = BigInt(baseS) * 1_000_000_000n + BigInt(i) * 1000n;
      if (i === at) {
        writer.write(ts - 500n, inband);
        tsNs.push(ts - 500n);
      }
      writer.write(ts, frame);
      tsNs.push(ts);
    });
    writer.close();
    return { file, tsNs };
  }

  const traffic = readCaptureFile(testCapture('tcpdump__afs.pcap'))
    .frames.slice(0, 100)
    .map((f) => f.data);

  it('an authentic frame resets the counter on every node and is neither counted nor exported', async () => {
    const { file } = inbandFile('inband.pcap', CLUSTER_KEY, traffic, 40);
    const positions = native.ownersOfFile(file, topology('round-robin'), CLUSTER_KEY).positions as Int32Array;
    expect(positions[40]).toBe(-1); // the control frame
    expect(Array.from(positions.slice(0, 40))).toEqual(Array.from({ length: 40 }, (_, i) => i % 3));
    expect(Array.from(positions.slice(41))).toEqual(Array.from({ length: 60 }, (_, i) => i % 3));

    const engine = engineFor(file, 22, CLUSTER_KEY);
    const adopted: Array<[number, boolean]> = [];
    engine.on('topology', (t, inband) => adopted.push([t.epoch, inband]));
    engine.offerTopology(topology('round-robin'));
    await runToEnd(engine);
    const c = engine.counters();
    expect(adopted).toEqual([
      [1, false],
      [7, true],
    ]);
    expect(c.controlFrames).toBe(1);
    expect(c.inbandRejected).toBe(0);
    expect(c.seen).toBe(100);
    expect(c.epochs.map((e) => [e.epoch, e.seen, e.owned])).toEqual([
      [1, 40, 13],
      [7, 60, 20],
    ]);
  });

  it('a forged frame (wrong key) changes nothing: it is counted as rejected and exported as traffic', async () => {
    const { file } = inbandFile('forged.pcap', Buffer.alloc(16, 7), traffic, 40);
    const positions = native.ownersOfFile(file, topology('round-robin'), CLUSTER_KEY).positions as Int32Array;
    // The forged frame (at 40) is traffic of position 0, outside C (SPEC §6.10).
    expect(Array.from(positions)).toEqual(
      Array.from({ length: 101 }, (_, i) => (i < 40 ? i % 3 : i === 40 ? 0 : (i - 1) % 3)),
    );
    const engine = engineFor(file, 22, CLUSTER_KEY);
    engine.offerTopology(topology('round-robin'));
    await runToEnd(engine);
    const c = engine.counters();
    expect(c.controlFrames).toBe(0);
    expect(c.inbandRejected).toBe(1);
    expect(c.seen).toBe(101);
    expect(c.epoch).toBe(1);
  });
});

describe('bad sources', () => {
  it('refuses a capture that is not Ethernet with one line naming the link type', () => {
    const engine = engineFor(testCapture('tcpdump__802_15_4-data.pcap'), 11);
    engine.offerTopology(topology('flow'));
    expect(() => engine.start()).toThrow(/link type .* is not Ethernet/);
    engine.stop();
  });

  it('reports where a truncated file ends, after exporting the frames before it', async () => {
    const source = fs.readFileSync(testCapture('tcpdump__afs.pcap'));
    const file = path.join(dir, 'truncated.pcap');
    fs.writeFileSync(file, source.subarray(0, Math.floor(source.length / 2)));
    const engine = engineFor(file, 11);
    engine.offerTopology(topology('flow', { nodeIds: [11] }));
    const errors: string[] = [];
    engine.on('error', (e) => errors.push(e.message));
    // not events.once: it would reject on the 'error' event that comes before 'end'
    const ended = new Promise((resolve) => engine.on('end', () => resolve(undefined)));
    engine.start();
    await ended;
    engine.stop();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/truncated\.pcap.*byte \d+/);
    expect(engine.counters().recordsExported).toBe(engine.counters().seen);
    expect(engine.counters().seen).toBeGreaterThan(0);
  });
});
