// Three real offline agents (`dicap agent --pcap`, flow mode, nodes 1,2,3) export one capture
// into one real `dicap analyzer --format pcapng --write F`, whole frames (--snaplen 0, frames
// of up to 16 kB): tshark reads F, capinfos counts one interface per node, and F holds every
// frame of the capture exactly once, byte for byte, each on the interface of the node that
// owned it. A second analyzer started on F keeps the first
// capture on disk (moved aside to F.1).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DicapProcesses } from '../helpers/dicap-processes.js';
import { tempDir } from '../helpers/temp-dir.js';
import { readCaptureFile } from '../../native/capture-file.js';
import { testCapture } from '../helpers/captures.js';
import { compareMultisets, frameMultiset } from '../helpers/frames.js';
import { freePort } from '../helpers/free-port.js';
import { readPcapng } from './helpers.js';

const CAPTURE = testCapture('zeek__smb__smb3_multichannel.pcap');
/** Whole frames, as tcpdump -s 0. */
const SNAPLEN = 0;
const WHOLE = 65535;
const NODES = [1, 2, 3];
const tmp = tempDir('three-agents');
const processes = new DicapProcesses();
const start = (args: string[]) => processes.start(args);

afterEach(() => processes.killAll());

async function analyzerRun(file: string): Promise<{ stderr: string; summary: { recordsWritten: number } }> {
  const port = await freePort('udp');
  const summary = path.join(tmp, `analyzer-${port}.json`);
  const analyzer = start([
    'analyzer',
    '--listen',
    `127.0.0.1:${port}`,
    '--write',
    file,
    '--format',
    'pcapng',
    '--snaplen',
    String(SNAPLEN),
    '--status-interval',
    '0',
    '--summary',
    summary,
  ]);
  await analyzer.waitForStderr(/listening on udp/);
  const agents = NODES.map((node) =>
    start([
      'agent',
      '--pcap',
      CAPTURE,
      '--node-id',
      String(node),
      '--nodes',
      NODES.join(','),
      '--mode',
      'flow',
      '--analyzer',
      `127.0.0.1:${port}`,
      '--snaplen',
      String(SNAPLEN),
      '--status-interval',
      '0',
    ]),
  );
  expect(await Promise.all(agents.map((a) => a.exited))).toEqual([0, 0, 0]);
  await new Promise((r) => setTimeout(r, 300)); // the last datagrams on loopback
  analyzer.child.kill('SIGTERM');
  expect(await analyzer.exited).toBe(0);
  return { stderr: analyzer.stderr(), summary: JSON.parse(fs.readFileSync(summary, 'utf8')) };
}

describe('three offline agents into one pcapng', () => {
  it('every frame exactly once, one interface per node, read by tshark and capinfos; a second start keeps the first capture', async () => {
    const file = path.join(tmp, 'cluster.pcapng');
    const input = readCaptureFile(CAPTURE).frames;
    const first = await analyzerRun(file);
    expect(first.summary.recordsWritten).toBe(input.length);

    const output = readCaptureFile(file).frames;
    expect(compareMultisets(frameMultiset(input, WHOLE), frameMultiset(output, WHOLE))).toEqual({
      missing: 0,
      extra: 0,
    });
    const { interfaces, packets } = readPcapng(fs.readFileSync(file));
    expect(interfaces.map((i) => i.name).sort()).toEqual(['node-1', 'node-2', 'node-3']);
    for (const i of interfaces) expect(i).toMatchObject({ snaplen: WHOLE, tsresol: 9 });
    expect(Math.max(...output.map((f) => f.data.length))).toBe(16162); // whole, not cut
    expect(packets.filter((p) => p.comment === 'epoch 1').length).toBe(3); // each node's first frame
    expect(execFileSync('capinfos', ['-I', file], { encoding: 'utf8' })).toMatch(
      /Number of interfaces in file: 3/,
    );
    const tshark = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.interface_name'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const perInterface = new Map<string, number>();
    for (const name of tshark.trim().split('\n')) perInterface.set(name, (perInterface.get(name) ?? 0) + 1);
    expect([...perInterface.keys()].sort()).toEqual(['node-1', 'node-2', 'node-3']);
    expect([...perInterface.values()].reduce((a, b) => a + b, 0)).toBe(input.length);

    // A restart (systemd Restart=always, an upgrade) must not erase what is on disk.
    const firstBytes = fs.readFileSync(file);
    const second = await analyzerRun(file);
    expect(second.stderr).toContain(
      `moved the existing ${file} aside to ${file}.1 (a capture is never overwritten)`,
    );
    expect(fs.readFileSync(`${file}.1`).equals(firstBytes)).toBe(true);
    expect(readCaptureFile(file).frames.length).toBe(input.length);
  }, 60_000);
});
