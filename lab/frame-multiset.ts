// Frames as a multiset: "the analyzers' output holds every frame on the wire exactly once"
// becomes one comparison. Frames are compared by their first `snaplen` bytes (what the
// agents export); time stamps are ignored (the wire's are not the file's). Each frame is
// kept as a SHA-1 digest of those bytes, so millions of frames fit in memory.
import { createHash } from 'node:crypto';

export interface MultisetDifference {
  /** Frames the expectation has more often than the actual output (lost). */
  missing: number;
  /** Frames the output has more often than expected (duplicates, or frames never sent). */
  extra: number;
}

export class FrameMultiset {
  private readonly counts = new Map<string, number>();
  private total = 0;

  constructor(readonly snaplen: number) {}

  /** Adds `times` copies of `frame` (only its first snaplen bytes count; the buffer is not kept). */
  add(frame: Uint8Array, times = 1): void {
    const key = createHash('sha1').update(frame.subarray(0, this.snaplen)).digest('base64');
    this.counts.set(key, (this.counts.get(key) ?? 0) + times);
    this.total += times;
  }

  get size(): number {
    return this.total;
  }

  /** How `actual` differs from this multiset taken as the expectation. */
  compare(actual: FrameMultiset): MultisetDifference {
    if (actual.snaplen !== this.snaplen)
      throw new RangeError(`cannot compare frames cut at ${this.snaplen} and ${actual.snaplen} bytes`);
    let missing = 0;
    let extra = 0;
    for (const [key, n] of this.counts) {
      const m = actual.counts.get(key) ?? 0;
      if (m < n) missing += n - m;
      else extra += m - n;
    }
    for (const [key, m] of actual.counts) if (!this.counts.has(key)) extra += m;
    return { missing, extra };
  }
}
