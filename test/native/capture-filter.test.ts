// --filter: libpcap's compiler, run on each frame before selection. Checked against tcpdump
// reading the same generated file with the same expression: the engine exports exactly the
// frames tcpdump keeps and counts the others as filtered; bad expressions give one line.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { runDicap } from '../../lab/dicap-command.js';
import { parseLogLine } from '../../common/logger.js';
import type { CaptureEngine } from '../../native/engine.js';
import { readCaptureFile } from '../../native/capture-file.js';
import { BatchCollector } from '../helpers/batch-collector.js';
import { compareMultisets, frameMultiset } from '../helpers/frames.js';
import { fileEngine, loneNodeTopology, runToEnd } from '../helpers/test-engine.js';
import { writeGenerated } from '../helpers/generated-traffic.js';

const SNAPLEN = 128;
const COUNT = 4000;
const FILTER = 'udp or (tcp and port 80) or icmp6';

const dir = tempDir('filter-test');
let generated: string;
let collector: BatchCollector;
let port: number;

beforeAll(async () => {
  generated = path.join(dir, 'gen.pcap');
  await writeGenerated(generated, { count: COUNT, seed: 3 });
  collector = new BatchCollector();
  port = await collector.listen();
});
afterAll(() => {
  collector?.close();
});

function engine(filter: string, snaplen = SNAPLEN): CaptureEngine {
  return fileEngine(generated, { snaplen, filter });
}

describe('--filter', () => {
  it('exports exactly the frames tcpdump keeps with the same expression and counts the rest', async () => {
    const expectedFile = path.join(dir, 'tcpdump.pcap');
    execFileSync('tcpdump', ['-r', generated, '-w', expectedFile, FILTER], { stdio: 'ignore' });
    const expected = readCaptureFile(expectedFile).frames;
    expect(expected.length).toBeGreaterThan(COUNT / 10);
    expect(expected.length).toBeLessThan(COUNT);

    const e = engine(FILTER);
    e.offerTopology(loneNodeTopology([{ ip: '127.0.0.1', port }]));
    const c = await runToEnd(e);
    expect({ frames: c.frames, filtered: c.filtered, seen: c.seen, exported: c.recordsExported }).toEqual({
      frames: COUNT,
      filtered: COUNT - expected.length,
      seen: expected.length,
      exported: expected.length,
    });
    await collector.waitForRecords(expected.length);
    const received = collector.batches.flatMap((b) => b.records.map((r) => ({ tsNs: 0n, data: r.data })));
    expect(
      compareMultisets(
        frameMultiset(
          expected.map((f) => ({ tsNs: 0n, data: f.data })),
          SNAPLEN,
        ),
        frameMultiset(received, SNAPLEN),
      ),
    ).toEqual({ missing: 0, extra: 0 });
  });

  it("refuses a bad expression with one line: libpcap's message and the fix", () => {
    expect(() => engine('udp port')).toThrow(/^--filter "udp port": .*syntax error.*man pcap-filter\)$/);
    expect(() => engine('udp port')).not.toThrow(/\n/);
  });

  it('refuses an expression that reads past the snaplen, naming the snaplen it needs', () => {
    expect(() => engine('ether[200] = 1', 96)).toThrow(
      /reads up to byte 201 .* only 96 are kept; raise --snaplen to at least 201/,
    );
  });
});

/** `dicap agent` as node 1 of a static one-node topology, with `args`. */
const loneAgent = (args: string[]) => runDicap(['agent', '--node-id', '1', '--nodes', '1', ...args]);

describe('dicap agent refuses in one line', () => {
  it('--capture-threads with a file, and with a static round-robin topology', async () => {
    const file = await loneAgent(['--pcap', generated, '--capture-threads', '2']);
    expect(file.code).toBe(2);
    expect(file.stderr.trim()).toBe(
      'dicap agent: --capture-threads applies to live capture (--interface); a file is read by one thread',
    );
    const rr = await loneAgent(['--interface', 'lo', '--mode', 'round-robin', '--capture-threads', '2']);
    expect(rr.code).toBe(2);
    expect(rr.stderr.trim().split('\n')).toHaveLength(1);
    expect(rr.stderr).toMatch(/round-robin counts frames in wire order.*use --capture-threads 1/);
  });

  it('a bad --filter', async () => {
    const r = await loneAgent([
      '--pcap',
      generated,
      '--analyzer',
      '127.0.0.1:9',
      '--filter',
      'tcp port http2x',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').map(parseLogLine)).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: expect.stringMatching(/^--filter "tcp port http2x": .*man pcap-filter\)/),
      }),
    ]);
  });
});
