// The capture engine as the offline benches drive it: reading a capture file as fast as it
// goes, with node 1 alone in force from the first frame (an engine of node 1 owns every frame,
// one of another node none) exporting to one port on loopback, and the export settings no
// bench varies.
import { once } from 'node:events';
import { CaptureEngine, type CaptureEngineOptions, type SelectionModeName } from '../native/engine.js';

/** UDP payload bytes per header batch. */
export const PAYLOAD_SIZE = 1472;

export interface FileEngineRun {
  frames: number;
  recordsExported: number;
  wallS: number;
  /** CPU seconds of this whole process (capture thread + export workers) during the run. */
  cpuS: number;
}

/** What a bench chooses; the rest is 1472-byte datagrams, a 10 ms flush, random workers, 65536 queue slots. */
type BenchOptions = Pick<CaptureEngineOptions, 'nodeId' | 'workers' | 'snaplen' | 'batchKey' | 'gso'>;

/** Reads `file` to its end with node 1 alone in `mode`, exporting to 127.0.0.1:`port`. */
export async function runFileEngine(
  file: string,
  mode: SelectionModeName,
  port: number,
  options: BenchOptions,
): Promise<FileEngineRun> {
  const engine = new CaptureEngine({
    payloadSize: PAYLOAD_SIZE,
    flushUs: 10_000,
    exportMode: 'random',
    queueSlots: 65536,
    ...options,
    file,
    realtime: false,
  });
  engine.offerTopology({
    term: 0,
    epoch: 1,
    mode,
    nodeIds: [1],
    k0: 0x1234,
    k1: 0x5678,
    validityStartNs: 0n,
    analyzers: [{ ip: '127.0.0.1', port }],
    snaplen: 0,
  });
  const ended = once(engine, 'end');
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  engine.start();
  await ended;
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  engine.stop();
  const { frames, recordsExported } = engine.counters();
  return { frames, recordsExported, wallS, cpuS: (cpu.user + cpu.system) / 1e6 };
}
