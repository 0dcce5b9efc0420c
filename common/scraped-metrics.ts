// Metrics read at scrape time: every component's /metrics is a view of counters kept
// elsewhere (the native engine or sink, the coordinator's state), so each collect() replaces
// the value with what it reads now and nothing is counted twice. prom-client's Counter has no
// set(), hence reset() and inc() by the running total.
import { Counter, Gauge, type Registry } from 'prom-client';

/** The series of a labelled metric at one scrape: [label value, value]. */
export type LabelledValues = Iterable<readonly [string, number]>;

/** A counter that reports the running total `read` returns. */
export function scrapedCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A gauge set to what `read` returns. */
export function scrapedGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/**
 * A counter (running totals) or gauge (current values) with one label, holding the series
 * `read` returns now and no others. Both start each scrape at zero, so inc() by the value
 * read sets either kind.
 */
export function scrapedLabelled(
  registry: Registry,
  kind: 'counter' | 'gauge',
  name: string,
  help: string,
  label: string,
  read: () => LabelledValues,
): void {
  const Metric = kind === 'counter' ? Counter : Gauge;
  new Metric({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, current] of read()) this.inc({ [label]: value }, current);
    },
  });
}

/** A state as a gauge per label value: 1 for the one `current` returns, 0 for the others. */
export function stateGauge<T extends string>(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  states: readonly T[],
  current: () => T,
): void {
  scrapedLabelled(registry, 'gauge', name, help, label, () => {
    const now = current();
    return states.map((state) => [state, state === now ? 1 : 0] as const);
  });
}

/**
 * `read` at most once per scrape: every collect() of one scrape runs within milliseconds,
 * so they share one read of the counters (one native call) and see the same instant.
 */
export function oncePerScrape<T>(read: () => T): () => T {
  let snapshot: T | undefined;
  let snapshotAt = 0;
  return () => {
    const now = Date.now();
    if (snapshot === undefined || now - snapshotAt > 100) {
      snapshot = read();
      snapshotAt = now;
    }
    return snapshot;
  };
}
