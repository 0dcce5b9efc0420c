// The coverage ledger (docs/DESIGN.md "Counters"): per epoch, what every capture node reported
// it saw, owned, exported and dropped. A healthy epoch has every node seeing the same number
// of frames and the owned counts adding up to exactly that number. Pure: the coordinator
// feeds it LEDGER reports and the clock, and acts on the verdicts (resync, alerts).
export interface NodeCounts {
  seen: number;
  owned: number;
  exported: number;
  dropped: number;
}

export interface LedgerReport extends NodeCounts {
  nodeId: number;
  epoch: number;
}

export type AnomalyKind = 'seen-mismatch' | 'node-lost' | 'gap' | 'duplicate';

export interface EpochCoverage {
  epoch: number;
  /** Capture nodes of the epoch's topology, in position order. */
  members: number[];
  /** 'open' while the epoch is in force or settling; then one verdict. */
  status: 'open' | 'exactly-once' | 'anomaly';
  anomaly?: AnomalyKind;
  /** One line for people: what is wrong and what it means. */
  reason?: string;
  /** Frames on the wire in the epoch: the largest seen count reported. */
  frames: number;
  ownedSum: number;
  exportedSum: number;
  droppedSum: number;
  /** Frames no node captured (frames − owned sum, when positive). */
  uncovered: number;
  /** Frames more than one node captured (owned sum − frames, when positive). */
  duplicated: number;
  perNode: Record<number, NodeCounts>;
  /** Members that died or were removed while the epoch was in force: their counts end early. */
  departed: number[];
  validityStartMs: number;
  closedAtMs?: number;
}

/** Counts over every closed epoch, as /status, /history and the dashboard publish them. */
export interface LedgerTotals {
  uncovered: number;
  duplicated: number;
  anomalies: number;
}

/** The newest verdict as /status and the dashboard publish it. */
export type VerdictSummary = Pick<
  EpochCoverage,
  'epoch' | 'status' | 'frames' | 'uncovered' | 'duplicated'
> & {
  anomaly: AnomalyKind | null;
  reason: string | null;
};

/** Epochs kept for the dashboard and the JSON endpoint. */
export const DEFAULT_LEDGER_EPOCHS = 64;

export class CoverageLedger {
  private readonly epochs = new Map<number, EpochCoverage>();
  /** Cumulative, over every closed epoch. */
  uncoveredTotal = 0;
  duplicatedTotal = 0;
  anomaliesTotal = 0;
  ignoredReports = 0;

  constructor(private readonly keep = DEFAULT_LEDGER_EPOCHS) {}

  /** A topology was issued: its epoch starts being accounted. */
  open(epoch: number, members: number[], validityStartMs: number): void {
    if (this.epochs.has(epoch)) return;
    this.epochs.set(epoch, {
      epoch,
      members: [...members],
      status: 'open',
      frames: 0,
      ownedSum: 0,
      exportedSum: 0,
      droppedSum: 0,
      uncovered: 0,
      duplicated: 0,
      perNode: {},
      departed: [],
      validityStartMs,
    });
    const old = [...this.epochs.keys()].sort((a, b) => a - b);
    while (old.length > this.keep) this.epochs.delete(old.shift()!);
  }

  /**
   * A node's cumulative counts within an epoch. Reports for unknown or closed epochs, or from
   * a node that is not a member of the epoch, are ignored (and counted).
   */
  record(report: LedgerReport): boolean {
    const coverage = this.epochs.get(report.epoch);
    if (!coverage || coverage.status !== 'open' || !coverage.members.includes(report.nodeId)) {
      this.ignoredReports++;
      return false;
    }
    const { seen, owned, exported, dropped } = report;
    coverage.perNode[report.nodeId] = { seen, owned, exported, dropped };
    summarise(coverage);
    return true;
  }

  /** A member died or was removed: the open epochs it belongs to will lack its last frames. */
  departed(nodeId: number): void {
    for (const coverage of this.epochs.values()) {
      if (
        coverage.status === 'open' &&
        coverage.members.includes(nodeId) &&
        !coverage.departed.includes(nodeId)
      ) {
        coverage.departed.push(nodeId);
      }
    }
  }

  /**
   * Gives a verdict on every open epoch that a later epoch replaced at least `settleMs` ago
   * (time for the nodes' final reports to arrive), and returns those verdicts. `silent`: nodes
   * not heard from lately (presumably dead, not yet removed).
   */
  close(nowMs: number, settleMs: number, silent: ReadonlySet<number> = new Set()): EpochCoverage[] {
    const ordered = [...this.epochs.values()].sort((a, b) => a.epoch - b.epoch);
    const closed: EpochCoverage[] = [];
    ordered.forEach((coverage, i) => {
      const next = ordered[i + 1];
      if (coverage.status !== 'open' || !next || nowMs < Math.max(next.validityStartMs, 0) + settleMs) return;
      // A node that is silent now (dead, not yet timed out) stopped counting early: judge it
      // as departed, not as a node that saw other frames than the rest.
      for (const id of coverage.members)
        if (silent.has(id) && !coverage.departed.includes(id)) coverage.departed.push(id);
      const verdict = judge(coverage);
      coverage.closedAtMs = nowMs;
      this.uncoveredTotal += coverage.uncovered;
      this.duplicatedTotal += coverage.duplicated;
      if (verdict === 'anomaly') this.anomaliesTotal++;
      closed.push(coverage);
    });
    return closed;
  }

