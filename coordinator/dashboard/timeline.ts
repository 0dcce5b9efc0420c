// The dashboard's rates over time: one sample per push (every second) of the cluster's
// summed rates and each capture node's, the last few minutes kept for the plots. A page that
// connects gets the whole timeline once, then one new sample with every update.

/** Samples kept: five minutes at one a second. */
export const DEFAULT_TIMELINE_SAMPLES = 300;

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

  add(sample: RateSample): void {
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.shift();
  }

  /** Oldest first. */
  list(): readonly RateSample[] {
    return this.samples;
  }
}
