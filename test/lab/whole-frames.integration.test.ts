// Whole frames end to end (issue 10 item 1): `dicap lab replay FILE… --nodes 3 --mode flow
// --snaplen 0 --out DIR` — three agents on the lab's passive interfaces, one analyzer — and
// the analyzer's pcap must hold every frame of the input exactly once, byte for byte, whole:
// the real captures of the repository (or ../shared/corpus where it is) and frames of 9000,
// 30000 and 65535 bytes, which travel from agent to analyzer split over several header-batch
// datagrams (SPEC.md §6.5). Checked by the experiment's own summary and, independently,
// by reading the output pcap here.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PcapFileWriter } from '../../common/pcap-file-writer.js';
import { privilegeProblem } from '../../lab/netns.js';
import type { ReplayExperimentSummary } from '../../lab/experiment.js';
import { readCaptureFile } from '../../native/capture-file.js';
import { corpusFiles, ethernetCaptures, HAVE_CORPUS } from '../helpers/captures.js';

const problem = privilegeProblem();
const DICAP = path.resolve('dist', 'bin', 'dicap.js');
/** The lab's wire MTU is 65535: a frame of 65535 + 14 bytes is the largest it carries; pcap cuts at 65535. */
const MAX_FRAME = 65535;
const BIG_SIZES = [9000, 30000, MAX_FRAME];
const BIG_PER_SIZE = 40;
/** A few corpus files are enough beside the repository's captures (the corpus test replays them all). */
const CORPUS_FILES = 60;

/** An IPv4/UDP frame of `size` bytes, 198.18.9.x → 198.18.10.x, its flow and payload set by `i`. */
function bigFrame(size: number, i: number): Buffer {
  const frame = Buffer.alloc(size);
  Buffer.from('0200000000aa0200000000bb0800', 'hex').copy(frame, 0);
  const ip = frame.subarray(14);
  ip[0] = 0x45;
  ip.writeUInt16BE(size - 14, 2);
  ip.writeUInt16BE(i & 0xffff, 4);
  ip[8] = 64;
  ip[9] = 17;
  ip.writeUInt32BE(0xc6120900 + (i % 200), 12);
  ip.writeUInt32BE(0xc6120a00 + ((i * 7) % 200), 16);
  let sum = 0;
  for (let k = 0; k < 20; k += 2) sum += ip.readUInt16BE(k);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  ip.writeUInt16BE(1024 + i, 20);
  ip.writeUInt16BE(4789, 22);
  ip.writeUInt16BE(size - 34, 24);
  for (let k = 42; k < size; k++) frame[k] = (k * 131 + i * 17) & 0xff;
  return frame;
}

function key(frame: Buffer): string {
  return `${frame.length}:${frame.toString('base64')}`;
}

function multiset(frames: readonly Buffer[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of frames) m.set(key(f), (m.get(key(f)) ?? 0) + 1);
  return m;
}

describe.skipIf(problem !== undefined)('whole frames through the lab, --snaplen 0 (needs root)', () => {
  let dir: string;
  let input: string;
  let frames: Buffer[];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-whole-frames-'));
    input = path.join(dir, 'input.pcap');
    const writer = new PcapFileWriter(input);
    frames = [];
    const add = (frame: Buffer): void => {
      writer.write(1_795_000_000_000_000_000n + BigInt(frames.length) * 1000n, frame);
      frames.push(frame);
    };
    const sources = [
      ...ethernetCaptures(),
      ...(HAVE_CORPUS ? corpusFiles('ether').slice(0, CORPUS_FILES) : []),
    ];
    let big = 0;
    for (const file of sources) {
      const read = readCaptureFile(file);
      if (read.error) continue;
      for (const f of read.frames) if (f.data.length > 0) add(f.data.subarray(0, MAX_FRAME));
      // the big frames between the real ones, so fragments and whole-record batches interleave
      for (const size of BIG_SIZES) if (big < BIG_SIZES.length * BIG_PER_SIZE) add(bigFrame(size, big++));
    }
    while (big < BIG_SIZES.length * BIG_PER_SIZE) add(bigFrame(BIG_SIZES[big % BIG_SIZES.length]!, big++));
    writer.close();
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes every input frame exactly once, byte for byte, whole, big frames included', async () => {
    const out = path.join(dir, 'out');
    const run = await promisify(execFile)(
      process.execPath,
      [
        DICAP,
        'lab',
        'replay',
        input,
        '--nodes',
        '3',
        '--mode',
        'flow',
        '--snaplen',
        '0',
        '--pps',
        '5000',
        '--out',
        out,
      ],
      { maxBuffer: 64 << 20 },
    ).catch((error: { stdout?: string; stderr?: string; code?: number }) => {
      throw new Error(`dicap lab replay exited ${error.code}: ${error.stdout}\n${error.stderr}`);
    });
    const summary = JSON.parse(
      fs.readFileSync(path.join(out, 'summary.json'), 'utf8'),
    ) as ReplayExperimentSummary;
    expect(summary.snaplen, run.stdout).toBe(MAX_FRAME);
    expect(summary.replay.failed, 'tcpreplay sent every frame').toBe(0);
    expect(summary.exactlyOnce, run.stdout).toBe(true);

    const written = readCaptureFile(path.join(out, 'analyzer1.pcap'));
    expect(written.error).toBeNull();
    const output = written.frames.map((f) => Buffer.from(f.data));
    for (const f of written.frames) expect(f.data.length, 'whole: captured = wire length').toBe(f.wireLen);
    expect(output.length).toBe(frames.length);
    expect(multiset(output)).toEqual(multiset(frames));
    expect(output.filter((f) => f.length === MAX_FRAME).length).toBeGreaterThanOrEqual(BIG_PER_SIZE);
  }, 600_000);
});
