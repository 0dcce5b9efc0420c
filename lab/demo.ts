// `dicap lab demo` (what `npm start` runs): a whole capture cluster on this machine. It
// builds a lab, starts an agent per capture host and an analyzer, sends synthetic traffic
// with `dicap gen` through the mirror, and shows every node's counters and the coverage,
// refreshed every second, until Ctrl-C; then it stops the traffic, the agents (which
// flush), the analyzer, shows the final verdict and removes the lab. Needs nothing outside
// the repository.
import type { SelectionModeName } from '../native/engine.js';
import { DEFAULT_SNAPLEN } from '../common/cluster-options.js';
import { DEFAULT_HASH_KEY, startCluster, type Cluster, type ClusterSnapshot } from './cluster.js';
import { coverageReport, type CoverageReport } from './coverage.js';
import { formatDemoScreen, type DemoScreenState } from './demo-screen.js';
import { startGenerator, type RunningGenerator } from './generator.js';
import { adoptInbandTopology } from './inband.js';
import { labUp, type Lab, type PassiveCounters } from './lab.js';
import { passiveDelta } from './report.js';

const REFRESH_MS = 1000;
/** Connections the generator keeps open at once. */
const DEMO_FLOWS = 2000;

export interface DemoOptions {
  id: string;
  nodes: number;
  /** Frames per second of the generator. */
  rate: number;
  mode: SelectionModeName;
  /** Where the screen goes (a terminal: redrawn in place; otherwise one block per refresh). */
  output: NodeJS.WriteStream;
  /** Progress lines while building and tearing down. */
  say: (line: string) => void;
}

