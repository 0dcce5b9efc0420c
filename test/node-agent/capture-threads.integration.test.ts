// `--capture-threads 2` on real rings: two capture nodes in a lab, each agent reading its
// passive interface through two TPACKET_V3 rings of one PACKET_FANOUT group, fed by the
// generator (many connections, so both rings get frames). Every frame is exported exactly
// once across the nodes, each by its owner, and each agent's per-thread counters add up to
// its totals.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUp, type Lab } from '../../lab/lab.js';
import { privilegeProblem } from '../../lab/netns.js';
import dgram from 'node:dgram';
import type { CaptureThreadCounters } from '../../native/engine.js';
import { liveEngine, testTopology } from '../helpers/test-engine.js';
import { sendGenerated, writeGenerated } from '../helpers/generated-traffic.js';
import { expectExactlyOnce, KEY, runCluster, SNAPLEN, type Mode } from '../lab/cluster-run.js';

const problem = privilegeProblem();
const COUNT = 20_000;
const TRAFFIC = { count: COUNT, seed: 5, flows: 400 };
const RATE = 20_000;
const THREADS = 2;

const SUMMED: Array<keyof CaptureThreadCounters> = [
  'frames',
  'bytes',
  'socketPackets',
  'socketDrops',
  'seen',
  'owned',
  'notOwned',
  'queued',
  'unassigned',
  'controlFrames',
];

describe.skipIf(problem !== undefined)(`--capture-threads ${THREADS} (needs root)`, () => {
  let dir: string;
  let generated: Buffer[];
  let lab: Lab;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-threads-'));
    generated = await writeGenerated(path.join(dir, 'expected.pcap'), TRAFFIC);
    lab = await labUp({ id: 'ct2', captureHosts: 2, analyzers: 1, coordinators: 1 });
  });

  afterAll(async () => {
    await lab?.down();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // workers 0: each capture thread batches and sends what it owns itself.
  const runs: Array<{ mode: Mode; workers: number }> = [
    { mode: 'flow', workers: THREADS },
    { mode: 'ipid', workers: THREADS },
    { mode: 'flow', workers: 0 },
  ];
  for (const { mode, workers } of runs) {
    it(`exports every generated frame exactly once across 2 nodes, per-thread counters summing to the totals (${mode}, --workers ${workers})`, async () => {
      const out = path.join(dir, `${mode}-${workers}`);
      fs.mkdirSync(out);
      const run = await runCluster(
        lab,
        {
          mode,
          key: KEY,
          snaplen: SNAPLEN,
          workers,
          pcapDirectory: out,
          agentArgs: ['--capture-threads', String(THREADS)],
        },
        () => sendGenerated(lab, TRAFFIC, RATE),
      );
      expectExactlyOnce(
        run,
        mode,
        generated,
        `2 nodes, ${THREADS} capture threads each, ${mode}, --workers ${workers}`,
      );
      for (const agent of run.final.agents) {
        expect(agent.captureThreads.length, `node ${agent.nodeId}`).toBe(THREADS);
        // One export stream per capture thread either way, and every owned frame handed to
        // export (a worker's queue, or the capture thread's own batches).
        expect(agent.workers.length, `node ${agent.nodeId} export streams`).toBe(THREADS);
        expect(agent.queued + agent.queueFullDrops, `node ${agent.nodeId} queued`).toBe(agent.owned);
        for (const field of SUMMED) {
          // The selection in the kernel (--selection auto) drops other nodes' frames before any
          // capture thread: the totals count them as seen and not owned, no thread does.
          const inKernel = field === 'seen' || field === 'notOwned' ? agent.kernelNotOwned : 0;
          expect(
            agent.captureThreads.reduce((n, t) => n + t[field], 0),
            `node ${agent.nodeId}: Σ threads ${field}`,
          ).toBe(agent[field] - inKernel);
        }
        // The kernel spread the 400 connections over both rings.
        for (const [k, t] of agent.captureThreads.entries())
          expect(t.frames, `node ${agent.nodeId} thread ${k} frames`).toBeGreaterThan(COUNT / 10);
      }
    });
  }
});

describe.skipIf(problem !== undefined)('round-robin with several capture threads (needs root)', () => {
  it('is refused with one error line, its frames counted as unassigned, none owned', async () => {
    const engine = liveEngine('lo', { workers: 2, snaplen: SNAPLEN, captureThreads: 2 });
    const errors: string[] = [];
    engine.on('error', (e) => errors.push(e.message));
    engine.offerTopology(testTopology('round-robin', [1, 2]));
    engine.start();
    const socket = dgram.createSocket('udp4');
    try {
      for (let i = 0; i < 50; ++i) socket.send(Buffer.alloc(20), 9, '127.0.0.1');
      const deadline = Date.now() + 5000;
      // The error event crosses to JS through a thread-safe function: wait for it too.
      while ((engine.counters().unassigned < 50 || errors.length === 0) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
    } finally {
      socket.close();
      engine.stop();
    }
    const c = engine.counters();
    expect(c.unassigned).toBeGreaterThanOrEqual(50);
    expect({ seen: c.seen, owned: c.owned }).toEqual({ seen: 0, owned: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^round-robin counts frames in wire order, .* restart with --capture-threads 1$/,
    );
  });
});

describe.skipIf(problem !== undefined || os.availableParallelism() < 2)(
  '--cpus (needs root and 2 CPUs)',
  () => {
    /** CPUs each named thread of this process may run on, from /proc/self/task. */
    function threadCpus(): Map<string, string> {
      const out = new Map<string, string>();
      for (const task of fs.readdirSync('/proc/self/task')) {
        const name = fs.readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim();
        const status = fs.readFileSync(`/proc/self/task/${task}/status`, 'utf8');
        if (name.startsWith('dicap-')) out.set(name, /Cpus_allowed_list:\s*(\S+)/.exec(status)![1]!);
      }
      return out;
    }

    it('pins capture thread k to the k-th CPU and export worker w to CPU number K + w of the list', () => {
      const engine = liveEngine('lo', { workers: 2, snaplen: SNAPLEN, captureThreads: 2, cpus: [1, 0] });
      engine.start();
      try {
        const cpus = threadCpus();
        expect(
          Object.fromEntries([...cpus].filter(([name]) => /^dicap-(capture|export)-\d$/.test(name))),
        ).toEqual({
          'dicap-capture-0': '1',
          'dicap-capture-1': '0',
          'dicap-export-0': '1',
          'dicap-export-1': '0',
        });
      } finally {
        engine.stop();
      }
    });
  },
);
