// `npm run bench -- lab` (needs root): a live capture cluster on this machine against
// tcpdump. For 1, 2 and 3 capture hosts and a ladder of `dicap gen` rates up to --rate max
// (through the lab's mirror), each point is run three ways, a few times each:
//   - the generator alone (nothing captures): the machine's cost of sending and mirroring;
//   - tcpdump (libpcap) on capture1, the baseline;
//   - dicap: an agent on every capture host (flow mode, one export worker each) and one
//     analyzer writing pcap to /dev/null.
// Every run counts the frames layer by layer (sent, on the passive interfaces, captured,
// lost in the mirror, the ring, the worker queue, the send, the export to the analyzer) and
// the CPU spent while the frames went through: per capturing process, and the whole
// machine's busy time (lab-bench-report.ts turns the runs into the report's tables).
//
// Measuring window: from the moment the generator's sending thread exists until the
// capturing processes have gone quiet after it ended (their CPU stopped moving for 0.3 s);
// so the generator's Node start-up, the capturers' idle time and the wait for summary
// files stay out of it, and so does a cluster's first 12 s (Node's start-up GC, see
// NODE_START_UP_MS). The generator runs on the lab's wire CPU, every capturer on the
// other core (captureCpu). The lab is removed on exit and on Ctrl-C (labUp).
import { poll } from '../lab/poll.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { DicapError } from '../common/errors.js';
import {
  DEFAULT_ANALYZER_PORT,
  DEFAULT_HASH_KEY,
  startCluster,
  type AgentSummary,
  type AnalyzerSummary,
  type Cluster,
  type ClusterSnapshot,
} from '../lab/cluster.js';
import { runGenerator, startGenerator } from '../lab/generator.js';
import { labUp, type Lab, type PassiveCounters } from '../lab/lab.js';
import { missingCapabilities } from '../lab/netns.js';
import {
  hasThreadNamed,
  machineBusySeconds,
  netNamespaceInode,
  processRunSeconds,
  runSecondsBetween,
  sampleMachineCpu,
  threadRunTimesOutside,
  type MachineCpuSample,
  type ThreadRunTimes,
} from './cpu-time.js';
import {
  labBenchTables,
  type CaptureLoss,
  type Capturer,
  type LabBenchResult,
  type LabBenchSettings,
  type LabRun,
  type Rate,
} from './lab-bench-report.js';
import type { ReportTable } from './report.js';
import { benchSelectionStages } from './lab-selection-bench.js';
import { startExportReceiver, startTcpdump, TCPDUMP_BLOCK_TIMEOUT_MS } from './tcpdump-capture.js';

/** The lab this benchmark builds (and removes). */
const LAB_ID = 'bnch';

export const LAB_BENCH_SETTINGS: LabBenchSettings = {
  nodeCounts: [1, 2, 3],
  /** Fixed rates, frames/s; those above maxRateShare of what the generator alone reaches are left out ('max' is always run). */
  rateLadder: [100_000, 300_000, 600_000],
  maxRateShare: 0.85,
  /** Seconds of traffic per run. */
  durationS: 3,
  repeats: 3,
  snaplen: 128,
  /** tcpdump -B, KiB: the same 64 MiB as the agent's default ring (64 blocks of 1 MiB). */
  tcpdumpBufferKiB: 65_536,
  flows: 1000,
};

/** The thread of `dicap gen` that makes and sends the frames (native/src/traffic_gen.cc). */
const SENDER_THREAD = 'dicap-gen';
/** The capturers count as quiet once their CPU grew less than this per poll, for QUIET_MS. */
const QUIET_CPU_S = 0.001;
const POLL_MS = 50;
const QUIET_MS = 300;
/**
 * Other work on this shared machine comes in bursts. Before each run, wait up to
 * QUIET_GATE_MS for a QUIET_SAMPLE_MS stretch in which the machine was busy less than
 * QUIET_BACKGROUND_CPUS, so fewer runs measure somebody's compiler.
 */
const QUIET_GATE_MS = 2000;
const QUIET_SAMPLE_MS = 250;
const QUIET_BACKGROUND_CPUS = 0.2;
/** Frames sent at --rate max after a cluster starts, before it is measured (first-touch of rings and queues). */
export const WARM_UP_FRAMES = 200_000;
/**
 * V8's memory reducer runs major GCs once, about 8 s after a Node process starts (~30 ms of
 * CPU within 2 s on this machine, giving back ~5 MB). An agent runs for days, so a cluster
 * is measured only this long after it started: before, a 3 s run could book that burst to
 * its frames, up to 0.04 s per million at 260k frames/s, more than half of an agent's cost.
 */
