// What this analyzer tells the coordinators about each capture node it hears from: records
// and datagrams received and export loss (ANALYZER_REPORT, protocol/SPEC.md §6.9), for the
// dashboard. Sent to every coordinator it knows, one message per node whose counts changed.
import type { CoordinatorLink } from '../common/coordinator-link.js';
import type { AnalyzerSinkCounters } from '../native/analyzer-sink.js';
import { analyzerReport } from '../protocol/index.js';

export class AnalyzerReports {
  /** Per capture node, the counts last sent, so unchanged nodes are not resent. */
  private readonly sent = new Map<number, string>();

  constructor(
    private readonly link: CoordinatorLink,
    /** This analyzer's node ID. */
    private readonly nodeId: number,
    private readonly counters: () => AnalyzerSinkCounters,
  ) {}

  /** Reports every node whose counts changed since the last call. */
  send(): void {
    for (const n of this.counters().nodes) {
      // Export loss can fall (late datagrams), never below zero.
      const lost = Math.max(0, n.lostDatagrams);
      const key = `${n.records}/${n.datagrams}/${lost}`;
      if (this.sent.get(n.nodeId) === key) continue;
      this.sent.set(n.nodeId, key);
      this.link.sendToAll(
        analyzerReport({
          nodeId: this.nodeId,
          sourceNodeId: n.nodeId,
          records: BigInt(n.records),
          datagrams: BigInt(n.datagrams),
          lostDatagrams: BigInt(lost),
        }),
      );
    }
  }
}
