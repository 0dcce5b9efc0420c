// The analyzer's one-line status and its final counters, for people reading a terminal or
// a log (always stderr: stdout may carry the pcap stream).
import {
  MALFORMED_REASONS,
  type AnalyzerNodeCounters,
  type AnalyzerSinkCounters,
} from '../native/analyzer-sink.js';

/** Nodes listed one per line in the final report; the rest are summed up in one line. */
const MAX_NODE_LINES = 16;

interface NodeTotals {
  lost: number;
  late: number;
  duplicates: number;
  restarts: number;
}

function nodeTotals(nodes: readonly AnalyzerNodeCounters[]): NodeTotals {
  const totals = { lost: 0, late: 0, duplicates: 0, restarts: 0 };
  for (const n of nodes) {
    totals.lost += n.lostDatagrams;
    totals.late += n.lateDatagrams;
    totals.duplicates += n.duplicateDatagrams;
    totals.restarts += n.runs - n.streams; // every stream's first run is a start, not a restart
  }
  return totals;
}

function malformedTotal(c: AnalyzerSinkCounters): number {
  return MALFORMED_REASONS.reduce((sum, reason) => sum + c.malformed[reason], 0);
}

function malformedDetail(c: AnalyzerSinkCounters): string {
  const parts = MALFORMED_REASONS.filter((reason) => c.malformed[reason] > 0).map(
    (reason) => `${reason} ${c.malformed[reason]}`,
  );
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

function output(c: AnalyzerSinkCounters): string {
  return c.outputError ? `${c.outputState}: ${c.outputError}` : c.outputState;
}

export function formatStatusLine(c: AnalyzerSinkCounters, datagramsPerSecond: number): string {
  const t = nodeTotals(c.nodes);
  return (
    `datagrams ${c.datagrams} (${datagramsPerSecond.toFixed(0)}/s) records ${c.records} written ${c.recordsWritten} ` +
    `| nodes ${c.nodes.length} lost-datagrams ${t.lost} late ${t.late} duplicates ${t.duplicates} restarts ${t.restarts} ` +
    `| malformed ${malformedTotal(c)} socket-drops ${c.socketDrops} unwritten ${c.recordsUnwritten} | output ${output(c)}`
  );
}

function formatNodeLine(n: AnalyzerNodeCounters): string {
  return (
    `  node ${n.nodeId}: datagrams ${n.datagrams} records ${n.records} lost-datagrams ${n.lostDatagrams} ` +
    `(gaps ${n.gapDatagrams}, late ${n.lateDatagrams}) duplicates ${n.duplicateDatagrams} restarts ${n.runs - n.streams} ` +
    `streams ${n.streams} epoch ${n.lastEpoch}`
  );
}

/** A summary line, then one line per node (at most MAX_NODE_LINES, then one line for the rest). */
export function formatFinalCounters(c: AnalyzerSinkCounters): string {
  const t = nodeTotals(c.nodes);
  const duplicateRecords = c.nodes.reduce((sum, n) => sum + n.duplicateRecords, 0);
  const lines = [
    `final: datagrams ${c.datagrams} bytes ${c.bytes} records ${c.records} written ${c.recordsWritten} ` +
      `unwritten ${c.recordsUnwritten} duplicate-records ${duplicateRecords} | nodes ${c.nodes.length} lost-datagrams ${t.lost} ` +
      `| malformed ${malformedTotal(c)}${malformedDetail(c)} socket-drops ${c.socketDrops} write-errors ${c.writeErrors} ` +
      `| output ${output(c)} (${c.bytesWritten} bytes, files ${c.filesOpened}${c.reorderLateRecords > 0 ? `, late-for-order ${c.reorderLateRecords}` : ''})`,
    ...c.nodes.slice(0, MAX_NODE_LINES).map(formatNodeLine),
  ];
  const rest = c.nodes.slice(MAX_NODE_LINES);
  if (rest.length > 0) {
    const r = nodeTotals(rest);
    lines.push(
      `  ${rest.length} more nodes: lost-datagrams ${r.lost} late ${r.late} duplicates ${r.duplicates} restarts ${r.restarts}`,
    );
  }
  return lines.join('\n');
}
