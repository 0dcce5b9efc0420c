// Synthetic traffic into the lab's wire: `dicap gen` on the source host (or a coordinator's
// injection point), as a tracked lab process. Pinned to the wire's CPU like tcpreplay
// (lab/replay.ts), so each send runs the mirror at once and the generator is paced by it
// instead of overrunning the backlog queue.
import type { GenReport } from '../bin/gen.js';
import { DicapError } from '../common/errors.js';
import { DICAP } from './dicap-command.js';
import type { Lab, LabProcess } from './lab.js';

export interface GeneratorOptions {
  /** Frames per second, or 'max'. */
  rate: number | 'max';
  /** Stop after this many frames (default: run until stopped or for durationS). */
  count?: number;
  /** Stop after this many seconds. */
  durationS?: number;
  /** The same seed and flows give the same frames, byte for byte (default: dicap gen's). */
  seed?: number;
  flows?: number;
  /** The sending host: 'source' (default) or a coordinator. */
  host?: string;
  /** Run on the wire's CPU (default true). */
  pinToWireCpu?: boolean;
}

export interface RunningGenerator {
  process: LabProcess;
  /** Resolves with dicap gen's final report when it ends (by count, duration or stop()). */
  finished: Promise<GenReport>;
  /** Stops it (SIGINT: it reports what it sent) and resolves with the report. */
  stop(): Promise<GenReport>;
}

/** Starts `dicap gen` sending into the wire; see GeneratorOptions. */
export function startGenerator(lab: Lab, options: GeneratorOptions): RunningGenerator {
  const host = lab.host(options.host ?? 'source');
  if (!host.wire)
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `lab host ${host.name} has no interface into the wire; generate from source or a coordinator`,
    );
  const gen = [
    process.execPath,
    DICAP,
    'gen',
    '--interface',
    host.wire.interface,
    '--rate',
    String(options.rate),
    '--json',
    '--no-progress',
    ...(options.count !== undefined ? ['--count', String(options.count)] : []),
    ...(options.durationS !== undefined ? ['--duration', String(options.durationS)] : []),
    ...(options.seed !== undefined ? ['--seed', String(options.seed)] : []),
    ...(options.flows !== undefined ? ['--flows', String(options.flows)] : []),
  ];
  const argv =
    (options.pinToWireCpu ?? true) ? ['taskset', '-c', String(lab.topology.wire.cpu), ...gen] : gen;
  const child = lab.spawn(host.name, argv[0]!, argv.slice(1));
  let stdout = '';
  let stderr = '';
  child.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.child
    .stderr!.setEncoding('utf8')
    .on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4096)));
  const finished = child.exited.then((exit) => {
    const line = stdout.trim().split('\n').at(-1) ?? '';
    try {
      return JSON.parse(line) as GenReport;
    } catch {
      throw new DicapError(
        'DICAP_ERR_LAB_COMMAND',
        `dicap gen on ${host.name} ended (${exit.code ?? exit.signal}) without a report: ${stderr.trim() || stdout.trim() || 'no output'}`,
      );
    }
  });
  // A caller that only stops the generator must not see an unhandled rejection.
  finished.catch(() => {});
  return {
    process: child,
    finished,
    async stop() {
      await child.stop('SIGINT', 5000);
      return finished;
    },
  };
}

/** Runs `dicap gen` until its count or duration is reached and resolves with its report. */
export async function runGenerator(lab: Lab, options: GeneratorOptions): Promise<GenReport> {
  if (options.count === undefined && options.durationS === undefined) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      'runGenerator needs a count or a duration; startGenerator runs until stopped',
    );
  }
  return startGenerator(lab, options).finished;
}
