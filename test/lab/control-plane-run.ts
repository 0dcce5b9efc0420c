// Test helper for the control-plane lab tests (coordinator and election): traffic in phases,
// each phase `dicap gen` with its own seed, so that the analyzers' output can be matched
// against every phase frame by frame afterwards (the same seed written with --write gives the
// frames that were sent); and readers of what the coordinators say (ledger verdicts, metrics).
import path from 'node:path';
import { expect } from 'vitest';
import type { ControlPlane, LedgerEpoch } from '../../lab/control-plane.js';
import { runDicap } from '../../lab/dicap-command.js';
import { startGenerator, type RunningGenerator } from '../../lab/generator.js';
import type { Lab } from '../../lab/lab.js';
import { readCaptureFile } from '../../native/capture-file.js';

/** Frames per second of every phase: far below what three agents take on two cores. */
export const RATE = 10_000;
const FLOWS = 200;

export interface Phase {
  name: string;
  seed: number;
  /** The frames sent, in wire order. */
  frames: Buffer[];
}

/** The frames `dicap gen` sends with `seed` (RATE, FLOWS), written to a file in `directory` and read back. */
export async function plannedPhase(
  directory: string,
  name: string,
  seed: number,
  seconds: number,
): Promise<Phase> {
  const file = path.join(directory, `phase-${name}.pcap`);
  const count = Math.round(RATE * seconds);
  const written = await runDicap([
    'gen',
    '--write',
    file,
    '--count',
    String(count),
    '--seed',
    String(seed),
    '--flows',
    String(FLOWS),
    '--no-progress',
  ]);
  expect(written.code, written.stderr).toBe(0);
  const read = readCaptureFile(file);
  expect(read.error).toBeNull();
  expect(read.frames.length).toBe(count);
  return { name, seed, frames: read.frames.map((f) => f.data) };
}

/** Starts sending `phase` into the lab's wire from the source host. */
export function sendPhase(lab: Lab, phase: Phase): RunningGenerator {
  return startGenerator(lab, { rate: RATE, count: phase.frames.length, seed: phase.seed, flows: FLOWS });
}

/** Waits for the generator and checks it sent every frame of the phase. */
export async function phaseSent(generator: RunningGenerator, phase: Phase): Promise<void> {
  const report = await generator.finished;
  expect({
    phase: phase.name,
    frames: report.frames,
    failed: report.framesFailed,
    error: report.error,
  }).toEqual({ phase: phase.name, frames: phase.frames.length, failed: 0, error: null });
}

export interface PhaseMatch {
  name: string;
  /** Indexes (wire order) of the phase's frames that are not in the output. */
  missing: number[];
  /** Copies in the output beyond one per frame sent. */
  extra: number;
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
  const keyOf = (frame: Buffer): string => frame.subarray(0, snaplen).toString('hex');
  const copies = new Map<string, number>();
  for (const frame of output) copies.set(keyOf(frame), (copies.get(keyOf(frame)) ?? 0) + 1);
  const matches = phases.map((phase) => {
    const match: PhaseMatch = { name: phase.name, missing: [], extra: 0 };
    phase.frames.forEach((frame, index) => {
      const key = keyOf(frame);
      const left = copies.get(key);
      if (left === undefined) match.missing.push(index);
      else if (left === 1) copies.delete(key);
      else copies.set(key, left - 1);
    });
    return match;
  });
  // What is left belongs to no phase, or is a second copy of a phase's frame.
  const sent = new Map<string, number>();
  phases.forEach((phase, p) => phase.frames.forEach((frame) => sent.set(keyOf(frame), p)));
  let unexpected = 0;
  for (const [key, n] of copies) {
    const p = sent.get(key);
    if (p === undefined) unexpected += n;
    else matches[p]!.extra += n;
  }
  return { phases: matches, unexpected };
}

/** Every frame the analyzers wrote (their pcap files, read after they stopped). */
export function analyzerOutput(cp: ControlPlane): Buffer[] {
  return cp.analyzers.flatMap((a) => {
    const read = readCaptureFile(a.pcapFile!);
    expect(read.error, a.pcapFile!).toBeNull();
    return read.frames.map((f) => f.data);
  });
}

/**
 * The coordinator's ledger once every epoch that counted frames has its verdict (call it
 * after the traffic stopped: the epoch in force then closes one epoch interval later).
 * Newest first.
 */
export async function judgedLedger(
  cp: ControlPlane,
  coordinator: number,
  timeoutMs = 15_000,
): Promise<LedgerEpoch[]> {
  // The last reports of the epochs with traffic arrive within two heartbeat intervals.
  await new Promise((resolve) => setTimeout(resolve, 2 * cp.options.timing.heartbeatIntervalMs + 100));
  return cp.poll(
    `coordinator ${coordinator} judged every epoch with frames`,
    async () => {
      const ledger = await cp.ledger(coordinator);
      return ledger && ledger.every((e) => e.frames === 0 || e.status !== 'open') ? ledger : undefined;
    },
    timeoutMs,
  );
}

/** The value of an unlabelled sample of Prometheus text, e.g. dicap_coordinator_uncovered_frames_total. */
export function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
