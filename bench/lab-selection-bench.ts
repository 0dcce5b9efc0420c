// The selection stages of `dicap agent --selection` against tcpdump, measured in one run on
// one lab (3 capture hosts, one rate): tcpdump on the whole link, tcpdump with the share
// filter `ip[4:2] % N = P` on every host (what an admin would do instead of dicap), and the
// cluster in ipid mode with --selection user, socket and xdp, and in flow mode with the
// socket filter (an even split, where ipid mode's is skewed). Part of `npm run bench -- lab`
// (lab-bench.ts runs it after its ladder); each run is lab-bench.ts's runOnce.
import { DEFAULT_HASH_KEY, startCluster } from '../lab/cluster.js';
import { runGenerator } from '../lab/generator.js';
import { labUp } from '../lab/lab.js';
import { netNamespaceInode } from './cpu-time.js';
import type { LabRun } from './lab-bench-report.js';
import {
  captureCpu,
  countersWrittenAfter,
  LAB_BENCH_SETTINGS,
  pastNodeStartUp,
  pinCluster,
  runOnce,
  WARM_UP_FRAMES,
} from './lab-bench.js';

const NODES = 3;
/** The rate of every run, unless the generator alone cannot reach 85 % more. */
const RATE = 300_000;
const REPEATS = 3;
/** The clusters of each repeat: a selection stage in a mode, and the report's name for it. */
const CLUSTERS = [
  { stage: 'user', mode: 'ipid', capturer: 'dicap-user' },
  { stage: 'socket', mode: 'ipid', capturer: 'dicap-socket' },
  { stage: 'xdp', mode: 'ipid', capturer: 'dicap-xdp' },
  { stage: 'socket', mode: 'flow', capturer: 'dicap-socket-flow' },
] as const;
/**
 * The agents' export workers: none, each capture thread exports what it owns itself, the
 * cheapest setting where, as here, a box has fewer cores than capturing processes
 * (`npm run bench -- engine` measures it against one export worker).
 */
const WORKERS = 0;

export async function benchSelectionStages(
  say: (line: string) => void,
): Promise<{ nodes: number; rate: number; workers: number; runs: LabRun[] }> {
  const settings = LAB_BENCH_SETTINGS;
  const lab = await labUp({ id: 'bnsl', captureHosts: NODES, analyzers: 1, coordinators: 0 });
  try {
    const max = (await runGenerator(lab, { rate: 'max', durationS: 2, flows: settings.flows }))
      .framesPerSecond;
    const rate = Math.min(RATE, Math.floor((settings.maxRateShare * max) / 10_000) * 10_000);
    say(
      `lab bench: selection stages at ${rate} frames/s on ${NODES} capture hosts (the generator alone: ${Math.round(max)})`,
    );
    const labNamespaces = new Set(lab.topology.namespaces.map(netNamespaceInode));
    const runs: LabRun[] = [];
    for (let repeat = 1; repeat <= REPEATS; ++repeat) {
      const ctx = { lab, labNamespaces, nodes: NODES, rate, repeat, say };
      for (const capturer of ['none', 'tcpdump', 'tcpdump-share', 'tcpdump-share-export'] as const)
        runs.push((await runOnce(ctx, capturer)).run);
      for (const { stage, mode, capturer } of CLUSTERS) {
        const startedAt = Date.now();
        const cluster = await startCluster(lab, {
          mode,
          key: DEFAULT_HASH_KEY,
          snaplen: settings.snaplen,
          workers: WORKERS,
          pcapDirectory: null,
          agentArgs: ['--selection', stage],
        });
        try {
          pinCluster(cluster, captureCpu(lab));
          await runGenerator(lab, { rate: 'max', count: WARM_UP_FRAMES, flows: settings.flows });
          await pastNodeStartUp(startedAt);
          const before = await countersWrittenAfter(cluster, Date.now() + 200);
          runs.push((await runOnce(ctx, capturer, { cluster, before })).run);
        } finally {
          await cluster.stop();
        }
      }
    }
    return { nodes: NODES, rate, workers: WORKERS, runs };
  } finally {
    await lab.down();
  }
}
