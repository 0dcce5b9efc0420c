// Test helper for the control-plane lab tests (coordinator and election): traffic phases
// (lab/traffic-phases.ts) checked with expect, and readers of what the coordinators say
// (ledger verdicts, metrics).
import { expect } from 'vitest';
import type { ControlPlane, LedgerEpoch } from '../../lab/control-plane.js';
import type { RunningGenerator } from '../../lab/generator.js';
import { PHASE_RATE, phaseProblem, type Phase } from '../../lab/traffic-phases.js';

export {
  analyzerOutput,
  matchOutput,
  plannedPhase,
  sendPhase,
  type Phase,
  type PhaseMatch,
} from '../../lab/traffic-phases.js';

/** Frames per second of every phase. */
export const RATE = PHASE_RATE;

/** Waits for the generator and checks it sent every frame of the phase. */
export async function phaseSent(generator: RunningGenerator, phase: Phase): Promise<void> {
  expect(await phaseProblem(generator, phase)).toBeUndefined();
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