  /**
   * Takes over the epochs and totals of the previous active (coordinator/history.ts): epochs
   * this ledger does not hold are added as they were there, the totals are added to ours.
   */
  restore(epochs: readonly EpochCoverage[], totals: LedgerTotals): void {
    for (const coverage of epochs) {
      if (!this.epochs.has(coverage.epoch)) this.epochs.set(coverage.epoch, structuredClone(coverage));
    }
    const old = [...this.epochs.keys()].sort((a, b) => a - b);
    while (old.length > this.keep) this.epochs.delete(old.shift()!);
    this.uncoveredTotal += totals.uncovered;
    this.duplicatedTotal += totals.duplicated;
    this.anomaliesTotal += totals.anomalies;
  }

  /** Newest first. */
  recent(): EpochCoverage[] {
    return [...this.epochs.values()].sort((a, b) => b.epoch - a.epoch);
  }

  /** The newest epoch with a verdict, if any. */
  latestVerdict(): EpochCoverage | undefined {
    return this.recent().find((e) => e.status !== 'open');
  }

  /** latestVerdict() without its per-node counts; null before any epoch closed. */
  latestSummary(): VerdictSummary | null {
    const latest = this.latestVerdict();
    if (!latest) return null;
    const { epoch, status, frames, uncovered, duplicated } = latest;
    return {
      epoch,
      status,
      anomaly: latest.anomaly ?? null,
      reason: latest.reason ?? null,
      frames,
      uncovered,
      duplicated,
    };
  }

  totals(): LedgerTotals {
    return {
      uncovered: this.uncoveredTotal,
      duplicated: this.duplicatedTotal,
      anomalies: this.anomaliesTotal,
    };
  }
}

function summarise(c: EpochCoverage): void {
  const counts = Object.values(c.perNode);
  c.frames = Math.max(0, ...counts.map((n) => n.seen));
  c.ownedSum = counts.reduce((s, n) => s + n.owned, 0);
  c.exportedSum = counts.reduce((s, n) => s + n.exported, 0);
  c.droppedSum = counts.reduce((s, n) => s + n.dropped, 0);
  c.uncovered = Math.max(0, c.frames - c.ownedSum);
  c.duplicated = Math.max(0, c.ownedSum - c.frames);
}

function judge(c: EpochCoverage): EpochCoverage['status'] {
  summarise(c);
  // Nodes that stayed to the end must agree on the frame count; a departed node's counts stop early.
  const stayed = c.members.filter((id) => c.perNode[id] !== undefined && !c.departed.includes(id));
  const silent = c.members.filter((id) => c.perNode[id] === undefined && !c.departed.includes(id));
  const lost = [...c.departed, ...silent];
  c.frames = Math.max(
    0,
    ...stayed.map((id) => c.perNode[id]!.seen),
    ...lost.map((id) => c.perNode[id]?.seen ?? 0),
  );
  c.uncovered = Math.max(0, c.frames - c.ownedSum);
  c.duplicated = Math.max(0, c.ownedSum - c.frames);
  const seenCounts = new Set(stayed.map((id) => c.perNode[id]!.seen));
  const fail = (anomaly: AnomalyKind, reason: string): void => {
    c.status = 'anomaly';
    c.anomaly = anomaly;
    c.reason = reason;
  };
  c.status = 'exactly-once';
  if (seenCounts.size > 1) {
    const list = stayed.map((id) => `${id} saw ${c.perNode[id]!.seen}`).join(', ');
    fail(
      'seen-mismatch',
      `epoch ${c.epoch}: nodes saw different frame counts (${list}); a node lost or gained frames before selection, which desynchronises round-robin ownership`,
    );
  } else if (lost.length > 0 && c.uncovered > 0) {
    const why = [
      c.departed.length > 0 ? `node ${c.departed.join(', ')} died or left` : '',
      silent.length > 0
        ? `node ${silent.join(', ')} sent no ledger for it (never applied it: dead, cut off, or it missed the in-band frame)`
        : '',
    ]
      .filter(Boolean)
      .join('; ');
    fail(
      'node-lost',
      `epoch ${c.epoch}: ${why}; ${c.uncovered} of ${c.frames} frames had no reporting owner`,
    );
  } else if (c.uncovered > 0) {
    fail(
      'gap',
      `epoch ${c.epoch}: owned counts add up to ${c.ownedSum} of ${c.frames} frames; ${c.uncovered} frames had no owner`,
    );
  } else if (c.duplicated > 0) {
    fail(
      'duplicate',
      `epoch ${c.epoch}: owned counts add up to ${c.ownedSum} of ${c.frames} frames; ${c.duplicated} frames were captured twice`,
    );
  }
  return c.status;
}
