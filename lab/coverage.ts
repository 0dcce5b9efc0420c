// The coverage verdict of a cluster run: did every frame on the wire reach the analyzers
// exactly once, and if not, at which layer did the counts part (docs/DESIGN.md "Counters")?
// A pure function of the counters, so the wording is tested without a lab.
//
//   wire (passive interface) → engine (frames taken off the ring) → seen by selection →
//   owned (Σ over nodes = seen) → exported → received at the analyzers → written
import type { EngineCounters } from '../native/engine.js';
import type { AgentSummary, AnalyzerSummary } from './cluster.js';

export interface CoverageInput {
  /** Capture host names, in node order. */
  hosts: readonly string[];
  /** Frames each capture host's passive interface received during the run (control frames included). */
  wireFrames: readonly number[];
  /** Final agent counters, in node order. */
  agents: readonly AgentSummary[];
  analyzers: readonly AnalyzerSummary[];
  /** Traffic frames the senders put on the wire (sent minus refused, control frames not counted), when known. */
  trafficSent?: number;
  /** Authentic in-band topology frames sent during the run: on the wire, but not traffic. */
  controlFramesSent?: number;
}

export interface NodeDrops {
  /** Dropped by the kernel ring (its socket buffer was full). */
  ring: number;
  /** Dropped because the worker queue was full. */
  queue: number;
  /** Batches that could not be sent. */
  send: number;
  /** Owned while the topology named no analyzer. */
  noAnalyzer: number;
}

export interface NodeCoverage {
  nodeId: number;
  host: string;
  position: number;
  epoch: number;
  wireFrames: number;
  /** Frames the engine took off the ring (traffic and control), plus those the selection in the kernel dropped before it. */
  frames: number;
  controlFrames: number;
  inbandRejected: number;
  /** Frames before any topology was in force. */
  unassigned: number;
  seen: number;
  owned: number;
  exported: number;
  dropped: NodeDrops;
}

export interface AnalyzerCoverage {
  /** Records in valid datagrams, duplicates not counted. */
  received: number;
  written: number;
  /** Datagrams missing from sequence gaps, minus those that came late. */
  lostDatagrams: number;
  duplicateRecords: number;
  socketDrops: number;
  malformed: number;
  /** Records received per node ID. */
  perNode: Record<string, number>;
}

