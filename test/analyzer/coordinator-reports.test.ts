// What an analyzer tells its coordinators for the dashboard: one ANALYZER_REPORT per capture
// node whose counts changed, to every coordinator, export loss never below zero.
import { describe, expect, it } from 'vitest';
import { AnalyzerReports } from '../../analyzer/coordinator-reports.js';
import type { CoordinatorLink } from '../../common/coordinator-link.js';
import type { AnalyzerNodeCounters, AnalyzerSinkCounters } from '../../native/analyzer-sink.js';
import { readControlMessage, type ControlBody } from '../../protocol/index.js';

const nodeCounters = (nodeId: number, records: number, lostDatagrams = 0): AnalyzerNodeCounters => ({
  nodeId,
  lastEpoch: 2,
  streams: 1,
  datagrams: Math.ceil(records / 22),
  records,
  bytes: records * 64,
  badRecords: 0,
  seqJumps: 0,
  gapDatagrams: Math.max(0, lostDatagrams),
  lateDatagrams: 0,
  lostDatagrams,
  duplicateDatagrams: 0,
  duplicateRecords: 0,
  runs: 1,
});

/** The ANALYZER_REPORT analyzer 100 sends about `sourceNodeId`, as the coordinator reads it. */
const reportOf = (sourceNodeId: number, records: bigint, datagrams: bigint, lostDatagrams: bigint) => ({
  type: 'ANALYZER_REPORT',
  nodeId: 100,
  sourceNodeId,
  records,
  datagrams,
  lostDatagrams,
});

describe('analyzer reports to the coordinators', () => {
  it('sends one report per node whose counts changed, to every coordinator', () => {
    const sent: ControlBody[] = [];
    const link = { sendToAll: (body: ControlBody) => sent.push(body) } as unknown as CoordinatorLink;
    let nodes = [nodeCounters(11, 220), nodeCounters(12, 44, 1)];
    const reports = new AnalyzerReports(link, 100, () => ({ nodes }) as AnalyzerSinkCounters);
    reports.send();
    expect(sent.map(readControlMessage)).toEqual([reportOf(11, 220n, 10n, 0n), reportOf(12, 44n, 2n, 1n)]);
    reports.send();
    expect(sent).toHaveLength(2); // nothing changed
    nodes = [nodeCounters(11, 242), nodeCounters(12, 44, -1)]; // late datagrams can make the loss negative for a moment
    reports.send();
    expect(sent.slice(2).map(readControlMessage)).toEqual([
      reportOf(11, 242n, 11n, 0n),
      reportOf(12, 44n, 2n, 0n),
    ]);
  });
});
