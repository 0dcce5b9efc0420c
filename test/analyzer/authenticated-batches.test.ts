// Authenticated header batches with real processes (issue 11, SPEC.md §6.5): offline agents
// export a capture over loopback to one `dicap analyzer`. With the cluster key and --nodes,
// the analyzer writes exactly the frames of the listed node whose batches carry a valid
// MAC; an agent with another key and an agent not in --nodes are counted and written
// nowhere. Without a key the analyzer says so in one line at start.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { runDicap, startDicap } from '../../lab/dicap-command.js';
import { readCaptureFile } from '../../native/capture-file.js';
import type { AnalyzerSinkCounters } from '../../native/analyzer-sink.js';
import { testCapture } from '../helpers/captures.js';
import { freePort } from '../helpers/free-port.js';

const tmp = tempDir('auth-batches');

function keyFile(name: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return file;
}

describe('authenticated header batches between real processes', () => {
  it('writes only the frames of listed nodes whose MAC verifies; others are counted by reason', async () => {
    const capture = testCapture('tcpdump__afs.pcap');
    const frames = readCaptureFile(capture).frames;
    const key = keyFile('cluster.key');
    const otherKey = keyFile('other.key');
    const port = await freePort('udp');
    const out = path.join(tmp, 'out.pcap');
    const summary = path.join(tmp, 'summary.json');
    const analyzer = startDicap([
      'analyzer',
      '--listen',
      `127.0.0.1:${port}`,
      '--write',
      out,
      '--nodes',
      '11,22',
      '--snaplen',
      '0',
      '--cluster-key-file',
      key,
      '--status-interval',
      '0',
      '--summary',
      summary,
    ]);
    await analyzer.waitForStderr(/listening/);
    expect(analyzer.stderr()).not.toMatch(/not authenticated/);
    // Each agent owns every frame (a one-node static topology) and sends it all.
    const agent = (nodeId: number, file: string) =>
      runDicap([
        'agent',
        '--pcap',
        capture,
        '--node-id',
        String(nodeId),
        '--nodes',
        String(nodeId),
        '--analyzer',
        `127.0.0.1:${port}`,
        '--cluster-key-file',
        file,
        '--snaplen',
        '0',
        '--status-interval',
        '0',
      ]);
    for (const [nodeId, file] of [
      [11, key],
      [22, otherKey],
      [33, key],
    ] as const) {
      const run = await agent(nodeId, file);
      expect(run.code, run.stderr).toBe(0);
    }
    await new Promise((r) => setTimeout(r, 300));
    analyzer.child.kill('SIGTERM');
    expect(await analyzer.exited).toBe(0);
    const c = JSON.parse(fs.readFileSync(summary, 'utf8')) as AnalyzerSinkCounters;
    expect(c.nodes.map((n) => n.nodeId)).toEqual([11]);
    expect(c.malformed.BAD_MAC).toBeGreaterThan(0); // node 22's batches, under another key
    expect(c.malformed.UNKNOWN_NODE).toBeGreaterThan(0); // node 33's: authentic, but not listed
    expect(c.malformed.UNAUTHENTICATED).toBe(0);
    // Every frame once, whole (the agent's workers interleave, so as multisets).
    const hex = (list: readonly { data: Buffer }[]) => list.map((f) => f.data.toString('hex')).sort();
    expect(hex(readCaptureFile(out).frames)).toEqual(hex(frames));
  });

  it('says in one line at start that batches are not authenticated without a key', async () => {
    const port = await freePort('udp');
    const analyzer = startDicap([
      'analyzer',
      '--listen',
      `127.0.0.1:${port}`,
      '--write',
      path.join(tmp, 'plain.pcap'),
      '--status-interval',
      '0',
    ]);
    await analyzer.waitForStderr(/listening/);
    analyzer.child.kill('SIGTERM');
    await analyzer.exited;
    const warnings = analyzer
      .stderr()
      .split('\n')
      .filter((l) => /not authenticated/.test(l));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/--cluster-key-file/);
  });
});
