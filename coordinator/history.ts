// The cluster's history a takeover must not lose: the coverage ledger (recent epochs and the
// cumulative totals) and the event log. The active serves it at GET /history on its --http
// server; every standby that knows the active's dashboard address (from SYNC) reads it every
// HISTORY_INTERVAL_MS and keeps the last good copy; when it becomes active it starts from that
// copy, so its dashboard and /ledger go on where the old active stopped (protocol/SPEC.md
// §6.11). JSON over the HTTP server that is already there: the snapshot is at most a few
// hundred kilobytes, once a second or so, on the management network.
import type { Endpoint } from '../protocol/index.js';
import { DEFAULT_LEDGER_EPOCHS, type EpochCoverage, type LedgerTotals } from './coverage-ledger.js';
import { DEFAULT_EVENT_LOG_SIZE, type ClusterEvent } from './event-log.js';

/** What GET /history answers (the writer's type; the standby's reader checks it). */
export interface HistorySnapshot {
  /** The coordinator that served it, and its term then. */
  coordinatorId: number;
  term: number;
  atMs: number;
  /** Newest epoch first, at most DEFAULT_LEDGER_EPOCHS. */
  ledger: EpochCoverage[];
  ledgerTotals: LedgerTotals;
  /** Oldest first, at most DEFAULT_EVENT_LOG_SIZE. */
  events: ClusterEvent[];
}

/** How often a standby reads the active's history. */
export const HISTORY_INTERVAL_MS = 1000;
/** A larger answer is refused: it is not what an active serves. */
export const MAX_HISTORY_BYTES = 4 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 2000;

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The snapshot if `value` has its shape and bounds, else a one-line reason. */
export function checkHistory(value: unknown): HistorySnapshot | string {
  const h = value as Partial<HistorySnapshot> | null;
  if (!h || typeof h !== 'object') return 'not a JSON object';
  if (!isCount(h.coordinatorId) || !isCount(h.term) || !isCount(h.atMs))
    return 'coordinatorId, term or atMs missing';
  if (!Array.isArray(h.ledger) || h.ledger.length > DEFAULT_LEDGER_EPOCHS)
    return 'ledger missing or too long';
  if (!Array.isArray(h.events) || h.events.length > DEFAULT_EVENT_LOG_SIZE)
    return 'events missing or too long';
  const t = h.ledgerTotals;
  if (!t || !isCount(t.uncovered) || !isCount(t.duplicated) || !isCount(t.anomalies))
    return 'ledgerTotals missing';
  for (const e of h.ledger) {
    if (!e || !isCount(e.epoch) || !Array.isArray(e.members) || typeof e.perNode !== 'object')
      return 'a ledger epoch without epoch, members or perNode';
    if (e.status !== 'open' && e.status !== 'exactly-once' && e.status !== 'anomaly')
      return 'a ledger epoch with an unknown status';
  }
  for (const e of h.events)
    if (!e || !isCount(e.atMs) || typeof e.kind !== 'string' || typeof e.text !== 'string')
      return 'an event without atMs, kind or text';
  return h as HistorySnapshot;
}

/**
 * A standby's copy of the active's history: read every HISTORY_INTERVAL_MS from the
 * dashboard address `activeDashboard()` names (undefined while this coordinator is active or
 * knows no active). Failures keep the last good copy and are counted.
 */
export class HistoryFollower {
  latest: HistorySnapshot | undefined;
  failures = 0;
  lastProblem: string | undefined;
  private readonly timer: NodeJS.Timeout;
  private busy = false;

  constructor(private readonly activeDashboard: () => Endpoint | undefined) {
    this.timer = setInterval(() => void this.read(), HISTORY_INTERVAL_MS);
    this.timer.unref();
  }

  private async read(): Promise<void> {
    const at = this.activeDashboard();
    if (!at || this.busy) return;
    this.busy = true;
    try {
      const response = await fetch(`http://${at.ip}:${at.port}/history`, {
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      if (text.length > MAX_HISTORY_BYTES)
        throw new Error(`${text.length} bytes, more than ${MAX_HISTORY_BYTES}`);
      const checked = checkHistory(JSON.parse(text));
      if (typeof checked === 'string') throw new Error(checked);
      this.latest = checked;
    } catch (error) {
      this.failures++;
      this.lastProblem = `${at.ip}:${at.port}/history: ${(error as Error).message}`;
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
