// Replaying capture files into the lab's wire with tcpreplay, from the source host (or a
// coordinator's injection point). tcpreplay does the sending; this file builds its
// command line, turns its periodic statistics into progress, and reads its final report
// honestly: frames it could not send (too long for the MTU, for instance) are listed with
// tcpreplay's own reason and, where the native reader can count the files, the file and
// frame number they come from.
import fs from 'node:fs';
import readline from 'node:readline';
import { badConfig, DicapError } from '../common/errors.js';
import { formatCommand } from './netns.js';
import type { Lab } from './lab.js';

export interface ReplayOptions {
  /** Frames per second; tcpreplay's --pps. */
  pps?: number;
  /** Megabits per second; tcpreplay's --mbps. */
  mbps?: number;
  /** As fast as possible; tcpreplay's --topspeed. Without pps, mbps or topspeed the capture's own timing is kept. */
  topspeed?: boolean;
  /** Send the files this many times (default 1). */
  loop?: number;
  /** The host that sends: 'source' (default) or a coordinator (its injection point). */
  host?: string;
  /**
   * Run tcpreplay on the wire's CPU (default true). Each send then runs the mirror at once
   * in the same CPU's softirq, which paces tcpreplay to what the mirror can take instead
   * of letting it overfill the backlog queue.
   */
  pinToWireCpu?: boolean;
  /** Load the files into memory before sending (default true), so disk reads do not pace the replay. */
  preload?: boolean;
  /** Called about once a second while frames are sent. */
  onProgress?: (progress: ReplayProgress) => void;
}

export interface ReplayProgress {
  /** Frames sent so far. */
  sent: number;
  bytes: number;
  seconds: number;
}

export interface RefusedFrame {
  /** 1-based position in the replay as tcpreplay counts (all files in order, then again for each loop). */
  index: number;
  /** The file and 1-based frame number in it, when the files could be counted. */
  file?: string;
  frameInFile?: number;
  /** tcpreplay's reason, e.g. "Message too long (errno = 90)". */
  reason: string;
}

export interface ReplayResult {
  /** The interface that sent. */
  interface: string;
  files: string[];
  /** Frames tcpreplay tried to send: sent + failed. */
  attempted: number;
  /** Frames the kernel accepted ("Successful packets"). */
  sent: number;
  /** Frames the kernel refused ("Failed packets"); each is in `refused` when tcpreplay said which. */
  failed: number;
  /** Frames sent shorter than in the file ("Truncated packets"). */
  truncated: number;
  /** Sends retried after ENOBUFS or EAGAIN (they were sent in the end). */
  retried: number;
  /** Bytes of the frames sent. */
  bytes: number;
  /** Seconds from the first to the last frame. */
  seconds: number;
  /** Frames per second achieved. */
  pps: number;
  refused: RefusedFrame[];
  /** tcpreplay's other warnings, one line each (e.g. a small snap length in a file). */
  warnings: string[];
}

/** tcpreplay's arguments (after the program name) for `files` sent on `iface`. */
export function tcpreplayArguments(
  iface: string,
  files: readonly string[],
  options: ReplayOptions,
): string[] {
  const rates = [options.pps !== undefined, options.mbps !== undefined, options.topspeed === true].filter(
    Boolean,
  ).length;
  if (rates > 1) throw badConfig('give at most one of --pps, --mbps and --topspeed');
  if (options.pps !== undefined && !(options.pps > 0))
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `--pps ${options.pps} must be a positive number of frames per second`,
    );
  if (options.mbps !== undefined && !(options.mbps > 0))
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `--mbps ${options.mbps} must be a positive number of megabits per second`,
    );
  const loop = options.loop ?? 1;
  if (!Number.isInteger(loop) || loop < 1)
    throw badConfig(`--loop ${loop} must be a whole number of 1 or more`);
  if (files.length === 0)
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      'no capture file to replay; give one or more pcap or pcapng files',
    );

  const args = [`--intf1=${iface}`, '--stats=1', '--no-flow-stats'];
  if (options.preload ?? true) args.push('--preload-pcap');
  if (options.topspeed) args.push('--topspeed');
  if (options.pps !== undefined) args.push(`--pps=${options.pps}`);
  if (options.mbps !== undefined) args.push(`--mbps=${options.mbps}`);
  if (loop > 1) args.push(`--loop=${loop}`);
  return [...args, ...files];
}