const NODE_START_UP_MS = 12_000;

/** Waits until a cluster started at `startedAt` (Date.now()) is past its Node start-up. */
export async function pastNodeStartUp(startedAt: number): Promise<void> {
  await sleep(Math.max(0, startedAt + NODE_START_UP_MS - Date.now()));
}

interface Mark {
  /** Date.now(), to compare with summary files' mtimes. */
  wall: number;
  machine: MachineCpuSample;
  /** Threads of processes outside the lab (others' work, and this benchmark's). */
  others: ThreadRunTimes;
  processes: number[];
}

function mark(pids: readonly number[], labNamespaces: ReadonlySet<number>): Mark {
  const others = threadRunTimesOutside(labNamespaces);
  return {
    wall: Date.now(),
    machine: sampleMachineCpu(),
    others,
    processes: pids.map((pid) => processRunSeconds(pid) ?? 0),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/** Polls until process `pid` has (want true) or no longer has (want false) its sending thread. */
async function senderThread(pid: number, want: boolean, timeoutMs: number): Promise<void> {
  await poll(
    `dicap gen (pid ${pid}) ${want ? 'started' : 'stopped'} sending`,
    () => (hasThreadNamed(pid, SENDER_THREAD) === want ? true : undefined),
    timeoutMs,
    { intervalMs: 2 },
  );
}

/**
 * Polls until the processes' CPU has not moved for QUIET_MS (their work on the run's frames
 * is done), then marks the end of the window. The quiet tail is in every run's window,
 * the generator alone's included, so they stay comparable.
 */
async function quietEnd(pids: readonly number[], labNamespaces: ReadonlySet<number>): Promise<Mark> {
  let previous = sum(pids.map((pid) => processRunSeconds(pid) ?? 0));
  let quietSince = performance.now();
  for (;;) {
    await sleep(POLL_MS);
    const cpu = sum(pids.map((pid) => processRunSeconds(pid) ?? 0));
    if (cpu - previous > QUIET_CPU_S) quietSince = performance.now();
    previous = cpu;
    if (performance.now() - quietSince >= QUIET_MS) return mark(pids, labNamespaces);
  }
}

/** Waits for a quiet moment (see QUIET_GATE_MS); resolves with the last background load measured, in CPUs. */
async function quietMachine(): Promise<number> {
  const deadline = performance.now() + QUIET_GATE_MS;
  for (;;) {
    const from = sampleMachineCpu();
    await sleep(QUIET_SAMPLE_MS);
    const to = sampleMachineCpu();
    const cpus = machineBusySeconds(from, to) / (to.atS - from.atS);
    if (cpus < QUIET_BACKGROUND_CPUS || performance.now() > deadline) return cpus;
  }
}

/** The cluster's counters from summary files all written after `sinceWall` (they are rewritten every second). */
export async function countersWrittenAfter(cluster: Cluster, sinceWall: number): Promise<ClusterSnapshot> {
  const files = [...cluster.agents, ...cluster.analyzers].map((p) => p.summaryFile);
  const rewritten = (): boolean =>
    files.every((f) => (fs.statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0) > sinceWall);
  await cluster.waitUntil('every summary file is rewritten after the run', rewritten, 10_000);
  // Read after the check: waitUntil's own snapshot may predate the rewrite.
  return cluster.counters();
}

function passiveDelta(
  before: readonly PassiveCounters[],
  after: readonly PassiveCounters[],
): { wire: number[]; mirrorTxDropped: number } {
  return {
    wire: after.map((p, i) => p.rxPackets - before[i]!.rxPackets),
    mirrorTxDropped: sum(after.map((p, i) => p.mirrorTxDropped - before[i]!.mirrorTxDropped)),
  };
}

function dicapLoss(before: ClusterSnapshot, after: ClusterSnapshot): CaptureLoss {
  const agents = after.agents.map((a, i) => [before.agents[i]!, a!] as [AgentSummary, AgentSummary]);
  const analyzers = after.analyzers.map(
    (a, i) => [before.analyzers[i]!, a!] as [AnalyzerSummary, AnalyzerSummary],
  );
  const agentDelta = (
    field:
      | 'frames'
      | 'socketDrops'
      | 'queueFullDrops'
      | 'recordsSendFailed'
      | 'recordsNoAnalyzer'
      | 'recordsExported',
  ): number => sum(agents.map(([b, a]) => a[field] - b[field]));
  const received = (s: AnalyzerSummary): number => s.records - sum(s.nodes.map((n) => n.duplicateRecords));
  const lostDatagrams = (s: AnalyzerSummary): number =>
    sum(s.nodes.map((n) => n.lostDatagrams)) + s.socketDrops;
  const captured = sum(analyzers.map(([b, a]) => received(a) - received(b)));
  const exported = agentDelta('recordsExported');
  return {
    captured,
    ring: agentDelta('socketDrops'),
    queue: agentDelta('queueFullDrops'),
    send: agentDelta('recordsSendFailed') + agentDelta('recordsNoAnalyzer'),
    exportRecords: exported - captured,
    exportDatagrams: sum(analyzers.map(([b, a]) => lostDatagrams(a) - lostDatagrams(b))),
  };
}

export interface RunContext {
  lab: Lab;
  /** Inodes of the lab's network namespaces: processes in them are the experiment. */
  labNamespaces: ReadonlySet<number>;
  nodes: number;
  rate: Rate;
  repeat: number;
  say: (line: string) => void;
}

/** One run: the generator at `rate` for durationS, with `capturer` capturing (the cluster for dicap). */
export async function runOnce(
  ctx: RunContext,
  capturer: Capturer,
  cluster?: { cluster: Cluster; before: ClusterSnapshot },
): Promise<{ run: LabRun; after?: ClusterSnapshot }> {
  const { lab, rate } = ctx;
  const settings = LAB_BENCH_SETTINGS;
  const passive0 = await lab.passiveCounters();
  // tcpdump-share-export sends its pcap stream to the analyzer host, as dicap's agents do.
  const analyzerHost = lab.topology.hosts.find((h) => h.role === 'analyzer');
  const exportTo =
    capturer === 'tcpdump-share-export' && analyzerHost?.management
      ? { ip: analyzerHost.management.address, port: DEFAULT_ANALYZER_PORT }
      : undefined;
  const receiver = exportTo ? startExportReceiver(lab, analyzerHost!.name, exportTo.port) : undefined;
  const tcpdumpOn = (host: string, filter?: string) =>
    startTcpdump(lab, host, {
      snaplen: settings.snaplen,
      bufferKiB: settings.tcpdumpBufferKiB,
      cpu: captureCpu(lab),
      ...(filter ? { filter } : {}),
      ...(exportTo ? { exportTo } : {}),
    });
  const hosts = lab.topology.hosts.filter((h) => h.role === 'capture').map((h) => h.name);
  // The share filter: each host keeps the frames whose IPv4 ID is its residue (non-IPv4 frames go nowhere).
  const tcpdumps =
    capturer === 'tcpdump'
      ? [await tcpdumpOn('capture1')]
      : capturer === 'tcpdump-share' || capturer === 'tcpdump-share-export'
        ? await Promise.all(hosts.map((h, p) => tcpdumpOn(h, `ip[4:2] % ${hosts.length} = ${p}`)))
        : [];
  const tcpdump = tcpdumps[0];
  // Names end with the capture host (or node): the report adds up a host's processes.
  const capturers: Array<{ name: string; pid: number }> =
    tcpdumps.length > 0
      ? [
          ...tcpdumps.flatMap((t, i) => [
            { name: capturer === 'tcpdump' ? 'tcpdump' : `tcpdump ${hosts[i]}`, pid: t.process.pid },
            ...(t.exporter ? [{ name: `socat ${hosts[i]}`, pid: t.exporter.pid }] : []),
          ]),
          ...(receiver ? [{ name: 'analyzer', pid: receiver.pid }] : []),
        ]
      : capturer.startsWith('dicap')
        ? [
            ...cluster!.cluster.agents.map((a) => ({ name: `agent ${a.nodeId}`, pid: a.process!.pid })),
            ...cluster!.cluster.analyzers.map((a) => ({ name: 'analyzer', pid: a.process!.pid })),
          ]
        : [];
  const pids = capturers.map((c) => c.pid);
  try {
    const backgroundCpus = await quietMachine();
    const generator = startGenerator(lab, {
      rate,
      flows: settings.flows,
      ...(rate === 'max' ? { durationS: settings.durationS } : { count: rate * settings.durationS }),
    });
    await senderThread(generator.process.pid, true, 10_000);
    const start = mark(pids, ctx.labNamespaces);
    await senderThread(generator.process.pid, false, (settings.durationS + 30) * 1000);
    const sentAt = performance.now();
    const end = await quietEnd(pids, ctx.labNamespaces);
    const report = await generator.finished;
    if (report.error !== null || report.framesFailed > 0)
      throw new DicapError(
        'DICAP_ERR_LAB_COMMAND',
        `dicap gen failed: ${report.error ?? `${report.framesFailed} frames failed`}`,
      );
    const { wire, mirrorTxDropped } = passiveDelta(passive0, await lab.settledPassiveCounters());

    let capture: CaptureLoss | undefined;
    let after: ClusterSnapshot | undefined;
    let datagramsSent: number | undefined;
    if (tcpdump) {
      await sleep(Math.max(0, TCPDUMP_BLOCK_TIMEOUT_MS + QUIET_MS - (performance.now() - sentAt)));
      const reports = [];
      for (const t of tcpdumps) reports.push(await t.stop());
      capture = {
        captured: sum(reports.map((t) => t.captured)),
        ring: sum(reports.map((t) => t.droppedByKernel)),
        queue: null,
        send: null,
        exportRecords: null,
        exportDatagrams: null,
      };
    } else if (cluster) {
      after = await countersWrittenAfter(cluster.cluster, end.wall);
      capture = dicapLoss(cluster.before, after);
      datagramsSent = sum(
        after.agents.map((a, i) => a!.datagramsSent - cluster.before.agents[i]!.datagramsSent),
      );
    }
    const run: LabRun = {
      nodes: ctx.nodes,
      rate,
      capturer,
      repeat: ctx.repeat,
      sent: report.frames,
      achievedFps: report.framesPerSecond,
      senderCpuPerM: report.cpuSecondsPerMillionFrames,
      wire,
      mirrorTxDropped,
      machineBusyS: machineBusySeconds(start.machine, end.machine),
      othersCpuS: runSecondsBetween(start.others, end.others),
      processCpuS: capturers.map((c, i) => ({
        name: c.name,
        seconds: end.processes[i]! - start.processes[i]!,
      })),
      backgroundCpus,
      ...(capture ? { capture } : {}),
      ...(datagramsSent !== undefined ? { datagramsSent } : {}),
    };
    ctx.say(describeRun(run));
    return { run, ...(after ? { after } : {}) };
  } finally {
    for (const t of tcpdumps) {
      if (t.process.running) await t.process.stop('SIGKILL');
      if (t.exporter?.running) await t.exporter.stop('SIGKILL');
    }
    await receiver?.stop('SIGKILL');
  }
}

function describeRun(r: LabRun): string {
  const perM = (s: number): string => ((s / r.wire[0]!) * 1e6).toFixed(3);
  const parts = [
    `${r.nodes} node${r.nodes === 1 ? '' : 's'}, rate ${r.rate}, ${r.capturer === 'none' ? 'generator only' : r.capturer} #${r.repeat}:`,
    `sent ${r.sent} at ${Math.round(r.achievedFps)}/s, wire ${r.wire.join('/')}`,
  ];
  if (r.capture)
    parts.push(
      `captured ${r.capture.captured}, ring drops ${r.capture.ring}${r.capture.queue !== null ? `, queue ${r.capture.queue}, send ${r.capture.send}, export ${r.capture.exportRecords}` : ''}`,
    );
  parts.push(
    `CPU s/M: ${r.processCpuS.map((p) => `${p.name} ${perM(p.seconds)}`).join(', ')}${r.processCpuS.length ? ', ' : ''}machine ${perM(r.machineBusyS - r.othersCpuS)} (others' processes ${perM(r.othersCpuS)} subtracted; background before: ${r.backgroundCpus.toFixed(2)} CPUs)`,
  );
  return parts.join('; ');
}

/**
 * The CPU the capturing processes are pinned to: one that is not the wire's. On a real
 * link the sender does not slow down when a capture box is busy; here the generator and
 * the mirror run on the wire CPU, and a capturer scheduled there would slow the traffic
 * instead of losing frames, hiding its loss. So every capturer gets the other core, as a
 * capture box has its own.
 */
export function captureCpu(lab: Lab): number {
  return (lab.topology.wire.cpu + 1) % os.availableParallelism();
}

/** Pins every thread of the cluster's processes to `cpu` (threads they start later inherit it). */
export function pinCluster(cluster: Cluster, cpu: number): void {
  for (const p of [...cluster.agents, ...cluster.analyzers]) {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(p.process!.pid)], { stdio: 'ignore' });
  }
}

