// The coverage ledger (docs/DESIGN.md "Counters"): per epoch, what every capture node reported
// it saw, owned, exported and dropped. A healthy epoch has every node seeing the same number
// of frames and the owned counts adding up to exactly that number. Pure: the coordinator
// feeds it LEDGER reports and the clock, and acts on the verdicts (resync, alerts).
import type { DepartureKind } from './node-reports.js';

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
  /**
   * Of those, the ones that died (timed out, or silent when the epoch closed). A killed agent
   * loses what waited in its export queue and partial batches, which its last report already
   * counted as owned: for these nodes only the frames exported or dropped by then count as
   * covered, so the ledger never reports less loss than there was.
   */
  died?: number[];
  validityStartMs: number;
  closedAtMs?: number;
  /**
   * The epochs judged as one with this one, when the nodes' clocks put frames of a boundary
   * between them on different sides (CoverageLedgerOptions.timedSwitch); the group's uncovered
   * and duplicated frames are on the epoch a node was lost in, else on its last epoch.
   */
  judgedWith?: number[];
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

/**
 * Most epochs judged as one across boundaries where the nodes' clocks put a frame on
 * different sides (see `timedSwitch`); a difference that survives this many is a real one.
 */
export const MAX_BOUNDARY_GROUP = 3;

export interface CoverageLedgerOptions {
  /** Epochs kept for the dashboard and the JSON endpoint. */
  keep?: number;
  /**
   * Epochs switch at a validity start in frame time (the hash modes, SPEC §6.7), not at an
   * in-band frame. Every node stamps its copy of a frame with its own clock, so a frame within
   * the clocks' skew of the start is counted in the old epoch by one node and in the new one
   * by another. The ledger then judges the epochs on both sides of that boundary as one: the
   * nodes must agree on the frames of the group, and the owned counts must add up over it.
   */
  timedSwitch?: boolean;
}

export class CoverageLedger {
  private readonly epochs = new Map<number, EpochCoverage>();
  /** Closable epochs waiting for the next one because the nodes disagreed at their boundary. */
  private held: EpochCoverage[] = [];
  private readonly keep: number;
  private readonly timedSwitch: boolean;
  /** Cumulative, over every closed epoch. */
  uncoveredTotal = 0;
  duplicatedTotal = 0;
  anomaliesTotal = 0;
  ignoredReports = 0;

  constructor(options: CoverageLedgerOptions = {}) {
    this.keep = options.keep ?? DEFAULT_LEDGER_EPOCHS;
    this.timedSwitch = options.timedSwitch ?? false;
  }

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

