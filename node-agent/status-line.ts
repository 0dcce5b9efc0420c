// The agent's one-line status and its final counters, for people reading a terminal or a log;
// the same numbers go as fields into a json log (common/logger.ts).
import type { EngineCounters } from '../native/engine.js';

/** The numbers of the status line. */
export function statusFields(c: EngineCounters, framesPerSecond: number) {
  return {
    topology: c.hasTopology ? { position: c.position, epoch: c.epoch } : null,
    seen: c.seen,
    owned: c.owned,
    exported: c.recordsExported,
    drops: {
      ring: c.socketDrops,
      queue: c.queueFullDrops,
      send: c.recordsSendFailed,
      noAnalyzer: c.recordsNoAnalyzer,
    },
    framesPerSecond: Math.round(framesPerSecond),
  };
}

export function formatStatusLine(nodeId: number, c: EngineCounters, framesPerSecond: number): string {
  const f = statusFields(c, framesPerSecond);
  const drops = f.drops.ring + f.drops.queue + f.drops.send + f.drops.noAnalyzer;
  const where = f.topology ? `pos ${f.topology.position} epoch ${f.topology.epoch}` : 'no topology yet';
  return (
    `agent ${nodeId} ${where} | seen ${f.seen} owned ${f.owned} exported ${f.exported} ` +
    `drops ${drops} (ring ${f.drops.ring} queue ${f.drops.queue} send ${f.drops.send} no-analyzer ${f.drops.noAnalyzer}) ` +
    `| ${(framesPerSecond / 1000).toFixed(1)} kframes/s`
  );
}

/** The final line's words and the counters they stand for, in the line's order. */
const FINAL_COUNTERS = [
  ['frames', 'frames'],
  ['source-errors', 'sourceErrors'],
  ['control', 'controlFrames'],
  ['inband-rejected', 'inbandRejected'],
  ['unassigned', 'unassigned'],
  ['seen', 'seen'],
  ['owned', 'owned'],
  ['not-owned', 'notOwned'],
  ['queued', 'queued'],
  ['queue-drops', 'queueFullDrops'],
  ['exported', 'recordsExported'],
  ['datagrams', 'datagramsSent'],
  ['send-errors', 'sendErrors'],
  ['send-failed-records', 'recordsSendFailed'],
  ['no-analyzer', 'recordsNoAnalyzer'],
  ['socket-packets', 'socketPackets'],
  ['socket-drops', 'socketDrops'],
] as const satisfies readonly (readonly [string, keyof EngineCounters])[];

/** The counters of the final line, keyed as in the engine's counters (and the summary file). */
export function finalFields(c: EngineCounters): Record<(typeof FINAL_COUNTERS)[number][1], number> {
  return Object.fromEntries(FINAL_COUNTERS.map(([, key]) => [key, c[key]])) as ReturnType<typeof finalFields>;
}

export function formatFinalCounters(nodeId: number, c: EngineCounters): string {
  return `agent ${nodeId} final: ${FINAL_COUNTERS.map(([word, key]) => `${word} ${c[key]}`).join(' ')}`;
}