/** The fastest `dicap gen` sends through this lab's mirror with nothing capturing (frames/s). */
async function generatorMaximum(lab: Lab): Promise<number> {
  const report = await runGenerator(lab, { rate: 'max', durationS: 2, flows: LAB_BENCH_SETTINGS.flows });
  return report.framesPerSecond;
}

async function benchNodeCount(
  nodes: number,
  say: (line: string) => void,
): Promise<{ runs: LabRun[]; calibratedMax: number; rates: Rate[] }> {
  const settings = LAB_BENCH_SETTINGS;
  const lab = await labUp({ id: LAB_ID, captureHosts: nodes, analyzers: 1, coordinators: 0 });
  try {
    const calibratedMax = await generatorMaximum(lab);
    const rates: Rate[] = [
      ...settings.rateLadder.filter((r) => r <= settings.maxRateShare * calibratedMax),
      'max',
    ];
    say(
      `lab bench: ${nodes} capture host${nodes === 1 ? '' : 's'}: the generator alone reaches ${Math.round(calibratedMax)} frames/s; rates ${rates.join(', ')}`,
    );
    const labNamespaces = new Set(lab.topology.namespaces.map(netNamespaceInode));
    const runs: LabRun[] = [];
    for (let repeat = 1; repeat <= settings.repeats; ++repeat) {
      for (const rate of rates) {
        const ctx = { lab, labNamespaces, nodes, rate, repeat, say };
        runs.push((await runOnce(ctx, 'none')).run);
        runs.push((await runOnce(ctx, 'tcpdump')).run);
      }
      const startedAt = Date.now();
      const cluster = await startCluster(lab, {
        mode: 'flow',
        key: DEFAULT_HASH_KEY,
        snaplen: settings.snaplen,
        workers: 1,
        pcapDirectory: null,
      });
      try {
        pinCluster(cluster, captureCpu(lab));
        await runGenerator(lab, { rate: 'max', count: WARM_UP_FRAMES, flows: settings.flows });
        await pastNodeStartUp(startedAt);
        let before = await countersWrittenAfter(cluster, Date.now() + 200);
        for (const rate of rates) {
          const { run, after } = await runOnce({ lab, labNamespaces, nodes, rate, repeat, say }, 'dicap', {
            cluster,
            before,
          });
          runs.push(run);
          before = after!;
        }
      } finally {
        await cluster.stop();
      }
    }
    return { runs, calibratedMax, rates };
  } finally {
    await lab.down();
  }
}

