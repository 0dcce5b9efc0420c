// The live half of `npm run bench -- engine`: an agent capturing a veth with 1 and 2 capture
// threads (--capture-threads, PACKET_FANOUT), fed by `dicap gen` from another network
// namespace at the same rate, owning every frame and exporting it to a UDP port in its own
// namespace. Reports the agent's CPU per frame (frames per CPU-second = per core) and how
// the kernel split the frames between the rings, with export workers and with each capture
// thread exporting itself (--workers 0). Needs root: without it the table says so.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dicapOptions, startDicap } from '../lab/dicap-command.js';
import {
  addNamespace,
  addVethPair,
  deleteNamespaceSync,
  disableOffloads,
  privilegeProblem,
  setLink,
  setSysctls,
} from '../lab/netns.js';
import type { AgentSummary } from '../node-agent/summary.js';
import { processRunSeconds } from './cpu-time.js';
import type { ReportTable } from './report.js';

const FRAMES = 1_000_000;
const RATE = 150_000;
const FLOWS = 2000;
// Capture threads, and export workers (0: each capture thread exports itself).
const CONFIGURATIONS = [
  { threads: 1, workers: 1 },
  { threads: 1, workers: 0 },
  { threads: 2, workers: 2 },
  { threads: 2, workers: 0 },
];
const COLUMNS = [
  'capture threads',
  'export workers',
  'frames sent',
  'frames captured',
  'ring drops',
  'frames per thread',
  'agent CPU s',
  'M frames/s per core',
  'CPU s per M frames',
];

/** The agent's threads' run time so far (ns from schedstat: /proc/<pid>/stat's ticks are too coarse here). */
function agentRunSeconds(pid: number): number {
  const seconds = processRunSeconds(pid);
  if (seconds === undefined) throw new Error(`the agent (pid ${pid}) has exited`);
  return seconds;
}

export async function benchCaptureThreads(): Promise<ReportTable> {
  const title =
    'Live capture, 1 and 2 capture threads, with and without export workers (veth, generator at a fixed rate)';
  const problem = privilegeProblem();
  if (problem !== undefined) {
    return { title, note: `Skipped: ${problem}.`, columns: COLUMNS, rows: [] };
  }
  const id = `dbt${process.pid % 10000}`;
  const sender = `${id}s`;
  const capture = `${id}c`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-bench-threads-'));
  const rows: string[][] = [];
  try {
    for (const ns of [sender, capture]) {
      await addNamespace(ns);
      await setSysctls(ns, { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 });
    }
    const a = { name: `${id}a`, namespace: sender };
    const b = { name: `${id}b`, namespace: capture };
    await addVethPair(a, b);
    for (const end of [a, b]) {
      await setLink(end, { mtu: 1500, up: true });
      await disableOffloads(end);
    }
    await setLink({ name: 'lo', namespace: capture }, { up: true });
    for (const { threads, workers } of CONFIGURATIONS) {
      const summary = path.join(dir, `agent-${threads}-${workers}.json`);
      const agent = startDicap(
        [
          'agent',
          ...dicapOptions({
            interface: b.name,
            'node-id': 1,
            nodes: 1,
            analyzer: '127.0.0.1:9',
            'capture-threads': threads,
            workers,
            summary,
            'status-interval': 0,
          }),
        ],
        capture,
      );
      try {
        await agent.waitForStderr(/capturing from interface/);
        const cpu0 = agentRunSeconds(agent.child.pid!);
        const generator = startDicap(
          [
            'gen',
            ...dicapOptions({
              interface: a.name,
              rate: RATE,
              count: FRAMES,
              flows: FLOWS,
              'no-progress': true,
            }),
          ],
          sender,
        );
        if ((await generator.exited) !== 0) throw new Error(`dicap gen failed: ${generator.stderr()}`);
        await new Promise((r) => setTimeout(r, 500));
        const cpuS = agentRunSeconds(agent.child.pid!) - cpu0;
        agent.child.kill('SIGINT');
        await agent.exited;
        const c = JSON.parse(fs.readFileSync(summary, 'utf8')) as AgentSummary;
        const row = [
          String(threads),
          workers === 0 ? '0 (the capture threads export)' : String(workers),
          String(FRAMES),
          String(c.frames),
          String(c.socketDrops),
          c.captureThreads.map((t) => t.frames).join(' + '),
          cpuS.toFixed(3),
          (c.frames / cpuS / 1e6).toFixed(2),
          ((cpuS / c.frames) * 1e6).toFixed(3),
        ];
        console.error(row.join(' | '));
        rows.push(row);
      } finally {
        agent.child.kill('SIGKILL');
      }
    }
  } finally {
    for (const ns of [sender, capture]) deleteNamespaceSync(ns);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return {
    title,
    note: `${FRAMES} generated frames (${FLOWS} connections, 60-1514 bytes) at ${RATE} frames/s into a veth; the agent (every frame owned, exported to a UDP port nobody reads) runs in the other namespace with as many export workers as capture threads, or none (--workers 0: each capture thread batches and sends what it owns itself). "M frames/s per core" = frames captured / agent process CPU seconds over the run (capture, export and the kernel's work on the agent's behalf); the kernel's receive path on the sending side is not in it. On this 2-core machine the generator takes one core, so two capture threads share the other: the table shows the cost per frame, not the ceiling.`,
    columns: COLUMNS,
    rows,
  };
}
