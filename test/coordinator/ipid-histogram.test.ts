// The cluster's IPv4 ID histogram from the nodes' cumulative reports (bins mod 2^32): the
// nodes' increases add up, a wrapped bin still gives its true increase, a restart counts
// anew, and the window forgets what is older than its seconds.
import { describe, expect, it } from 'vitest';
import { ClusterIpidHistogram } from '../../coordinator/ipid-histogram.js';

const BINS = 256;
const bins = (entries: Record<number, number>): number[] =>
  Array.from({ length: BINS }, (_, i) => entries[i] ?? 0);
const report = (nodeId: number, entries: Record<number, number>) => {
  const b = bins(entries);
  return { nodeId, frames: BigInt(b.reduce((x, y) => x + y, 0)), bins: b };
};

describe('the cluster IPv4 ID histogram', () => {
  it('adds up the nodes: since start with every report, in the window only the increases after a node’s first report', () => {
    const h = new ClusterIpidHistogram(60);
    h.record(report(11, { 0: 100, 5: 10 }), 1000);
    h.record(report(12, { 0: 50, 255: 1 }), 1000);
    expect(h.sinceStart()).toEqual({ frames: 161, bins: bins({ 0: 150, 5: 10, 255: 1 }) });
    expect(h.recent(1000).frames).toBe(0); // first reports may hold old counts
    h.record(report(11, { 0: 130, 5: 10, 7: 2 }), 2000);
    h.record(report(12, { 0: 60, 255: 1 }), 2500);
    expect(h.recent(3000)).toEqual({ frames: 42, bins: bins({ 0: 40, 7: 2 }) });
    expect(h.sinceStart()).toEqual({ frames: 203, bins: bins({ 0: 190, 5: 10, 7: 2, 255: 1 }) });
    expect(h.nodes.sort()).toEqual([11, 12]);
  });

  it('takes a bin that wrapped past 2^32 as its true increase', () => {
    const h = new ClusterIpidHistogram(60);
    h.record({ nodeId: 11, frames: 2n ** 32n - 10n, bins: bins({ 0: 2 ** 32 - 10 }) }, 0);
    h.record({ nodeId: 11, frames: 2n ** 32n + 15n, bins: bins({ 0: 15 }) }, 1000);
    expect(h.recent(1000)).toEqual({ frames: 25, bins: bins({ 0: 25 }) });
  });

  it('counts a restarted node (fewer frames than before) from zero', () => {
    const h = new ClusterIpidHistogram(60);
    h.record(report(11, { 3: 1000 }), 0);
    h.record(report(11, { 3: 7 }), 1000);
    expect(h.recent(1000)).toEqual({ frames: 7, bins: bins({ 3: 7 }) });
    expect(h.sinceStart().frames).toBe(1007);
  });

  it('forgets in the window what is older than its seconds', () => {
    const h = new ClusterIpidHistogram(10);
    h.record(report(11, {}), 0);
    h.record(report(11, { 1: 5 }), 1000);
    h.record(report(11, { 1: 5, 2: 3 }), 9000);
    expect(h.recent(9999).frames).toBe(8);
    expect(h.recent(10_999).frames).toBe(8); // seconds 1..10
    expect(h.recent(11_000)).toEqual({ frames: 3, bins: bins({ 2: 3 }) }); // second 1 fell out
    expect(h.recent(19_000).frames).toBe(0);
    expect(h.sinceStart().frames).toBe(8);
  });
});
