// Test helper: compares captured frames as multisets keyed by (timestamp, bytes after
// truncation to the snaplen), so "every frame exactly once" is one equality check.
export interface FrameLike {
  tsNs: bigint;
  data: Buffer;
}

export function frameKey(frame: FrameLike, snaplen: number): string {
  return `${frame.tsNs}:${frame.data.subarray(0, snaplen).toString('hex')}`;
}

/** Key → count. */
export function frameMultiset(frames: Iterable<FrameLike>, snaplen: number): Map<string, number> {
  const set = new Map<string, number>();
  for (const f of frames) {
    const key = frameKey(f, snaplen);
    set.set(key, (set.get(key) ?? 0) + 1);
  }
  return set;
}

/** Frames missing from `actual`, and frames `actual` has more often than `expected` (duplicates/extras). */
export function compareMultisets(
  expected: Map<string, number>,
  actual: Map<string, number>,
): { missing: number; extra: number } {
  let missing = 0;
  let extra = 0;
  for (const [key, n] of expected) {
    const m = actual.get(key) ?? 0;
    if (m < n) missing += n - m;
    if (m > n) extra += m - n;
  }
  for (const [key, m] of actual) if (!expected.has(key)) extra += m;
  return { missing, extra };
}
