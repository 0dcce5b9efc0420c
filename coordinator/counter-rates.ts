// Per-second rates from cumulative counters that a member reports now and then (HEARTBEAT
// engine counters, ANALYZER_REPORT): the increase between two reports over the time between
// them, by the coordinator's clock. A counter that went down was reset (the sender
// restarted): its new value is the increase since the reset, as Prometheus' rate() takes it.
// Pure: the caller passes the clock.

/** Two reports closer than this give no new rate (too noisy); the older baseline is kept. */
export const MIN_RATE_INTERVAL_MS = 200;

/** How much a cumulative counter grew from `previous` to `current`, a reset counting from 0. */
export function increase(previous: number, current: number): number {
  return current >= previous ? current - previous : current;
}

export class CounterRates<K extends string> {
  /** The newest values reported. */
  totals: Readonly<Record<K, number>> | undefined;
  /** When the newest values arrived (ms). */
  lastReportMs: number | undefined;
  /** Per second, between the baseline and the newest report; undefined until two reports. */
  rates: Readonly<Record<K, number>> | undefined;
  private baseline: { atMs: number; values: Readonly<Record<K, number>> } | undefined;

  observe(values: Readonly<Record<K, number>>, atMs: number): void {
    this.totals = values;
    this.lastReportMs = atMs;
    if (!this.baseline) {
      this.baseline = { atMs, values };
      return;
    }
    const elapsedMs = atMs - this.baseline.atMs;
    if (elapsedMs < MIN_RATE_INTERVAL_MS) return;
    const from = this.baseline.values;
    const rates = {} as Record<K, number>;
    for (const key of Object.keys(values) as K[])
      rates[key] = (increase(from[key] ?? 0, values[key]) * 1000) / elapsedMs;
    this.rates = rates;
    this.baseline = { atMs, values };
  }

  /** The rates, or undefined when none is known or the newest report is older than `staleMs`. */
  current(nowMs: number, staleMs: number): Readonly<Record<K, number>> | undefined {
    return this.lastReportMs !== undefined && nowMs - this.lastReportMs <= staleMs ? this.rates : undefined;
  }
}
