// The cluster's IPv4 Identification histogram (protocol/SPEC.md §6.9): every capture node
// reports the IDs of the frames it owned as 256 cumulative bins mod 2^32; every frame has one
// owner, so the nodes' increases add up to the link's histogram. Kept two ways: since the
// coordinator first heard each node, and over a sliding window of recent seconds (so the
// operator sees the link as it is now). Pure: the caller passes the clock.
import { IPID_HISTOGRAM_BINS, type IpidHistogramFields } from '../protocol/index.js';
import { increase } from './counter-rates.js';

/** The sliding window's length: one bucket per second. */
export const DEFAULT_IPID_WINDOW_S = 60;

const U32 = 2 ** 32;

export interface IpidHistogramView {
  /** IPv4 frames in the bins. */
  frames: number;
  /** IPID_HISTOGRAM_BINS counts: bin i for IDs 256·i … 256·i+255. */
  bins: number[];
}

interface NodeBaseline {
  frames: number;
  bins: readonly number[];
}

export class ClusterIpidHistogram {
  /** Since each node was first heard. */
  private readonly total = new Array<number>(IPID_HISTOGRAM_BINS).fill(0);
  private totalFrames = 0;
  private readonly last = new Map<number, NodeBaseline>();
  /** Window buckets by whole second (ms / 1000), oldest first. */
  private readonly buckets = new Map<number, number[]>();

  constructor(readonly windowS = DEFAULT_IPID_WINDOW_S) {}

  /** A node's report. The first one of a node counts in the total only (its counts may be old). */
  record(report: Pick<IpidHistogramFields, 'nodeId' | 'frames' | 'bins'>, nowMs: number): void {
    const frames = Number(report.frames);
    const previous = this.last.get(report.nodeId);
    this.last.set(report.nodeId, { frames, bins: report.bins });
    const restarted = previous !== undefined && frames < previous.frames;
    const delta = report.bins.map((count, i) =>
      !previous || restarted ? count : (count - previous.bins[i]! + U32) % U32,
    );
    const deltaFrames = previous ? increase(previous.frames, frames) : frames;
    delta.forEach((n, i) => (this.total[i]! += n));
    this.totalFrames += deltaFrames;
    if (!previous || deltaFrames === 0) return;
    const second = Math.floor(nowMs / 1000);
    const bucket = this.buckets.get(second) ?? new Array<number>(IPID_HISTOGRAM_BINS).fill(0);
    delta.forEach((n, i) => (bucket[i]! += n));
    this.buckets.set(second, bucket);
    this.prune(nowMs);
  }

  /** Since each node was first heard. */
  sinceStart(): IpidHistogramView {
    return { frames: this.totalFrames, bins: [...this.total] };
  }

  /** Over the last `windowS` seconds (whole seconds, the current one included). */
  recent(nowMs: number): IpidHistogramView {
    this.prune(nowMs);
    const bins = new Array<number>(IPID_HISTOGRAM_BINS).fill(0);
    for (const bucket of this.buckets.values()) bucket.forEach((n, i) => (bins[i]! += n));
    return { frames: bins.reduce((a, b) => a + b, 0), bins };
  }

  /** Nodes that have reported. */
  get nodes(): number[] {
    return [...this.last.keys()];
  }

  private prune(nowMs: number): void {
    const oldest = Math.floor(nowMs / 1000) - this.windowS + 1;
    for (const second of this.buckets.keys()) if (second < oldest) this.buckets.delete(second);
  }
}
