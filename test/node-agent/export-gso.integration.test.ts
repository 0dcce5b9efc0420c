// UDP GSO where the kernel refuses it: the agent exports 1472-byte batches over a veth with a
// 1400-byte MTU. Single datagrams that size leave as IP fragments, but a GSO segment must fit
// the MTU, so the kernel refuses the UDP_SEGMENT write (EINVAL). The agent says so once,
// counts the fallback, sends every batch on its own from then on, and the analyzer in the
// other namespace writes every frame.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticPcap } from '../../bench/synthetic-pcap.js';
import { parseLogLine } from '../../common/logger.js';
import { startDicap } from '../../lab/dicap-command.js';
import {
  addAddress,
  addNamespace,
  addVethPair,
  deleteNamespaceSync,
  privilegeProblem,
  setLink,
} from '../../lab/netns.js';
import { readCaptureFile } from '../../native/capture-file.js';

const problem = privilegeProblem();
const FRAMES = 20_000;
const id = `dgs${process.pid % 100000}`;
const agentNs = `${id}a`;
const analyzerNs = `${id}z`;
const ANALYZER = '198.18.77.2';

describe.skipIf(problem !== undefined)('UDP GSO refused by the kernel (needs root)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-gso-'));
    for (const ns of [agentNs, analyzerNs]) await addNamespace(ns);
    const a = { name: `${id}p`, namespace: agentNs };
    const z = { name: `${id}q`, namespace: analyzerNs };
    await addVethPair(a, z);
    await addAddress(a, '198.18.77.1/24');
    await addAddress(z, `${ANALYZER}/24`);
    await setLink(a, { mtu: 1400, up: true });
    await setLink(z, { mtu: 1400, up: true });
  });

  afterAll(() => {
    for (const ns of [agentNs, analyzerNs]) deleteNamespaceSync(ns);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('falls back to single datagrams once, counted and logged, and loses nothing', async () => {
    const input = path.join(dir, 'in.pcap');
    writeSyntheticPcap(input, FRAMES);
    const out = path.join(dir, 'out.pcap');
    const summary = path.join(dir, 'agent.json');
    const analyzer = startDicap(
      ['analyzer', '--listen', `${ANALYZER}:19710`, '--write', out, '--status-interval', '0'],
      analyzerNs,
    );
    try {
      await analyzer.waitForStderr(/listening/i);
      const agent = startDicap(
        [
          'agent',
          '--pcap',
          input,
          '--node-id',
          '1',
          '--nodes',
          '1',
          '--analyzer',
          `${ANALYZER}:19710`,
          '--workers',
          '1',
          '--summary',
          summary,
          '--status-interval',
          '0',
        ],
        agentNs,
      );
      expect(await agent.exited, agent.stderr()).toBe(0);
      const counters = JSON.parse(fs.readFileSync(summary, 'utf8'));
      expect({
        exported: counters.recordsExported,
        sendErrors: counters.sendErrors,
        fallbacks: counters.gsoFallbacks,
        gsoWrites: counters.gsoWrites,
      }).toEqual({ exported: FRAMES, sendErrors: 0, fallbacks: 1, gsoWrites: 0 });
      const warnings = agent
        .stderr()
        .split('\n')
        .filter((l) => l.includes('refused UDP GSO'));
      expect(warnings.map(parseLogLine)).toEqual([
        expect.objectContaining({
          level: 'warn',
          msg: expect.stringMatching(
            /^export worker 0: the kernel refused UDP GSO \(.+\); sending each header batch on its own from now on$/,
          ),
        }),
      ]);

      await new Promise((r) => setTimeout(r, 300));
      analyzer.child.kill('SIGTERM');
      expect(await analyzer.exited).toBe(0);
      const written = readCaptureFile(out);
      expect(written.error).toBeNull();
      expect(written.frames.length).toBe(FRAMES);
    } finally {
      analyzer.child.kill('SIGKILL');
    }
  });
});
