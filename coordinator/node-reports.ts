// What members report for people rather than for steering (protocol/SPEC.md §6.9): capture
// nodes' engine counters (in heartbeats) and IPv4 ID histograms, analyzers' per-node records
// and export loss. The coordinator hands every authenticated message to observe(); the
// dashboard reads the rates, totals and histograms. Pure: the caller passes the clock.
import type { AnalyzerReportFields, ControlView, EngineTotals } from '../protocol/index.js';
import { CounterRates } from './counter-rates.js';
import { ClusterIpidHistogram } from './ipid-histogram.js';

/** A capture node's engine counters as plain numbers (exact up to 2^53). */
export type EngineCounts = Record<keyof EngineTotals, number>;
export type AnalyzerCounts = { records: number; datagrams: number; lostDatagrams: number };

export type DepartureKind = 'timeout' | 'left';

/** Departed nodes (and silent analyzers' reports) stay on the dashboard this long, marked as gone. */
export const DEPARTED_KEEP_MS = 10 * 60_000;
/** At most this many departed nodes are kept for the dashboard. */
export const MAX_DEPARTED_KEPT = 256;

export interface CaptureNodeReports {
  readonly nodeId: number;
  readonly counters: CounterRates<keyof EngineTotals>;
  departure?: { kind: DepartureKind; atMs: number };
}

export interface AnalyzerSourceReports {
  readonly analyzerId: number;
  readonly sourceNodeId: number;
  readonly counters: CounterRates<keyof AnalyzerCounts>;
}

function engineCounts(totals: EngineTotals): EngineCounts {
  return Object.fromEntries(
    Object.entries(totals).map(([name, value]) => [name, Number(value)]),
  ) as EngineCounts;
}

export class NodeReports {
  readonly capture = new Map<number, CaptureNodeReports>();
  /** By analyzer ID, then by the capture node the counts are about. */
  readonly analyzers = new Map<number, Map<number, AnalyzerSourceReports>>();
  readonly ipid = new ClusterIpidHistogram();

  /**
   * Takes what a message reports. Returns true for the report-only types (IPID_HISTOGRAM,
   * ANALYZER_REPORT), which need nothing else; HEARTBEATs go on to the membership.
   */
  observe(view: ControlView, nowMs: number): boolean {
    switch (view.type) {
      case 'HEARTBEAT':
        if (view.counters && (view.role ?? 'capture') === 'capture')
          this.captureNode(view.nodeId).counters.observe(engineCounts(view.counters), nowMs);
        return false;
      case 'IPID_HISTOGRAM':
        this.captureNode(view.nodeId);
        this.ipid.record(view, nowMs);
        return true;
      case 'ANALYZER_REPORT':
        this.analyzerSource(view).counters.observe(
          {
            records: Number(view.records),
            datagrams: Number(view.datagrams),
            lostDatagrams: Number(view.lostDatagrams),
          },
          nowMs,
        );
        return true;
      default:
        return false;
    }
  }

  /**
   * A member was removed (timed out) or left: its reports stay, marked, for DEPARTED_KEEP_MS;
   * beyond MAX_DEPARTED_KEPT departed nodes the one gone longest is forgotten at once (churn
   * must not grow this table).
   */
  departed(nodeId: number, kind: DepartureKind, atMs: number): void {
    const node = this.capture.get(nodeId);
    if (!node) return;
    node.departure = { kind, atMs };
    const departed = [...this.capture.values()].filter((n) => n.departure);
    if (departed.length <= MAX_DEPARTED_KEPT) return;
    const oldest = departed.reduce((a, b) => (a.departure!.atMs <= b.departure!.atMs ? a : b));
    this.forget(oldest.nodeId);
  }

  private forget(nodeId: number): void {
    this.capture.delete(nodeId);
    for (const bySource of this.analyzers.values()) bySource.delete(nodeId);
  }

  /** Analyzer reports about `sourceNodeId`, from every analyzer. */
  aboutNode(sourceNodeId: number): AnalyzerSourceReports[] {
    return [...this.analyzers.values()].flatMap((bySource) => {
      const r = bySource.get(sourceNodeId);
      return r ? [r] : [];
    });
  }

  private captureNode(nodeId: number): CaptureNodeReports {
    let node = this.capture.get(nodeId);
    if (!node) {
      node = { nodeId, counters: new CounterRates() };
      this.capture.set(nodeId, node);
    }
    return node;
  }

  private analyzerSource(view: AnalyzerReportFields): AnalyzerSourceReports {
    let bySource = this.analyzers.get(view.nodeId);
    if (!bySource) {
      bySource = new Map();
      this.analyzers.set(view.nodeId, bySource);
    }
    let reports = bySource.get(view.sourceNodeId);
    if (!reports) {
      reports = { analyzerId: view.nodeId, sourceNodeId: view.sourceNodeId, counters: new CounterRates() };
      bySource.set(view.sourceNodeId, reports);
    }
    return reports;
  }

  /** Forgets nodes departed, and analyzer reports silent, for more than DEPARTED_KEEP_MS. */
  prune(nowMs: number): void {
    for (const [id, node] of this.capture)
      if (node.departure && nowMs - node.departure.atMs > DEPARTED_KEEP_MS) this.capture.delete(id);
    for (const [id, bySource] of this.analyzers) {
      for (const [source, r] of bySource)
        if (nowMs - (r.counters.lastReportMs ?? nowMs) > DEPARTED_KEEP_MS) bySource.delete(source);
      if (bySource.size === 0) this.analyzers.delete(id);
    }
  }
}