function toolVersion(): string {
  try {
    const text = execFileSync('tcpdump', ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return text.split('\n').slice(0, 2).join(', ');
  } catch {
    return 'tcpdump (version unknown)';
  }
}

/** Runs the whole benchmark (needs root) and returns the report's tables. */
export async function benchLab(
  say: (line: string) => void = (line) => console.error(line),
): Promise<ReportTable[]> {
  const missing = missingCapabilities();
  if (missing.length > 0) {
    throw new DicapError(
      'DICAP_ERR_LAB_PRIVILEGES',
      `the lab benchmark needs root (it lacks ${missing.join(', ')} to build network namespaces and capture): run it as root, e.g. sudo npm run bench -- lab`,
    );
  }
  const t0 = performance.now();
  const result: LabBenchResult = {
    settings: LAB_BENCH_SETTINGS,
    tcpdumpVersion: toolVersion(),
    perNodeCount: [],
  };
  for (const nodes of LAB_BENCH_SETTINGS.nodeCounts) {
    result.perNodeCount.push({ nodes, ...(await benchNodeCount(nodes, say)) });
    say(
      `lab bench: ${nodes} capture host${nodes === 1 ? '' : 's'} done after ${((performance.now() - t0) / 60_000).toFixed(1)} min`,
    );
  }
  result.selection = await benchSelectionStages(say);
  result.totalMinutes = (performance.now() - t0) / 60_000;
  return labBenchTables(
    result,
    `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Linux ${os.release()}`,
  );
}
