// The soak benchmark (`npm run bench -- soak`): the lab's whole cluster (three coordinators,
// three capture nodes, an analyzer) under steady generator traffic for a long run, while
// capture nodes are killed (SIGKILL) and restarted, restarted gracefully, and the active
// coordinator is killed every few minutes. It reports what a long run shows and a test
// cannot: the resident memory of every process over time, every frame lost outside the
// counted node-death windows (must be 0), frames captured twice, and crashes (must be 0).
//
// The run is cut into phases of traffic, each `dicap gen` with its own seed, so every frame
// sent is matched against the analyzer's output afterwards (lab/traffic-phases.ts). A node's
// death may cost exactly one run of that node's own frames (from its last export to the
// topology without it); any other missing frame is a loss outside the window.
//
// DICAP_SOAK_MINUTES (default 30), DICAP_SOAK_RATE (frames/s, default 1000) and
// DICAP_SOAK_PHASE_S (default 60) set the run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FAST_TIMING, startControlPlane, type ControlPlane } from '../lab/control-plane.js';
import { labUp, type Lab } from '../lab/lab.js';
import {
  analyzerOutput,
  capturedBytes,
  frameKey,
  matchKeys,
  phaseKeys,
  phaseProblem,
  plannedPhase,
  sendPhase,
  type PhaseKeys,
} from '../lab/traffic-phases.js';
import { ownerPosition } from '../protocol/selection.js';
import type { ReportTable } from './report.js';

const NODES = [11, 12, 13];
const RSS_SAMPLE_MS = 10_000;
/** What happens in phase i: the cycle repeats, so the active coordinator dies every 4 phases. */
const EVENTS = ['quiet', 'kill-agent', 'restart-agent', 'kill-active'] as const;
type SoakEvent = (typeof EVENTS)[number];

export interface SoakSettings {
  minutes: number;
  rate: number;
  phaseSeconds: number;
}

function positiveEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name}="${text}" is not a positive number; give e.g. ${name}=${fallback}`);
  return value;
}

export function soakSettingsFromEnv(): SoakSettings {
  return {
    minutes: positiveEnv('DICAP_SOAK_MINUTES', 30),
    rate: positiveEnv('DICAP_SOAK_RATE', 1000),
    phaseSeconds: positiveEnv('DICAP_SOAK_PHASE_S', 60),
  };
}

interface PhaseRecord {
  keys: PhaseKeys;
  event: SoakEvent;
  /** The killed capture node, and the owner node of every frame in the topology before the kill. */
  victim?: number;
  owners?: number[];
  /** Milliseconds from the event to recovery (topology without the node in force, or a new active). */
  recoveryMs?: number;
  problem?: string;
}

interface RssSample {
  atS: number;
  kib: Map<string, number>;
}

function residentKib(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Every process of the cluster, by a stable name, with its pid while it runs. */
function members(cp: ControlPlane): Array<{ name: string; pid: number | undefined }> {
  const pidOf = (m: { process?: { running: boolean; pid: number } }): number | undefined =>
    m.process?.running ? m.process.pid : undefined;
  return [
    ...cp.coordinators.map((c) => ({ name: `coordinator ${c.id}`, pid: pidOf(c) })),
    ...cp.agents.map((a) => ({ name: `agent ${a.nodeId}`, pid: pidOf(a) })),
    ...cp.analyzers.map((a) => ({ name: `analyzer ${a.nodeId}`, pid: pidOf(a) })),
  ];
}

class SoakRun {
  readonly phases: PhaseRecord[] = [];
  readonly rss: RssSample[] = [];
  readonly crashes: string[] = [];
  /** Processes this run stopped on purpose and has not restarted yet. */
  private readonly stoppedOnPurpose = new Set<string>();
  private readonly startedAt = Date.now();

  constructor(
    readonly lab: Lab,
    readonly cp: ControlPlane,
    readonly settings: SoakSettings,
    readonly directory: string,
  ) {}

  sampleRss(): void {
    const kib = new Map<string, number>();
    for (const { name, pid } of members(this.cp)) {
      const value = pid === undefined ? undefined : residentKib(pid);
      if (value !== undefined) kib.set(name, value);
    }
    this.rss.push({ atS: Math.round((Date.now() - this.startedAt) / 1000), kib });
  }

  /** A process that ended without being stopped is a crash: count it, name it, start it again. */
  async reviveCrashed(): Promise<void> {
    const cp = this.cp;
    for (const c of cp.coordinators)
      if (!c.process?.running && !this.stoppedOnPurpose.has(`coordinator ${c.id}`)) {
        this.crashes.push(`coordinator ${c.id}: ${JSON.stringify(await c.process?.exited)}`);
        await cp.startCoordinator(c.id);
      }
    for (const a of cp.agents)
      if (!a.process?.running && !this.stoppedOnPurpose.has(`agent ${a.nodeId}`)) {
        this.crashes.push(`agent ${a.nodeId}: ${JSON.stringify(await a.process?.exited)}`);
        await cp.startAgent(a.nodeId);
      }
    for (const a of cp.analyzers)
      if (!a.process?.running) {
        this.crashes.push(`analyzer ${a.nodeId}: ${JSON.stringify(await a.process?.exited)}`);
        await cp.startAnalyzer(a.nodeId);
      }
  }

  async runPhase(index: number): Promise<void> {
    const { rate, phaseSeconds } = this.settings;
    const event = EVENTS[index % EVENTS.length]!;
    const phase = await plannedPhase(this.directory, `${index}-${event}`, 5000 + index, phaseSeconds, rate);
    fs.rmSync(path.join(this.directory, `phase-${phase.name}.pcap`), { force: true });
    const record: PhaseRecord = { keys: phaseKeys(phase, this.cp.snaplen), event };
    const victim = NODES[Math.floor(index / EVENTS.length) % NODES.length]!;
    if (event === 'kill-agent') {
      const [k0, k1] = this.cp.hashKeys;
      record.victim = victim;
      record.owners = phase.frames.map(
        (f) => NODES[ownerPosition('flow', capturedBytes(f, this.cp.snaplen), NODES, k0, k1)]!,
      );
    }
    const generator = sendPhase(this.lab, phase);
    const third = (phaseSeconds * 1000) / 3;
    await sleep(third);
    const eventAt = Date.now();
    try {
      await this.carryOut(event, victim, record, eventAt, third);
    } catch (error) {
      record.problem = `${event}: ${(error as Error).message.split('\n')[0]}`;
    }
    record.problem ??= await phaseProblem(generator, phase);
    this.phases.push(record);
  }

  private async carryOut(
    event: SoakEvent,
    victim: number,
    record: PhaseRecord,
    eventAt: number,
    third: number,
  ): Promise<void> {
    const cp = this.cp;
    const others = NODES.filter((n) => n !== victim);
    switch (event) {
      case 'quiet':
        return;
      case 'kill-agent':
        this.stoppedOnPurpose.add(`agent ${victim}`);
        await cp.stopAgent(victim, 'SIGKILL');
        await cp.waitForTopology(others);
        record.recoveryMs = Date.now() - eventAt;
        await sleep(Math.max(0, eventAt + third - Date.now()));
        await cp.startAgent(victim);
        this.stoppedOnPurpose.delete(`agent ${victim}`);
        await cp.waitForTopology(NODES);
        return;
      case 'restart-agent':
        this.stoppedOnPurpose.add(`agent ${victim}`);
        await cp.stopAgent(victim, 'SIGTERM');
        await cp.startAgent(victim);
        this.stoppedOnPurpose.delete(`agent ${victim}`);
        await cp.waitForTopology(NODES);
        record.recoveryMs = Date.now() - eventAt;
        return;
      case 'kill-active': {
        const active = await cp.waitForActive();
        this.stoppedOnPurpose.add(`coordinator ${active}`);
        await cp.stopCoordinator(active, 'SIGKILL');
        await cp.waitForActive(20_000, [active]);
        record.recoveryMs = Date.now() - eventAt;
        await sleep(Math.max(0, eventAt + third - Date.now()));
        await cp.startCoordinator(active);
        this.stoppedOnPurpose.delete(`coordinator ${active}`);
        return;
      }
    }
  }
}

/** How many of a kill phase's missing frames the node's death explains: one run of its own frames. */
function explainedByDeath(missing: readonly number[], owners: readonly number[], victim: number): number {
  const ownIndex = new Map<number, number>();
  owners.forEach((owner, i) => {
    if (owner === victim) ownIndex.set(i, ownIndex.size);
  });
  const run = missing.flatMap((i) => (ownIndex.has(i) ? [ownIndex.get(i)!] : []));
  if (run.length === 0) return 0;
  // The longest stretch of consecutive own frames among the missing ones.
  let best = 1;
  let current = 1;
  for (let k = 1; k < run.length; k++) {
    current = run[k] === run[k - 1]! + 1 ? current + 1 : 1;
    best = Math.max(best, current);
  }
  return best;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};
const range = (values: number[]): string =>
  values.length === 0 ? '–' : `${median(values)} (${Math.min(...values)}–${Math.max(...values)})`;

function report(run: SoakRun, output: string[], settings: SoakSettings, seconds: number): ReportTable[] {
  const match = matchKeys(
    run.phases.map((p) => p.keys),
    output,
  );
  let sent = 0;
  let explained = 0;
  let outside = 0;
  let extra = 0;
  const phaseRows = run.phases.map((p, i) => {
    const m = match.phases[i]!;
    const deathLoss = p.victim !== undefined ? explainedByDeath(m.missing, p.owners!, p.victim) : 0;
    sent += p.keys.keys.length;
    explained += deathLoss;
    outside += m.missing.length - deathLoss;
    extra += m.extra;
    return [
      String(i),
      p.event + (p.victim !== undefined ? ` (node ${p.victim})` : ''),
      String(p.keys.keys.length),
      String(m.missing.length),
      String(deathLoss),
      String(m.missing.length - deathLoss),
      String(m.extra),
      p.recoveryMs === undefined ? '–' : String(p.recoveryMs),
      p.problem ?? '',
    ];
  });
  const names = [...new Set(run.rss.flatMap((s) => [...s.kib.keys()]))].sort();
  const marks = run.rss.filter(
    (s, i) => i === 0 || i === run.rss.length - 1 || s.atS % 300 < RSS_SAMPLE_MS / 1000,
  );
  const mib = (kib: number | undefined): string => (kib === undefined ? '–' : (kib / 1024).toFixed(1));
  const rssRows = names.map((name) => {
    const values = run.rss.flatMap((s) => (s.kib.has(name) ? [s.kib.get(name)!] : []));
    return [name, ...marks.map((s) => mib(s.kib.get(name))), mib(Math.max(...values))];
  });
  const kills = run.phases.filter((p) => p.event === 'kill-agent' && p.recoveryMs !== undefined);
  const failovers = run.phases.filter((p) => p.event === 'kill-active' && p.recoveryMs !== undefined);
  return [
    {
      title: 'Soak: the cluster over a long run with nodes and the active coordinator killed',
      note:
        `${(seconds / 60).toFixed(1)} minutes at ${settings.rate} frames/s (dicap gen, ${settings.phaseSeconds} s phases), ` +
        `flow mode, fast timing (lab/control-plane.ts FAST_TIMING), 3 coordinators, 3 capture nodes, 1 analyzer on a ${os.cpus().length}-core machine. ` +
        `Every frame sent is matched against the analyzer's output. "Lost in death windows": one run of a SIGKILLed node's own frames, ` +
        `from its last export to the topology without it (what the ledger counts as uncovered). Everything else missing is "lost outside".`,
      columns: ['what', 'value'],
      rows: [
        ['frames sent', String(sent)],
        ['frames written by the analyzer', String(output.length)],
        ['lost in node-death windows (counted)', String(explained)],
        ['**lost outside the node-death windows**', `**${outside}**`],
        ['captured twice', String(extra)],
        ['frames of no phase', String(match.unexpected)],
        [
          '**crashes**',
          `**${run.crashes.length}**${run.crashes.length ? ` (${run.crashes.join('; ')})` : ''}`,
        ],
        [
          'capture nodes killed → topology without them in force, ms (median, range)',
          range(kills.map((p) => p.recoveryMs!)),
        ],
        [
          'active coordinator killed → a standby active, ms (median, range)',
          range(failovers.map((p) => p.recoveryMs!)),
        ],
      ],
    },
    {
      title: 'Resident memory (MiB) of every process over time',
      note: `VmRSS every ${RSS_SAMPLE_MS / 1000} s, shown every 5 minutes; a restarted process starts again from its start-up size.`,
      columns: ['process', ...marks.map((s) => `${Math.round(s.atS / 60)} min`), 'max'],
      rows: rssRows,
    },
    {
      title: 'Phases',
      note: 'Recovery: kill-agent, topology without the node in force; restart-agent, the node back in force; kill-active, a standby active.',
      columns: [
        'phase',
        'event',
        'sent',
        'missing',
        'in death window',
        'lost outside',
        'twice',
        'recovery ms',
        'problem',
      ],
      rows: phaseRows,
    },
  ];
}

export async function benchSoak(settings = soakSettingsFromEnv()): Promise<ReportTable[]> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-soak-'));
  const lab = await labUp({ id: 'soak', captureHosts: 3, analyzers: 1, coordinators: 3 });
  let cp: ControlPlane | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    cp = await startControlPlane(lab, { mode: 'flow', timing: FAST_TIMING, pcapDirectory: directory });
    await cp.waitForActive();
    await cp.waitForTopology(NODES);
    const run = new SoakRun(lab, cp, settings, directory);
    run.sampleRss();
    sampler = setInterval(() => run.sampleRss(), RSS_SAMPLE_MS);
    const started = Date.now();
    const phases = Math.max(1, Math.round((settings.minutes * 60) / settings.phaseSeconds));
    for (let i = 0; i < phases; i++) {
      await run.runPhase(i);
      await run.reviveCrashed();
      console.error(
        `dicap bench soak: phase ${i + 1}/${phases} (${run.phases.at(-1)!.event}) done, ${run.crashes.length} crashes`,
      );
    }
    clearInterval(sampler);
    run.sampleRss();
    const seconds = (Date.now() - started) / 1000;
    const stopped = await cp.stop().then(
      () => undefined,
      (error: Error) => error.message,
    );
    if (stopped !== undefined) run.crashes.push(`at the end: ${stopped}`);
    const output = analyzerOutput(cp).map((frame) => frameKey(frame, cp!.snaplen));
    return report(run, output, settings, seconds);
  } finally {
    if (sampler) clearInterval(sampler);
    await cp?.stop().catch(() => {});
    await lab.down();
    fs.rmSync(directory, { recursive: true, force: true });
  }
}
