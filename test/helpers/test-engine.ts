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

/** An engine reading `file` as fast as it goes; `options` replace the test defaults. */
export function fileEngine(file: string, options: Partial<ExportOptions> = {}): CaptureEngine {
  return new CaptureEngine({ ...EXPORT_DEFAULTS, ...options, file, realtime: false });
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

/** Node 1 alone in flow mode (it owns every frame), exporting to `analyzers`. */
export function loneNodeTopology(analyzers: Endpoint[] = []): EngineTopology {
  return {
    term: 0,
    epoch: 1,
    mode: 'flow',
    nodeIds: [1],
    k0: 1,
    k1: 2,
    validityStartNs: 0n,
    analyzers,
    snaplen: 0,
  };
}

/** Runs a file engine to the end of its file and returns its final counters. */
export async function runToEnd(engine: CaptureEngine): Promise<EngineCounters> {
  const ended = once(engine, 'end');
  engine.start();
  await ended;
  engine.stop();
  return engine.counters();
}
