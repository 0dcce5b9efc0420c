// The agent's one-line status and its final counters, for people reading a terminal or a log.
import type { EngineCounters } from '../native/engine.js';

export function formatStatusLine(nodeId: number, c: EngineCounters, framesPerSecond: number): string {
  const drops = c.socketDrops + c.queueFullDrops + c.recordsSendFailed + c.recordsNoAnalyzer;
  const where = c.hasTopology ? `pos ${c.position} epoch ${c.epoch}` : 'no topology yet';
  return (
    `agent ${nodeId} ${where} | seen ${c.seen} owned ${c.owned} exported ${c.recordsExported} ` +
    `drops ${drops} (ring ${c.socketDrops} queue ${c.queueFullDrops} send ${c.recordsSendFailed} no-analyzer ${c.recordsNoAnalyzer}) ` +
    `| ${(framesPerSecond / 1000).toFixed(1)} kframes/s`
  );
}

export function formatFinalCounters(nodeId: number, c: EngineCounters): string {
  return (
    `agent ${nodeId} final: frames ${c.frames} source-errors ${c.sourceErrors} control ${c.controlFrames} inband-rejected ${c.inbandRejected} ` +
    `unassigned ${c.unassigned} seen ${c.seen} owned ${c.owned} not-owned ${c.notOwned} queued ${c.queued} ` +
    `queue-drops ${c.queueFullDrops} exported ${c.recordsExported} datagrams ${c.datagramsSent} ` +
    `send-errors ${c.sendErrors} send-failed-records ${c.recordsSendFailed} no-analyzer ${c.recordsNoAnalyzer} ` +
    `socket-packets ${c.socketPackets} socket-drops ${c.socketDrops}`
  );
}
