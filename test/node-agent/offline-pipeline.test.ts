// The offline pipeline, end to end with real processes: three `dicap agent --pcap` (positions
// 0, 1, 2) read the same capture and export over loopback UDP to one `dicap analyzer`. The
// analyzer's pcap must hold every input frame exactly once, and each frame must come from the
// node that both `dicap owner` (the engine's selection) and the TypeScript owner name.
// The agents run one after another, so the analyzer's output is three runs in agent order,
// which tells us which node sent each frame.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { readCaptureFile, type CapturedFrame } from '../../native/capture-file.js';
import { PcapFileWriter } from '../../common/pcap-file-writer.js';
import { ownerPosition, RoundRobinOwner } from '../../protocol/index.js';
import { dicapOptions, runDicap, startDicap } from '../../lab/dicap-command.js';
import { compareMultisets, frameMultiset } from '../helpers/frames.js';
import { testCapture, corpusFiles, ethernetCaptures, HAVE_CORPUS } from '../helpers/captures.js';

const NODES = [11, 22, 33];
const KEY = '0x1234,0x5678';
const SNAPLEN = 128;
const PORT = 19800 + (process.pid % 100);

/**
 * Every 8th Ethernet file of the team's corpus (~90 files, pcap and pcapng, many malformed
 * frames) where it is there, else every Ethernet capture of test/captures/, concatenated.
 */
function combinedCorpus(file: string): { frames: CapturedFrame[]; files: number } {
  const names = HAVE_CORPUS ? corpusFiles('ether').filter((_, i) => i % 8 === 0) : ethernetCaptures();
  const writer = new PcapFileWriter(file);
  const frames: CapturedFrame[] = [];
  for (const name of names) {
    // Captures of timestamp edge cases (the year 2106 and later) have frames classic pcap cannot hold.
    for (const frame of readCaptureFile(name).frames.filter((f) => PcapFileWriter.fits(f.tsNs))) {
      // The writer stores wire length = captured length; keep both equal in the expectation.
      writer.write(frame.tsNs, frame.data);
      frames.push({ ...frame, wireLen: frame.data.length });
    }
  }
  writer.close();
  return { frames, files: names.length };
}

function expectedPositions(mode: 'flow' | 'ipid' | 'round-robin', frames: CapturedFrame[]): number[] {
  const counter = new RoundRobinOwner();
  return frames.map((f) =>
    mode === 'round-robin'
      ? counter.next(f.data, NODES.length)
      : ownerPosition(mode, f.data, NODES, 0x1234, 0x5678),
  );
}

describe('offline pipeline: three agents and one analyzer', () => {
  const dir = tempDir('pipeline');
  let inputs: Array<{ label: string; file: string; frames: CapturedFrame[] }>;

  beforeAll(() => {
    const combined = path.join(dir, 'combined.pcap');
    const { frames, files } = combinedCorpus(combined);
    inputs = [{ label: `${files} corpus files combined`, file: combined, frames }];
    for (const name of [
      'tcpdump__OSPFv2_Capture_FINAL.pcapng',
      'tcpdump__bigtcp-ipv6.pcap',
      'zeek__pppoe-over-qinq.pcap',
    ]) {
      const file = testCapture(name);
      inputs.push({ label: name, file, frames: readCaptureFile(file).frames });
    }
  });

  for (const mode of ['flow', 'ipid', 'round-robin'] as const) {
    it(`covers every frame exactly once, each from its owner (${mode})`, async () => {
      for (const input of inputs) {
        const out = path.join(dir, `${mode}.pcap`);
        const analyzer = startDicap([
          'analyzer',
          ...dicapOptions({ listen: `127.0.0.1:${PORT}`, write: out, 'status-interval': 0 }),
        ]);
        await analyzer.waitForStderr(/listening/i);
        const owned: number[] = [];
        for (const nodeId of NODES) {
          const summary = path.join(dir, `agent-${nodeId}.json`);
          const agent = await runDicap([
            'agent',
            ...dicapOptions({
              pcap: input.file,
              'node-id': nodeId,
              nodes: NODES.join(','),
              mode,
              key: KEY,
              analyzer: `127.0.0.1:${PORT}`,
              snaplen: SNAPLEN,
              summary,
              'status-interval': 0,
            }),
          ]);
          expect(agent.code, agent.stderr).toBe(0);
          const counters = JSON.parse(fs.readFileSync(summary, 'utf8'));
          expect(counters.seen).toBe(input.frames.length);
          expect(counters.recordsExported).toBe(counters.owned);
          owned.push(counters.owned);
        }
        await new Promise((r) => setTimeout(r, 200));
        analyzer.child.kill('SIGTERM');
        expect(await analyzer.exited, analyzer.stderr()).toBe(0);

        const written = readCaptureFile(out);
        expect(written.error).toBeNull();
        expect(
          compareMultisets(frameMultiset(input.frames, SNAPLEN), frameMultiset(written.frames, SNAPLEN)),
          input.label,
        ).toEqual({ missing: 0, extra: 0 });

        // The output is node 11's frames, then 22's, then 33's (each agent flushes before it exits).
        const typescript = expectedPositions(mode, input.frames);
        const owner = await runDicap([
          'owner',
          '--mode',
          mode,
          '--nodes',
          NODES.join(','),
          '--key',
          KEY,
          input.file,
        ]);
        expect(owner.code, owner.stderr).toBe(0);
        const engine = owner.stdout
          .trim()
          .split('\n')
          .map((line) => Number(line.split(' ')[1]));
        expect(engine).toEqual(typescript);
        expect(owned).toEqual([0, 1, 2].map((p) => typescript.filter((q) => q === p).length));
        let start = 0;
        for (const p of [0, 1, 2]) {
          const segment = written.frames.slice(start, start + owned[p]!);
          start += owned[p]!;
          const ownedByP = input.frames.filter((_, i) => typescript[i] === p);
          expect(
            compareMultisets(frameMultiset(ownedByP, SNAPLEN), frameMultiset(segment, SNAPLEN)),
            `${input.label}: node ${NODES[p]}`,
          ).toEqual({ missing: 0, extra: 0 });
        }
      }
    });
  }
});
