// Traffic in phases, for experiments that must account for every frame (the control-plane
// lab tests, the soak benchmark): each phase is `dicap gen` with its own seed, so the same
// seed written with --write gives the frames that were sent, byte for byte, and the
// analyzers' output can be matched against every phase afterwards: which frames of a phase
// are missing, which came twice, and which belong to no phase.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { DicapError } from '../common/errors.js';
import { readCaptureFile } from '../native/capture-file.js';
import type { ControlPlane } from './control-plane.js';
import { runDicap } from './dicap-command.js';
import { startGenerator, type RunningGenerator } from './generator.js';
import type { Lab } from './lab.js';

/** Frames per second of a phase by default: far below what three agents take on two cores. */
export const PHASE_RATE = 10_000;
const PHASE_FLOWS = 200;

export interface Phase {
  name: string;
  seed: number;
  rate: number;
  /** The frames sent, in wire order. */
  frames: Buffer[];
}

/** The frames `dicap gen` sends with `seed` for `seconds` at `rate`, written to a file in `directory` and read back. */
export async function plannedPhase(
  directory: string,
  name: string,
  seed: number,
  seconds: number,
  rate = PHASE_RATE,
): Promise<Phase> {
  const file = path.join(directory, `phase-${name}.pcap`);
  const count = Math.round(rate * seconds);
  const args = ['gen', '--write', file, '--count', String(count), '--seed', String(seed)];
  const written = await runDicap([...args, '--flows', String(PHASE_FLOWS), '--no-progress']);
  if (written.code !== 0)
    throw new DicapError('DICAP_ERR_LAB_PROCESS', `dicap ${args.join(' ')} failed: ${written.stderr.trim()}`);
  const read = readCaptureFile(file);
  if (read.error !== null || read.frames.length !== count)
    throw new DicapError(
      'DICAP_ERR_LAB_PROCESS',
      `phase ${name}: ${file} holds ${read.frames.length} of ${count} frames (${read.error ?? 'no error'})`,
    );
  return { name, seed, rate, frames: read.frames.map((f) => f.data) };
}

/** Starts sending `phase` into the lab's wire from the source host. */
export function sendPhase(lab: Lab, phase: Phase): RunningGenerator {
  return startGenerator(lab, {
    rate: phase.rate,
    count: phase.frames.length,
    seed: phase.seed,
    flows: PHASE_FLOWS,
  });
}

/** Waits for the generator; a problem (frames not sent, an error) as one line, or undefined. */
export async function phaseProblem(generator: RunningGenerator, phase: Phase): Promise<string | undefined> {
  const report = await generator.finished;
  if (report.frames === phase.frames.length && report.framesFailed === 0 && report.error === null)
    return undefined;
  return `phase ${phase.name}: sent ${report.frames} of ${phase.frames.length} frames, ${report.framesFailed} failed, error ${report.error}`;
}

export interface PhaseMatch {
  name: string;
  /** Indexes (wire order) of the phase's frames that are not in the output. */
  missing: number[];
  /** Copies in the output beyond one per frame sent. */
  extra: number;
}

/** What identifies a frame in the output: its first `snaplen` bytes (a digest of them). */
export function frameKey(frame: Buffer, snaplen: number): string {
  return createHash('sha1').update(frame.subarray(0, snaplen)).digest('base64');
}

/** A phase as the matching needs it: the keys of its frames in wire order (frames may be dropped). */
export interface PhaseKeys {
  name: string;
  keys: string[];
}

export function phaseKeys(phase: Phase, snaplen: number): PhaseKeys {
  return { name: phase.name, keys: phase.frames.map((frame) => frameKey(frame, snaplen)) };
}

/**
 * Matches the analyzers' output against the phases, by the first `snaplen` bytes of each
 * frame (the phases' frames differ: each has its own seed): per phase the frames missing and
 * the extra copies, and the output frames of no phase.
 */
export function matchOutput(
  phases: readonly Phase[],
  output: readonly Buffer[],
  snaplen: number,
): { phases: PhaseMatch[]; unexpected: number } {
  return matchKeys(
    phases.map((phase) => phaseKeys(phase, snaplen)),
    output.map((frame) => frameKey(frame, snaplen)),
  );
}

/** matchOutput over frame keys. */
export function matchKeys(
  phases: readonly PhaseKeys[],
  output: readonly string[],
): { phases: PhaseMatch[]; unexpected: number } {
  const copies = new Map<string, number>();
  for (const key of output) copies.set(key, (copies.get(key) ?? 0) + 1);
  const matches = phases.map((phase) => {
    const match: PhaseMatch = { name: phase.name, missing: [], extra: 0 };
    phase.keys.forEach((key, index) => {
      const left = copies.get(key);
      if (left === undefined) match.missing.push(index);
      else if (left === 1) copies.delete(key);
      else copies.set(key, left - 1);
    });
    return match;
  });
  // What is left belongs to no phase, or is a second copy of a phase's frame.
  const sent = new Map<string, number>();
  phases.forEach((phase, p) => phase.keys.forEach((key) => sent.set(key, p)));
  let unexpected = 0;
  for (const [key, n] of copies) {
    const p = sent.get(key);
    if (p === undefined) unexpected += n;
    else matches[p]!.extra += n;
  }
  return { phases: matches, unexpected };
}

/** TPIDs the kernel takes out of a received frame into metadata before any capture socket sees it. */
const OUTER_VLAN_TPIDS = new Set([0x8100, 0x88a8]);

/**
 * The bytes of `frame` that a live agent's selection sees: its capture ring keeps the
 * first snaplen bytes of each frame, counted after the kernel took out the outer VLAN tag.
 * Ownership is computed on them, so a frame whose headers run past the snaplen (an IPv6
 * extension-header chain, in the corpus) can get another owner than its whole bytes would
 * give; every node with the same snaplen computes the same one.
 */
export function capturedBytes(frame: Buffer, snaplen: number): Buffer {
  const tagged = frame.length >= 18 && OUTER_VLAN_TPIDS.has(frame.readUInt16BE(12));
  return frame.subarray(0, snaplen + (tagged ? 4 : 0));
}

/** Every frame the analyzers wrote (their pcap files, read after they stopped). */
export function analyzerOutput(cp: ControlPlane): Buffer[] {
  return cp.analyzers.flatMap((a) => {
    const read = readCaptureFile(a.pcapFile!);
    if (read.error !== null)
      throw new DicapError('DICAP_ERR_LAB_PROCESS', `analyzer output ${a.pcapFile}: ${read.error}`);
    return read.frames.map((f) => f.data);
  });
}