const ACTUAL_LINE = /^Actual: (\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds/;

/** The progress in one of tcpreplay's "Actual: N packets (B bytes) sent in S seconds" lines, or undefined. */
export function parseProgressLine(line: string): ReplayProgress | undefined {
  const m = line.match(ACTUAL_LINE);
  return m ? { sent: Number(m[1]), bytes: Number(m[2]), seconds: Number(m[3]) } : undefined;
}

/** Reads tcpreplay's final report (stdout) and its warnings (stderr). `interface` and `files` are left for the caller. */
export function parseTcpreplayOutput(
  stdout: string,
  stderr: string,
): Omit<ReplayResult, 'interface' | 'files'> {
  const counter = (label: string): number => {
    const m = stdout.match(new RegExp(`^\\s*${label.replace(/[()]/g, '\\$&')}:\\s*(\\d+)\\s*$`, 'm'));
    if (!m)
      throw new DicapError(
        'DICAP_ERR_LAB_REPLAY',
        `tcpreplay's report has no "${label}" line; its output was: ${stdout.trim().split('\n').slice(-8).join(' | ')}`,
      );
    return Number(m[1]);
  };
  const progress = stdout
    .split('\n')
    .map(parseProgressLine)
    .filter((p): p is ReplayProgress => p !== undefined);
  const final = progress.at(-1) ?? { sent: 0, bytes: 0, seconds: 0 };
  const sent = counter('Successful packets');
  const failed = counter('Failed packets');

  const refused: RefusedFrame[] = [];
  const warnings: string[] = [];
  // Warnings come as "Warning in file.c:function() line N:" followed by the message line.
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const line of lines) {
    // The header line of each warning, and the notice that --preload-pcap (which we ask for) is on.
    if (/^(Warning|Fatal Error) in .* line \d+:$/.test(line) || line === 'File Cache is enabled') continue;
    const unsent = line.match(/^Unable to send packet: .*\[(\d+)\]: (.+)$/);
    if (unsent) refused.push({ index: Number(unsent[1]), reason: unsent[2]! });
    else warnings.push(line);
  }
  return {
    attempted: sent + failed,
    sent,
    failed,
    truncated: counter('Truncated packets'),
    retried: counter('Retried packets (ENOBUFS)') + counter('Retried packets (EAGAIN)'),
    bytes: final.bytes,
    seconds: final.seconds,
    pps: final.seconds > 0 ? sent / final.seconds : 0,
    refused,
    warnings,
  };
}

/** Fills in file and frame number of refused frames by counting the frames of each file with the native reader. */
async function locateRefused(files: readonly string[], refused: RefusedFrame[]): Promise<void> {
  if (refused.length === 0) return;
  const { readCaptureFile } = await import('../native/capture-file.js');
  const counts = files.map((f) => readCaptureFile(f).frames.length);
  const perLoop = counts.reduce((a, b) => a + b, 0);
  if (perLoop === 0) return;
  for (const frame of refused) {
    let position = (frame.index - 1) % perLoop;
    for (const [i, count] of counts.entries()) {
      if (position < count) {
        frame.file = files[i]!;
        frame.frameInFile = position + 1;
        break;
      }
      position -= count;
    }
  }
}

/** Refuses, with one line naming the file, what tcpreplay cannot send as Ethernet frames. */
async function checkFiles(files: readonly string[]): Promise<void> {
  for (const file of files) {
    if (!fs.existsSync(file))
      throw new DicapError('DICAP_ERR_LAB_REPLAY', `capture file ${file} does not exist`);
  }
  const { readCaptureFile } = await import('../native/capture-file.js');
  for (const file of files) {
    const problem = readCaptureFile(file, 0).error;
    if (problem) throw new DicapError('DICAP_ERR_LAB_REPLAY', `cannot replay ${file}: ${problem}`);
  }
}

/** Sends `files` into the wire of `lab` (see ReplayOptions) and reports what tcpreplay sent and refused. */
export async function replayOnLab(
  lab: Lab,
  files: readonly string[],
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const host = lab.host(options.host ?? 'source');
  if (!host.wire)
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `lab host ${host.name} has no interface into the wire; replay from source or a coordinator`,
    );
  const args = tcpreplayArguments(host.wire.interface, files, options);
  await checkFiles(files);

  const pin = options.pinToWireCpu ?? true;
  const [command, commandArgs] = pin
    ? ['taskset', ['-c', String(lab.topology.wire.cpu), 'tcpreplay', ...args]]
    : ['tcpreplay', args];
  // tcpreplay writes its statistics with stdio, which a pipe would hold back until exit;
  // stdbuf makes it line-buffered so progress arrives while it runs.
  const sender = lab.spawn(host.name, 'stdbuf', ['-oL', command, ...commandArgs]);
  let stdout = '';
  let stderr = '';
  sender.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines = readline.createInterface({ input: sender.child.stdout! });
  lines.on('line', (line) => {
    stdout += `${line}\n`;
    const progress = parseProgressLine(line);
    if (progress && options.onProgress) options.onProgress(progress);
  });
  const [exit] = await Promise.all([sender.exited, new Promise((resolve) => lines.once('close', resolve))]);
  if (exit.code !== 0) {
    const why = stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/^(Warning|Fatal Error) in /.test(l))
      .join('; ');
    throw new DicapError(
      'DICAP_ERR_LAB_COMMAND',
      `\`${formatCommand([command, ...commandArgs])}\` failed on ${host.name}: ${why || `exit code ${exit.code ?? exit.signal}`}`,
    );
  }
  const result: ReplayResult = {
    interface: host.wire.interface,
    files: [...files],
    ...parseTcpreplayOutput(stdout, stderr),
  };
  await locateRefused(files, result.refused);
  return result;
}
