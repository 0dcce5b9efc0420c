// A topology that reaches an agent after its validity start, and gives frames other owners,
// is counted and said (node-agent/coordinator-follower.ts): the frames of the gap may be lost
// or doubled. One that came in time, or moves no frame, is not.
import { describe, expect, it } from 'vitest';
import { lateOwnerChange } from '../../node-agent/coordinator-follower.js';
import type { TopologyUpdateFields } from '../../protocol/index.js';

const base: TopologyUpdateFields = {
  term: 257,
  epoch: 8,
  selection: 'flow',
  validityStartMs: 10_000,
  nodeIds: [11, 12, 13],
  analyzers: [],
  k0: 1,
  k1: 2,
  snaplen: 128,
};

describe('a late topology', () => {
  it('that moves frames is late by the time past its validity start', () => {
    const next = { ...base, epoch: 9, nodeIds: [11, 13], validityStartMs: 10_500 };
    expect(lateOwnerChange(base, next, 10_500)).toBeUndefined();
    expect(lateOwnerChange(base, next, 10_640)).toBe(140);
    expect(lateOwnerChange(base, { ...next, nodeIds: [11, 12, 13], k0: 3 }, 10_640)).toBe(140);
  });

  it("moving no frame (a takeover's same epoch under a new term, a periodic epoch) is not counted", () => {
    expect(lateOwnerChange(base, { ...base, term: 514 }, 10_300)).toBeUndefined();
    expect(lateOwnerChange(base, { ...base, epoch: 9, validityStartMs: 10_100 }, 10_300)).toBeUndefined();
  });

  it('is not counted for the first topology (nothing to switch from)', () => {
    expect(lateOwnerChange(undefined, base, 20_000)).toBeUndefined();
  });
});
