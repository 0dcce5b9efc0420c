// Test helper: the traffic `dicap gen` sends for a seed, written to a capture file by the
// same command, so a test knows byte for byte which frames a run must capture.
import { expect } from 'vitest';
import { runDicap } from '../../lab/dicap-command.js';
import { runGenerator } from '../../lab/generator.js';
import type { Lab } from '../../lab/lab.js';
import { readCaptureFile } from '../../native/capture-file.js';

export interface GeneratedTraffic {
  count: number;
  seed: number;
  /** Connections; gen's default when absent. */
  flows?: number;
}

/** Writes the traffic to `file` with `dicap gen --write` and returns its frames, checked complete. */
export async function writeGenerated(file: string, traffic: GeneratedTraffic): Promise<Buffer[]> {
  const written = await runDicap([
    'gen',
    '--write',
    file,
    '--count',
    String(traffic.count),
    '--seed',
    String(traffic.seed),
    ...(traffic.flows === undefined ? [] : ['--flows', String(traffic.flows)]),
    '--no-progress',
  ]);
  expect(written.code, written.stderr).toBe(0);
  const read = readCaptureFile(file);
  expect(read.error).toBeNull();
  const frames = read.frames.map((f) => f.data);
  expect(frames.length).toBe(traffic.count);
  return frames;
}

/** Sends the same traffic into the lab's wire at `rate` frames per second, every frame sent. */
export async function sendGenerated(lab: Lab, traffic: GeneratedTraffic, rate: number): Promise<void> {
  const report = await runGenerator(lab, { rate, ...traffic });
  expect({ frames: report.frames, failed: report.framesFailed, error: report.error }).toEqual({
    frames: traffic.count,
    failed: 0,
    error: null,
  });
}
