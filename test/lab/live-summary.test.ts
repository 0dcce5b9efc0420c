// What the lab reads live counters from: `dicap agent --summary FILE` and `dicap analyzer
// --summary FILE` write the file when they start, rewrite it whole every --status-interval
// while they run ("final": false) and once more at exit ("final": true).
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { PcapFileWriter } from '../../common/pcap-file-writer.js';
import { dicapOptions, runDicap, startDicap } from '../../lab/dicap-command.js';

const FRAMES = 6;
const SPACING_NS = 600_000_000n; // a 3 s capture, read in real time
const PORT = 19600 + (process.pid % 100);

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

describe('live --summary files', () => {
  const dir = tempDir('live-summary');
  let capture: string;

  beforeAll(() => {
    capture = path.join(dir, 'slow.pcap');
    const writer = new PcapFileWriter(capture);
    const frame = Buffer.alloc(60);
    frame.write('02000000000202000000000108004500002e000140004011', 0, 'hex');
    for (let i = 0; i < FRAMES; i++) {
      frame.writeUInt16BE(i, 18); // IP ID
      writer.write(1_795_000_000_000_000_000n + BigInt(i) * SPACING_NS, frame);
    }
    writer.close();
  });

  it('agent and analyzer rewrite their summaries while running, and mark the one at exit final', async () => {
    const agentFile = path.join(dir, 'agent.json');
    const analyzerFile = path.join(dir, 'analyzer.json');
    const analyzer = startDicap([
      'analyzer',
      ...dicapOptions({
        listen: `127.0.0.1:${PORT}`,
        write: path.join(dir, 'out.pcap'),
        summary: analyzerFile,
        'status-interval': 1,
      }),
    ]);
    try {
      await analyzer.waitForStderr(/listening/);
      // Written before the analyzer says it listens.
      expect(readJson(analyzerFile)).toMatchObject({ final: false, records: 0 });

      const agent = startDicap([
        'agent',
        ...dicapOptions({
          pcap: capture,
          realtime: true,
          'node-id': 1,
          nodes: 1,
          analyzer: `127.0.0.1:${PORT}`,
          'flush-ms': 1,
          summary: agentFile,
          'status-interval': 1,
        }),
      ]);
      await agent.waitForStderr(/capturing/);
      expect(readJson(agentFile)).toMatchObject({ nodeId: 1, final: false });

      // While the agent still reads the file: counts that grow, never final.
      const agentViews: Array<Record<string, unknown>> = [];
      const analyzerViews: Array<Record<string, unknown>> = [];
      while (agent.child.exitCode === null) {
        const a = readJson(agentFile);
        const b = readJson(analyzerFile);
        if (agent.child.exitCode !== null) break;
        if (a) agentViews.push(a);
        if (b) analyzerViews.push(b);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await agent.exited, agent.stderr()).toBe(0);
      const runningFrames = agentViews.filter((v) => v.final === false).map((v) => v.frames as number);
      expect(
        new Set(runningFrames).size,
        `agent frames seen while running: ${runningFrames.join(',')}`,
      ).toBeGreaterThanOrEqual(2);
      expect(runningFrames.some((n) => n > 0 && n < FRAMES)).toBe(true);
      expect(runningFrames).toEqual([...runningFrames].sort((x, y) => x - y));
      expect(analyzerViews.some((v) => v.final === false && (v.records as number) > 0)).toBe(true);
      expect(readJson(agentFile)).toMatchObject({
        nodeId: 1,
        final: true,
        frames: FRAMES,
        recordsExported: FRAMES,
      });

      await new Promise((r) => setTimeout(r, 200));
      analyzer.child.kill('SIGTERM');
      expect(await analyzer.exited, analyzer.stderr()).toBe(0);
      expect(readJson(analyzerFile)).toMatchObject({ final: true, records: FRAMES, recordsWritten: FRAMES });
      // Every write replaced the file whole: no temporary file is left beside it.
      expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      analyzer.child.kill('SIGKILL');
    }
  });

  it('a summary file that cannot be written stops the agent at start with one line', async () => {
    const result = await runDicap([
      'agent',
      ...dicapOptions({
        pcap: capture,
        'node-id': 1,
        nodes: 1,
        summary: path.join(dir, 'missing', 'a.json'),
      }),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /cannot write --summary .*missing\/a\.json \(ENOENT\); check that its directory exists and is writable/,
    );
  });

  it('a summary file that cannot be written stops the analyzer at start with one line', async () => {
    const result = await runDicap([
      'analyzer',
      ...dicapOptions({
        listen: `127.0.0.1:${PORT + 1}`,
        write: path.join(dir, 'x.pcap'),
        summary: path.join(dir, 'missing', 'b.json'),
      }),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /cannot write --summary .*missing\/b\.json \(ENOENT\); check that its directory exists and is writable$/,
      ),
    ]);
  });
});
