// The lab's one process layer: a dicap process of a cluster (an agent, an analyzer or a
// coordinator) on a lab host, over all its lives. It is spawned through the lab (so the
// lab can stop it whatever happens), its stderr is kept as lines stamped with their arrival
// time (tests order what happened across processes by them), and callers wait for a line or
// for its --summary file, and stop it with a grace period. Clusters with a static topology
// (cluster.ts) and clusters steered by coordinators (control-plane.ts) are built from these.
import fs from 'node:fs';
import { badConfig, DicapError } from '../common/errors.js';
import { DICAP } from './dicap-command.js';
import type { ExitInfo, Lab, LabProcess } from './lab.js';
import { poll } from './poll.js';

/** One line a process printed on stderr, and when it arrived (Unix ms). */
export interface LogLine {
  atMs: number;
  text: string;
}

export class LabMember {
  /** The running (or last) process; undefined before the first start. */
  process: LabProcess | undefined;
  /** Everything every life of this member printed on stderr. */
  readonly log: LogLine[] = [];
  /** Where in `log` the current (or last) life starts. */
  lifeStart = 0;

  constructor(
    /** "coordinator 2", "agent 11", "analyzer 101": for messages. */
    readonly name: string,
    readonly host: string,
    /** Its --summary file, for agents and analyzers. */
    readonly summaryFile?: string,
  ) {}

  get running(): boolean {
    return this.process?.running ?? false;
  }

  /** Starts `dicap args…` on the member's host; a stale summary of an earlier life is removed first. */
  start(lab: Lab, args: readonly string[]): void {
    if (this.running)
      throw new DicapError('DICAP_ERR_LAB_BUSY', `${this.name} on ${this.host} is already running`);
    if (this.summaryFile !== undefined) fs.rmSync(this.summaryFile, { force: true });
    // The lab reads these lines (waitForLine, the follower's lines in control-plane.ts) as
    // text, whatever DICAP_*_LOG_FORMAT its environment holds.
    const child = lab.spawn(this.host, process.execPath, [DICAP, ...args, '--log-format', 'text'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let partial = '';
    child.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      const atMs = Date.now();
      for (const text of lines) this.log.push({ atMs, text });
    });
    this.process = child;
    this.lifeStart = this.log.length;
  }

  /** The last `count` non-empty lines of the current life, joined with ' | ' (for one-line errors). */
  tail(count = 3): string {
    return lastLines(
      this.log
        .slice(this.lifeStart)
        .map((l) => l.text)
        .join('\n'),
      count,
    );
  }

  /** Throws, naming the member and its last words, when its current life has ended. */
  checkRunning(what = 'ended'): void {
    if (!this.running)
      throw new DicapError('DICAP_ERR_LAB_PROCESS', `${this.name} on ${this.host} ${what}: ${this.tail()}`);
  }

  /** Resolves once the current life printed a line matching `pattern`. */
  async waitForLine(pattern: RegExp, timeoutMs: number): Promise<LogLine> {
    return poll(
      `${this.name} printed ${pattern}`,
      () => {
        this.checkRunning();
        return this.log.slice(this.lifeStart).find((l) => pattern.test(l.text));
      },
      timeoutMs,
      { intervalMs: 50, detail: () => this.tail() },
    );
  }

  /** Resolves once its summary file exists: the agent captures, the analyzer listens. */
  async waitForSummary(timeoutMs: number): Promise<void> {
    const file = this.summaryFile;
    if (file === undefined) throw badConfig(`${this.name} writes no summary`);
    await poll(
      `${this.name} wrote ${file}`,
      () => {
        this.checkRunning('did not start');
        return fs.existsSync(file) || undefined;
      },
      timeoutMs,
      { intervalMs: 50, detail: () => this.tail() },
    );
  }

  /** Its summary file now, undefined before the first write. */
  summary<T>(): T | undefined {
    return this.summaryFile === undefined ? undefined : readSummary<T>(this.summaryFile);
  }

  /** Sends `signal` (SIGKILL: it dies at once, as in a crash), SIGKILL after graceMs. */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<ExitInfo> {
    if (!this.process) throw badConfig(`${this.name} was never started`);
    return this.process.stop(signal, graceMs);
  }
}

/** The last `count` non-empty lines of `text`, joined with ' | ' (for one-line errors). */
export function lastLines(text: string, count = 3): string {
  const lines = text.trim().split('\n').filter(Boolean);
  return lines.length === 0 ? '(nothing on stderr)' : lines.slice(-count).join(' | ');
}

/** A summary file's JSON, or undefined while it does not exist. The writers replace it whole, so it is never half-written. */
export function readSummary<T>(file: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return JSON.parse(text) as T;
}

/** After the last agent has exited, its last datagrams may still be on their way to the analyzers. */
const IN_FLIGHT_MS = 300;

/**
 * Ends a cluster in the order that loses nothing: the agents (SIGINT: each flushes its
 * batches and writes its final counters), then, once their last datagrams have arrived,
 * the analyzers, then the coordinators. Only running members are stopped. Returns the final
 * summaries of the agents and analyzers that were running; once all are stopped, throws
 * DICAP_ERR_LAB_PROCESS with a line for every member that did not end cleanly or left no
 * final counters.
 */
export async function stopInOrder<A, Z>(
  labId: string,
  groups: {
    agents: readonly LabMember[];
    analyzers: readonly LabMember[];
    coordinators?: readonly LabMember[];
    agentGraceMs: number;
    graceMs: number;
  },
): Promise<{ agents: A[]; analyzers: Z[] }> {
  const problems: string[] = [];
  const failed = new Set<LabMember>();
  const stopAll = async (members: readonly LabMember[], signal: NodeJS.Signals, graceMs: number) => {
    const running = members.filter((m) => m.running);
    const exits = await Promise.all(running.map((m) => m.stop(signal, graceMs)));
    exits.forEach((exit, i) => {
      const m = running[i]!;
      if (exit.code === 0) return;
      failed.add(m);
      problems.push(`${m.name} on ${m.host} exited with ${exit.code ?? exit.signal}: ${m.tail()}`);
    });
    return running;
  };
  const finals = <T extends object>(members: readonly LabMember[]): T[] =>
    members.map((m) => {
      const summary = m.summary<T & { final?: boolean }>();
      if (!summary?.final && !failed.has(m))
        problems.push(`${m.name} on ${m.host} left no final counters in ${m.summaryFile}`);
      return summary as T;
    });
  const agents = await stopAll(groups.agents, 'SIGINT', groups.agentGraceMs);
  await new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_MS));
  const analyzers = await stopAll(groups.analyzers, 'SIGINT', groups.graceMs);
  await stopAll(groups.coordinators ?? [], 'SIGTERM', groups.graceMs);
  const result = { agents: finals<A & object>(agents), analyzers: finals<Z & object>(analyzers) };
  if (problems.length > 0)
    throw new DicapError('DICAP_ERR_LAB_PROCESS', `lab ${labId}: ${problems.join('; ')}`);
  return result;
}