  /** A member died or left: the open epochs it belongs to will lack its last frames. */
  departed(nodeId: number, kind: DepartureKind): void {
    for (const coverage of this.epochs.values())
      if (coverage.status === 'open' && coverage.members.includes(nodeId))
        markDeparted(coverage, nodeId, kind);
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
      if (coverage.status !== 'open' || this.held.includes(coverage)) return;
      if (!next || nowMs < Math.max(next.validityStartMs, 0) + settleMs) return;
      // A node that is silent now (dead, not yet timed out) stopped counting early: judge it
      // as departed, not as a node that saw other frames than the rest.
      for (const id of coverage.members) if (silent.has(id)) markDeparted(coverage, id, 'timeout');
      const group = [...this.held, coverage];
      this.held = [];
      if (!this.timedSwitch || stayedAgree(group)) {
        closed.push(...this.finish(group, judge(group), nowMs));
      } else if (group.length < MAX_BOUNDARY_GROUP && stayedThrough(group).length > 0) {
        this.held = group; // the next epoch may hold the frames the clocks put on its side
      } else {
        for (const alone of group) closed.push(...this.finish([alone], judge([alone]), nowMs));
      }
    });
    return closed;
  }

  /** Records the verdict of a group of epochs judged together. */
  private finish(group: EpochCoverage[], verdict: EpochCoverage['status'], nowMs: number): EpochCoverage[] {
    for (const coverage of group) {
      coverage.closedAtMs = nowMs;
      this.uncoveredTotal += coverage.uncovered;
      this.duplicatedTotal += coverage.duplicated;
    }
    if (verdict === 'anomaly') this.anomaliesTotal += group.length;
    return group;
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

function markDeparted(c: EpochCoverage, nodeId: number, kind: DepartureKind): void {
  if (!c.departed.includes(nodeId)) c.departed.push(nodeId);
  if (kind === 'timeout' && !c.died?.includes(nodeId)) (c.died ??= []).push(nodeId);
}

/** Frames a node that died had owned but neither exported nor dropped at its last report. */
function unsent(c: EpochCoverage, id: number): number {
  const n = c.perNode[id];
  return n && c.died?.includes(id) ? Math.max(0, n.owned - n.exported - n.dropped) : 0;
}

function summarise(c: EpochCoverage): void {
  const counts = Object.values(c.perNode);
  c.frames = Math.max(0, ...counts.map((n) => n.seen));
  c.ownedSum = Object.entries(c.perNode).reduce((s, [id, n]) => s + n.owned - unsent(c, Number(id)), 0);
  c.exportedSum = counts.reduce((s, n) => s + n.exported, 0);
  c.droppedSum = counts.reduce((s, n) => s + n.dropped, 0);
  c.uncovered = Math.max(0, c.frames - c.ownedSum);
  c.duplicated = Math.max(0, c.ownedSum - c.frames);
}

/** Members that stayed through every epoch of the group and reported each: their counts are whole. */
function stayedThrough(group: readonly EpochCoverage[]): number[] {
  return group[0]!.members.filter((id) =>
    group.every((c) => c.members.includes(id) && c.perNode[id] !== undefined && !c.departed.includes(id)),
  );
}

const seenOver = (group: readonly EpochCoverage[], id: number): number =>
  group.reduce((n, c) => n + c.perNode[id]!.seen, 0);

/** Whether the nodes that stayed through the group saw the same number of frames in it. */
function stayedAgree(group: readonly EpochCoverage[]): boolean {
  return new Set(stayedThrough(group).map((id) => seenOver(group, id))).size <= 1;
}

/** Members whose counts end early: they died or left, or sent no ledger for the epoch. */
function lostIn(c: EpochCoverage): number[] {
  const silent = c.members.filter((id) => c.perNode[id] === undefined && !c.departed.includes(id));
  return [...c.departed, ...silent];
}

/**
 * One verdict for a group of consecutive epochs (one epoch unless the clocks split frames
 * across a boundary, see CoverageLedgerOptions.timedSwitch), set on each of them.
 */
function judge(group: EpochCoverage[]): EpochCoverage['status'] {
  const stayed = stayedThrough(group);
  const last = group.at(-1)!;
  // In a group each epoch's frames are one staying node's count, so that they add up to the
  // group's frames whichever side of a boundary that node's clock put a frame on.
  const counting = group.length > 1 ? stayed.slice(0, 1) : stayed;
  for (const c of group) {
    summarise(c);
    c.frames = Math.max(
      0,
      ...counting.map((id) => c.perNode[id]!.seen),
      ...lostIn(c).map((id) => c.perNode[id]?.seen ?? 0),
    );
    c.uncovered = 0;
    c.duplicated = 0;
    if (group.length > 1) c.judgedWith = group.map((g) => g.epoch);
  }
  const frames = group.reduce((n, c) => n + c.frames, 0);
  const ownedSum = group.reduce((n, c) => n + c.ownedSum, 0);
  // The group's uncovered and duplicated frames go on the epoch a node was lost in, if any.
  const blamed = group.find((c) => lostIn(c).length > 0) ?? last;
  blamed.uncovered = Math.max(0, frames - ownedSum);
  blamed.duplicated = Math.max(0, ownedSum - frames);
  const lost = [...new Set(group.flatMap(lostIn))];
  const departed = new Set(group.flatMap((c) => c.departed));
  const epochs = group.length > 1 ? `epochs ${group[0]!.epoch}-${last.epoch}` : `epoch ${last.epoch}`;
  const verdict = (
    status: EpochCoverage['status'],
    anomaly?: AnomalyKind,
    reason?: string,
  ): EpochCoverage['status'] => {
    for (const c of group) {
      c.status = status;
      if (anomaly) c.anomaly = anomaly;
      if (reason) c.reason = reason;
    }
    return status;
  };
  if (!stayedAgree(group)) {
    const list = stayed.map((id) => `${id} saw ${seenOver(group, id)}`).join(', ');
    return verdict(
      'anomaly',
      'seen-mismatch',
      `${epochs}: nodes saw different frame counts (${list}); a node lost or gained frames before selection, which desynchronises round-robin ownership`,
    );
  }
  if (lost.length > 0 && blamed.uncovered > 0) {
    const silent = lost.filter((id) => !departed.has(id));
    const unexported = group.reduce((n, c) => n + (c.died ?? []).reduce((m, id) => m + unsent(c, id), 0), 0);
    const why = [
      departed.size > 0 ? `node ${[...departed].join(', ')} died or left` : '',
      silent.length > 0
        ? `node ${silent.join(', ')} sent no ledger for it (never applied it: dead, cut off, or it missed the in-band frame)`
        : '',
    ]
      .filter(Boolean)
      .join('; ');
    return verdict(
      'anomaly',
      'node-lost',
      `${epochs}: ${why}; ${blamed.uncovered} of ${frames} frames had no reporting owner` +
        (unexported > 0 ? ` (${unexported} of them owned but not yet exported at its last report)` : ''),
    );
  }
  if (blamed.uncovered > 0)
    return verdict(
      'anomaly',
      'gap',
      `${epochs}: owned counts add up to ${ownedSum} of ${frames} frames; ${blamed.uncovered} frames had no owner`,
    );
  if (blamed.duplicated > 0)
    return verdict(
      'anomaly',
      'duplicate',
      `${epochs}: owned counts add up to ${ownedSum} of ${frames} frames; ${blamed.duplicated} frames were captured twice`,
    );
  return verdict('exactly-once');
}
