// Test helper: capture engines for tests in which the export settings are not what is
// tested (whole 1472-byte datagrams, a 5 ms flush, random worker choice, 1024 queue slots),
// reading a capture file as fast as it goes or a live interface through small rings, and
// the topology of one flow-mode node.
import { once } from 'node:events';
import {
  CaptureEngine,
  type CaptureEngineOptions,
  type EngineCounters,
  type EngineTopology,
  type LiveSourceOptions,
  type SelectionModeName,
} from '../../native/engine.js';
import type { Endpoint } from '../../protocol/index.js';

type ExportOptions = Omit<CaptureEngineOptions, keyof LiveSourceOptions | 'file' | 'realtime'>;

const EXPORT_DEFAULTS: ExportOptions = {
  nodeId: 1,
  workers: 1,
  snaplen: 128,
  payloadSize: 1472,
  flushUs: 5000,
  exportMode: 'random',
  queueSlots: 1024,
};

/**
 * An engine reading `file` as fast as it goes (or at the pace of its time stamps, with
 * `realtime`); `options` replace the test defaults.
 */
export function fileEngine(
  file: string,
  options: Partial<ExportOptions> & { realtime?: boolean } = {},
): CaptureEngine {
  return new CaptureEngine({ ...EXPORT_DEFAULTS, realtime: false, ...options, file });
}

/** An engine capturing on `iface` through four 64 kB blocks handed over after 5 ms. */
export function liveEngine(
  iface: string,
  options: Partial<ExportOptions> & Partial<LiveSourceOptions> = {},
): CaptureEngine {
  return new CaptureEngine({
    ...EXPORT_DEFAULTS,
    interface: iface,
    blockSize: 1 << 16,
    blockCount: 4,
    retireMs: 5,
    ...options,
  });
}

/** The selection hash keys of testTopology(), for the owners a test computes in TypeScript. */
export const K0 = 0x1234;
export const K1 = 0x5678;

/** Epoch 1 of `nodeIds` in `mode`, in force from the first frame, exporting to `analyzers`. */
export function testTopology(
  mode: SelectionModeName,
  nodeIds: number[],
  analyzers: Endpoint[] = [],
): EngineTopology {
  return { term: 0, epoch: 1, mode, nodeIds, k0: K0, k1: K1, validityStartNs: 0n, analyzers, snaplen: 0 };
}

/** Node 1 alone in flow mode (it owns every frame), exporting to `analyzers`. */
export function loneNodeTopology(analyzers: Endpoint[] = []): EngineTopology {
  return testTopology('flow', [1], analyzers);
}

/** Runs a file engine to the end of its file and returns its final counters. */
export async function runToEnd(engine: CaptureEngine): Promise<EngineCounters> {
  const ended = once(engine, 'end');
  engine.start();
  await ended;
  engine.stop();
  return engine.counters();
}
