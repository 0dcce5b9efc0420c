// The engine's IPv4 Identification histogram (CaptureEngine.ipidHistogram): per node, the
// IDs of the IPv4 frames it owns in 256 bins of 256; summed over the nodes, the link's.
// Checked against the TypeScript owners of every frame of the captures in test/captures/.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PcapFileWriter } from '../../common/pcap-file-writer.js';
import { readCaptureFile } from '../../native/capture-file.js';
import { IPID_BINS, type SelectionModeName } from '../../native/engine.js';
import { ownerPosition, parseFrame } from '../../protocol/index.js';
import { ethernetCaptures } from '../helpers/captures.js';
import { tempDir } from '../helpers/temp-dir.js';
import { fileEngine, K0, K1, runToEnd, testTopology } from '../helpers/test-engine.js';

const NODES = [11, 22, 33];

const pcap = path.join(tempDir('ipid-histogram'), 'corpus.pcap');
let frames: Buffer[];

beforeAll(() => {
  const writer = new PcapFileWriter(pcap);
  frames = [];
  for (const file of ethernetCaptures()) {
    const read = readCaptureFile(file);
    for (const f of read.frames) {
      frames.push(f.data);
      writer.write(BigInt(frames.length) * 1000n, f.data);
    }
  }
  writer.close();
});

async function histogramOf(nodeId: number, mode: SelectionModeName): Promise<number[]> {
  const engine = fileEngine(pcap, { nodeId, flushUs: 1000 });
  engine.offerTopology(testTopology(mode, NODES));
  await runToEnd(engine);
  return engine.ipidHistogram(); // readable after stop()
}

/** The histogram the TypeScript selection predicts for the frames node `position` owns (all nodes: undefined). */
function expected(mode: 'ipid' | 'flow', position?: number): number[] {
  const bins = new Array<number>(IPID_BINS).fill(0);
  for (const frame of frames) {
    const id = parseFrame(frame).ipv4Id;
    if (id === undefined || frame.length < 14) continue;
    if (position !== undefined && ownerPosition(mode, frame, NODES, K0, K1) !== position) continue;
    bins[id >> 8]! += 1;
  }
  return bins;
}

describe('the engine’s IPv4 ID histogram', () => {
  it.each(['ipid', 'flow'] as const)(
    'in %s mode counts exactly the IPv4 frames each node owns, and the nodes add up to the link',
    async (mode) => {
      const perNode = await Promise.all(NODES.map((id) => histogramOf(id, mode)));
      const link = expected(mode);
      expect(link.reduce((a, b) => a + b, 0)).toBeGreaterThan(1000); // the captures are mostly IPv4
      perNode.forEach((bins, position) =>
        expect(bins, `node ${NODES[position]}`).toEqual(expected(mode, position)),
      );
      expect(perNode.reduce((sum, bins) => sum.map((n, i) => n + bins[i]!))).toEqual(link);
    },
  );

  it('counts nothing in round-robin (no frame is parsed) or on a node outside the topology', async () => {
    const zero = new Array<number>(IPID_BINS).fill(0);
    expect(await histogramOf(11, 'round-robin')).toEqual(zero);
    expect(await histogramOf(99, 'ipid')).toEqual(zero);
  });
});
