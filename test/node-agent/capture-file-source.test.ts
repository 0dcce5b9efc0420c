// `dicap agent --pcap` against files that change under it or are not files (issue 11 case 8):
// a capture file truncated by another process while the agent reads it ends the run with one
// counted line (it used to kill the agent with SIGBUS through the mapping), and a FIFO is
// refused at once (it used to block the agent in open() for good, deaf to SIGTERM).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { PcapFileWriter } from '../../common/pcap-file-writer.js';
import { parseLogLine } from '../../common/logger.js';
import { startDicap } from '../../lab/dicap-command.js';

const tmp = tempDir('agent-file');

// An analyzer address nobody listens on: export errors are counted, not fatal.
const AGENT = [
  'agent',
  '--node-id',
  '1',
  '--nodes',
  '1',
  '--key',
  '0x1234,0x5678',
  '--analyzer',
  '127.0.0.1:9',
];
const FRAMES = 12_000; // 1514 bytes each: about 18 MiB, many times the reader's 256 KiB buffer
const SPAN_NS = 6_000_000_000n; // --realtime replays them over 6 s

function writeBigPcap(file: string): void {
  const writer = new PcapFileWriter(file);
  const frame = Buffer.alloc(1514, 0xab);
  frame.writeUInt16BE(0x0800, 12);
  const start = 1_795_000_000_000_000_000n;
  for (let i = 0; i < FRAMES; ++i) writer.write(start + (BigInt(i) * SPAN_NS) / BigInt(FRAMES), frame);
  writer.close();
}

describe('dicap agent --pcap on files that are not what they were', () => {
  it('ends with one counted error line when another process truncates the file while it is read', async () => {
    const file = path.join(tmp, 'shrinking.pcap');
    writeBigPcap(file);
    const size = fs.statSync(file).size;
    const summary = path.join(tmp, 'summary.json');
    const agent = startDicap([
      ...AGENT,
      '--pcap',
      file,
      '--realtime',
      '--summary',
      summary,
      '--status-interval',
      '0',
    ]);
    await agent.waitForStderr(/capturing from file/);
    await new Promise((r) => setTimeout(r, 500)); // a few MiB into a file of about 18
    fs.truncateSync(file, 4 << 20);
    const exit = await agent.exited;
    expect(exit, agent.stderr()).toBe(1); // before the fix: 'SIGBUS'
    const lines = agent
      .stderr()
      .split('\n')
      .filter((l) => /shrank/.test(l));
    expect(lines.map(parseLogLine)).toEqual([
      expect.objectContaining({
        level: 'error',
        component: 'agent',
        msg:
          `${file}: the file shrank from ${size} to ${4 << 20} bytes while dicap was reading it ` +
          '(another process truncated or rewrote it); the frames before byte 4194304 were delivered, ' +
          'read a copy that nothing writes to',
      }),
    ]);
    const counters = JSON.parse(fs.readFileSync(summary, 'utf8'));
    expect(counters).toMatchObject({ final: true, sourceErrors: 1 });
    expect(counters.frames).toBeGreaterThan(0);
    expect(counters.frames).toBeLessThan(FRAMES);
  }, 30_000);

  it('refuses a FIFO at once with one line, without waiting for a writer', async () => {
    const fifo = path.join(tmp, 'stream.pcap');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const agent = startDicap([...AGENT, '--pcap', fifo, '--status-interval', '0']);
    // Before the fix it waited in open() for good, and only SIGKILL ended it.
    const timer = setTimeout(() => agent.child.kill('SIGKILL'), 15_000);
    const exit = await agent.exited;
    clearTimeout(timer);
    expect(exit, agent.stderr()).toBe(2);
    expect(agent.stderr().trim().split('\n').map(parseLogLine)).toEqual([
      expect.objectContaining({
        level: 'error',
        msg:
          `${fifo}: is a FIFO, not a regular file; dicap reads capture files only ` +
          '(save a stream to a file first, e.g. `tcpdump -w FILE`, or capture live with --interface)',
      }),
    ]);
  }, 30_000);
});
