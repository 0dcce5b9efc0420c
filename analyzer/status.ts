// The analyzer's one-line status and its final counters, for people reading a terminal or
// a log (always stderr: stdout may carry the pcap stream); the same numbers go as fields
// into a json log (common/logger.ts).
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

/** The numbers of the status line. */
export function statusFields(c: AnalyzerSinkCounters, datagramsPerSecond: number) {
  return {
    datagrams: c.datagrams,
    datagramsPerSecond: Math.round(datagramsPerSecond),
    records: c.records,
    written: c.recordsWritten,
    nodes: c.nodes.length,
    ...nodeTotals(c.nodes),
    malformed: malformedTotal(c),
    socketDrops: c.socketDrops,
    unwritten: c.recordsUnwritten,
    output: output(c),
  };
}

export function formatStatusLine(c: AnalyzerSinkCounters, datagramsPerSecond: number): string {
  const f = statusFields(c, datagramsPerSecond);
  return (
    `datagrams ${f.datagrams} (${f.datagramsPerSecond}/s) records ${f.records} written ${f.written} ` +
    `| nodes ${f.nodes} lost-datagrams ${f.lost} late ${f.late} duplicates ${f.duplicates} restarts ${f.restarts} ` +
    `| malformed ${f.malformed} socket-drops ${f.socketDrops} unwritten ${f.unwritten} | output ${f.output}`
  );
}

function formatNodeLine(n: AnalyzerNodeCounters): string {
  return (
    `  node ${n.nodeId}: datagrams ${n.datagrams} records ${n.records} lost-datagrams ${n.lostDatagrams} ` +
    `(gaps ${n.gapDatagrams}, late ${n.lateDatagrams}) duplicates ${n.duplicateDatagrams} restarts ${n.runs - n.streams} ` +
    `streams ${n.streams} epoch ${n.lastEpoch}`
  );
}

/** The totals of the final summary line (the per-node lines are in the message and the summary file). */
export function finalFields(c: AnalyzerSinkCounters) {
  return {
    datagrams: c.datagrams,
    bytes: c.bytes,
    records: c.records,
    written: c.recordsWritten,
    unwritten: c.recordsUnwritten,
    duplicateRecords: c.nodes.reduce((sum, n) => sum + n.duplicateRecords, 0),
    nodes: c.nodes.length,
    lost: nodeTotals(c.nodes).lost,
    malformed: malformedTotal(c),
    socketDrops: c.socketDrops,
    writeErrors: c.writeErrors,
    output: output(c),
    bytesWritten: c.bytesWritten,
    filesOpened: c.filesOpened,
    lateForOrder: c.reorderLateRecords,
  };
}

/** A summary line, then one line per node (at most MAX_NODE_LINES, then one line for the rest). */
export function formatFinalCounters(c: AnalyzerSinkCounters): string {
  const f = finalFields(c);
  const lines = [
    `final: datagrams ${f.datagrams} bytes ${f.bytes} records ${f.records} written ${f.written} ` +
      `unwritten ${f.unwritten} duplicate-records ${f.duplicateRecords} | nodes ${f.nodes} lost-datagrams ${f.lost} ` +
      `| malformed ${f.malformed}${malformedDetail(c)} socket-drops ${f.socketDrops} write-errors ${f.writeErrors} ` +
      `| output ${f.output} (${f.bytesWritten} bytes, files ${f.filesOpened}${f.lateForOrder > 0 ? `, late-for-order ${f.lateForOrder}` : ''})`,
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