export interface CoverageReport {
  nodes: NodeCoverage[];
  analyzers: AnalyzerCoverage[];
  /** The seen count when every node reports the same, else null. */
  seen: number | null;
  ownedSum: number;
  exportedSum: number;
  received: number;
  written: number;
  exportLossDatagrams: number;
  /** Every frame on the wire reached the analyzers exactly once (as far as the counters tell). */
  exactlyOnce: boolean;
  /** Where the counts part, one line each; empty when exactlyOnce. */
  problems: string[];
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

function analyzerCoverage(a: AnalyzerSummary): AnalyzerCoverage {
  const duplicateRecords = sum(a.nodes.map((n) => n.duplicateRecords));
  return {
    received: a.records - duplicateRecords,
    written: a.recordsWritten,
    lostDatagrams: sum(a.nodes.map((n) => n.lostDatagrams)),
    duplicateRecords,
    socketDrops: a.socketDrops,
    malformed: sum(Object.values(a.malformed)),
    perNode: Object.fromEntries(a.nodes.map((n) => [String(n.nodeId), n.records - n.duplicateRecords])),
  };
}

/** Frames a node accounts for: taken off its ring, or dropped as another node's by the selection in the kernel before any copy. */
export function framesAccounted(a: Pick<EngineCounters, 'frames' | 'kernelNotOwned'>): number {
  return a.frames + a.kernelNotOwned;
}

export function coverageReport(input: CoverageInput): CoverageReport {
  const problems: string[] = [];
  const nodes: NodeCoverage[] = input.agents.map((a, i) => ({
    nodeId: a.nodeId,
    host: input.hosts[i] ?? `node ${a.nodeId}`,
    position: a.position,
    epoch: a.epoch,
    wireFrames: input.wireFrames[i] ?? 0,
    frames: framesAccounted(a),
    controlFrames: a.controlFrames,
    inbandRejected: a.inbandRejected,
    unassigned: a.unassigned,
    seen: a.seen,
    owned: a.owned,
    exported: a.recordsExported,
    dropped: {
      ring: a.socketDrops,
      queue: a.queueFullDrops,
      send: a.recordsSendFailed,
      noAnalyzer: a.recordsNoAnalyzer,
    },
  }));
  const analyzers = input.analyzers.map(analyzerCoverage);

  const wire = nodes.map((n) => n.wireFrames);
  if (new Set(wire).size > 1)
    problems.push(
      `the capture hosts' passive interfaces got different numbers of frames (${nodes.map((n) => `${n.host} ${n.wireFrames}`).join(', ')}): the mirror lost frames`,
    );
  const control = input.controlFramesSent ?? 0;
  if (input.trafficSent !== undefined) {
    for (const n of nodes) {
      if (n.wireFrames !== input.trafficSent + control) {
        problems.push(
          `${n.host}'s passive interface got ${n.wireFrames} frames, but ${input.trafficSent} traffic and ${control} control frames were sent`,
        );
      }
    }
  }
  for (const n of nodes) {
    if (n.frames !== n.wireFrames) {
      problems.push(
        `node ${n.nodeId} took ${n.frames} of the ${n.wireFrames} frames on its interface off the ring (ring drops ${n.dropped.ring})`,
      );
    }
    if (n.controlFrames !== control)
      problems.push(
        `node ${n.nodeId} took ${n.controlFrames} in-band frames as control frames, ${control} were sent`,
      );
    if (n.unassigned > 0)
      problems.push(`node ${n.nodeId} saw ${n.unassigned} frames before it had a topology`);
    if (n.exported !== n.owned) {
      const d = n.dropped;
      problems.push(
        `node ${n.nodeId} exported ${n.exported} of the ${n.owned} frames it owns (dropped: queue ${d.queue}, send ${d.send}, no analyzer ${d.noAnalyzer})`,
      );
    }
  }

  const seenCounts = new Set(nodes.map((n) => n.seen));
  const seen = seenCounts.size === 1 ? nodes[0]!.seen : null;
  if (seen === null)
    problems.push(
      `the nodes saw different numbers of frames (${nodes.map((n) => `${n.nodeId}: ${n.seen}`).join(', ')})`,
    );
  const ownedSum = sum(nodes.map((n) => n.owned));
  if (seen !== null && ownedSum !== seen) {
    problems.push(
      `the nodes own ${ownedSum} frames together but each saw ${seen}: ${ownedSum > seen ? `${ownedSum - seen} frames owned twice` : `${seen - ownedSum} frames owned by no node`}`,
    );
  }
  if (seen !== null && input.trafficSent !== undefined && seen !== input.trafficSent) {
    problems.push(`the nodes saw ${seen} traffic frames, ${input.trafficSent} were sent`);
  }

  const exportedSum = sum(nodes.map((n) => n.exported));
  const received = sum(analyzers.map((a) => a.received));
  const written = sum(analyzers.map((a) => a.written));
  const exportLossDatagrams = sum(analyzers.map((a) => a.lostDatagrams));
  if (received !== exportedSum) {
    problems.push(
      `the analyzers received ${received} records, the nodes exported ${exportedSum} (lost datagrams ${exportLossDatagrams}, socket drops ${sum(analyzers.map((a) => a.socketDrops))})`,
    );
  }
  for (const n of nodes) {
    const got = sum(analyzers.map((a) => a.perNode[String(n.nodeId)] ?? 0));
    if (got !== n.exported && received === exportedSum)
      problems.push(`the analyzers received ${got} records from node ${n.nodeId}, it exported ${n.exported}`);
  }
  const malformed = sum(analyzers.map((a) => a.malformed));
  if (malformed > 0) problems.push(`the analyzers rejected ${malformed} malformed datagrams`);
  if (written !== received)
    problems.push(`the analyzers wrote ${written} of the ${received} records they received`);

  return {
    nodes,
    analyzers,
    seen,
    ownedSum,
    exportedSum,
    received,
    written,
    exportLossDatagrams,
    exactlyOnce: problems.length === 0,
    problems,
  };
}
