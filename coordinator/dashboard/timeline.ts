// The dashboard's rates over time: a sample a second of the cluster's summed rates and each
// capture node's, the last few minutes kept for the plots. A page that connects gets the
// whole timeline once, then each new sample with the update that brings it.

/** Samples kept: five minutes at one a second. */
export const DEFAULT_TIMELINE_SAMPLES = 300;
/** One sample a second; a push that comes a little early (timer jitter) still takes its turn. */
export const SAMPLE_INTERVAL_MS = 1000;
const SAMPLE_TOLERANCE_MS = 100;

export interface NodeRateSample {
  seen: number;
  owned: number;
  exported: number;
  /** Every layer's drops together (ring, queue, send, no analyzer). */
  drops: number;
}

export interface RateSample extends NodeRateSample {
  atMs: number;
  /** Records the analyzers received, per second, from every node. */
  received: number;
  /** By capture node ID; nodes without current rates are absent. */
  nodes: Record<number, NodeRateSample>;
}

export class Timeline {
  private readonly samples: RateSample[] = [];

  constructor(private readonly capacity = DEFAULT_TIMELINE_SAMPLES) {}

  /** Keeps `sample` if a second has passed since the last one kept; returns whether it did. */
  add(sample: RateSample): boolean {
    const last = this.samples.at(-1);
    if (last && sample.atMs - last.atMs < SAMPLE_INTERVAL_MS - SAMPLE_TOLERANCE_MS) return false;
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.shift();
    return true;
  }

  /** Oldest first. */
  list(): readonly RateSample[] {
    return this.samples;
  }
}