/** Resolves on the first SIGINT or SIGTERM; the demo then shuts down in order itself. */
function stopSignal(say: (line: string) => void): { requested: Promise<void>; dispose: () => void } {
  let resolve!: () => void;
  const requested = new Promise<void>((r) => (resolve = r));
  let count = 0;
  const onSignal = (): void => {
    if (count++ > 0) say('dicap lab demo: stopping; the lab is removed in a moment');
    resolve();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

class Screen {
  private drawn = false;
  constructor(private readonly output: NodeJS.WriteStream) {}

  draw(lines: string[]): void {
    if (this.output.isTTY) {
      // Home, each line cleared to its end, then the rest of the screen: no flicker.
      this.output.write(
        `${this.drawn ? '\x1b[H' : '\x1b[H\x1b[2J'}${lines.map((l) => `${l}\x1b[K`).join('\n')}\n\x1b[J`,
      );
    } else {
      this.output.write(`${lines.join('\n')}\n\n`);
    }
    this.drawn = true;
  }
}

interface Baseline {
  passive: PassiveCounters[];
  wireFrames: number;
}

async function sourceFrames(lab: Lab): Promise<number> {
  const source = (await lab.wireCounters()).find((w) => w.host === 'source')!;
  return source.rxPackets - source.rxDropped;
}

function screenState(
  options: DemoOptions,
  lab: Lab,
  cluster: Cluster,
  live: {
    snapshot: ClusterSnapshot;
    passive: number[];
    wireFrames: number;
    wireRate: number;
    elapsedS: number;
  },
  final?: CoverageReport,
  note?: string,
): DemoScreenState {
  return {
    labId: lab.id,
    mode: options.mode,
    rate: options.rate,
    elapsedS: live.elapsedS,
    wireFrames: live.wireFrames,
    wireRate: live.wireRate,
    passiveFrames: live.passive,
    hosts: cluster.agents.map((a) => a.host),
    nodeIds: cluster.agents.map((a) => a.nodeId),
    agents: live.snapshot.agents,
    analyzers: live.snapshot.analyzers,
    analyzerHosts: cluster.analyzers.map((a) => a.host),
    ...(final ? { final } : {}),
    ...(note ? { note } : {}),
  };
}

async function runTraffic(
  options: DemoOptions,
  lab: Lab,
  cluster: Cluster,
  stop: Promise<void>,
): Promise<number> {
  const screen = new Screen(options.output);
  // Before the in-band frame: the passive counts then hold it, as the agents' frame counts do.
  const baseline: Baseline = { passive: await lab.passiveCounters(), wireFrames: await sourceFrames(lab) };
  if (options.mode === 'round-robin') await adoptInbandTopology(lab, cluster);
  const started = Date.now();
  const generator: RunningGenerator = startGenerator(lab, { rate: options.rate, flows: DEMO_FLOWS });
  let last = { frames: 0, at: started };
  const measure = async () => {
    const [passive, wire] = await Promise.all([lab.passiveCounters(), sourceFrames(lab)]);
    const now = Date.now();
    const wireFrames = wire - baseline.wireFrames;
    const wireRate = ((wireFrames - last.frames) * 1000) / Math.max(1, now - last.at);
    last = { frames: wireFrames, at: now };
    return {
      snapshot: cluster.counters(),
      passive: passiveDelta(baseline.passive, passive).map((p) => p.rxPackets),
      wireFrames,
      wireRate,
      elapsedS: (now - started) / 1000,
    };
  };

  let stopped = false;
  void stop.then(() => (stopped = true));
  let problem: string | undefined;
  while (!stopped) {
    cluster.checkRunning();
    if (!generator.process.running) {
      problem = 'the traffic generator ended by itself';
      break;
    }
    screen.draw(formatDemoScreen(screenState(options, lab, cluster, await measure())));
    await Promise.race([stop, new Promise((resolve) => setTimeout(resolve, REFRESH_MS))]);
  }

  const sent = await generator.stop().catch(() => undefined);
  screen.draw(
    formatDemoScreen(
      screenState(
        options,
        lab,
        cluster,
        await measure(),
        undefined,
        'stopping: traffic stopped, waiting for the agents to flush …',
      ),
    ),
  );
  const settled = passiveDelta(baseline.passive, await lab.settledPassiveCounters());
  await cluster.waitForCapture(settled.map((p) => p.rxPackets));
  const live = await measure();
  const final = await cluster.stop();
  const report = coverageReport({
    hosts: cluster.agents.map((a) => a.host),
    wireFrames: settled.map((p) => p.rxPackets),
    agents: final.agents,
    analyzers: final.analyzers,
    controlFramesSent: options.mode === 'round-robin' ? 1 : 0,
    ...(sent ? { trafficSent: sent.frames } : {}),
  });
  const snapshot = { agents: final.agents, analyzers: final.analyzers };
  screen.draw(
    formatDemoScreen(
      screenState(
        options,
        lab,
        cluster,
        { ...live, snapshot },
        report,
        problem ? `stopped: ${problem}` : 'stopped; removing the lab',
      ),
    ),
  );
  return problem || !report.exactlyOnce ? 1 : 0;
}

/** Runs the demo until SIGINT/SIGTERM; resolves with the exit code (0: stopped cleanly with exactly-once coverage). */
export async function runDemo(options: DemoOptions): Promise<number> {
  // Our own handler before the lab exists: the lab leaves shutdown to us (handleSignals
  // false), so Ctrl-C stops the traffic and the cluster in order before the lab goes.
  const signal = stopSignal(options.say);
  try {
    const lab = await labUp({
      id: options.id,
      captureHosts: options.nodes,
      analyzers: 1,
      coordinators: 1,
      handleSignals: false,
      onProgress: options.say,
    });
    try {
      const cluster = await startCluster(lab, {
        mode: options.mode,
        key: DEFAULT_HASH_KEY,
        snaplen: DEFAULT_SNAPLEN,
        workers: 1,
        pcapDirectory: null,
        onProgress: options.say,
      });
      try {
        return await runTraffic(options, lab, cluster, signal.requested);
      } finally {
        await cluster.stop().catch(() => {});
      }
    } finally {
      const report = await lab.down();
      options.say(
        `lab ${lab.id} removed (${report.namespacesDeleted.length} namespaces${report.problems.length > 0 ? `; problems: ${report.problems.join('; ')}` : ''})`,
      );
    }
  } finally {
    signal.dispose();
  }
}
