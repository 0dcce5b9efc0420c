import { describe, expect, it } from 'vitest';
import { CoverageLedger } from '../../coordinator/coverage-ledger.js';

const counts = (seen: number, owned: number, exported = owned, dropped = 0) => ({
  seen,
  owned,
  exported,
  dropped,
});

/** Epoch 1 with nodes 11, 12, 13 in force at t=0, replaced by epoch 2 at t=1000. */
function ledgerWithTwoEpochs(): CoverageLedger {
  const ledger = new CoverageLedger();
  ledger.open(1, [11, 12, 13], 0);
  ledger.open(2, [11, 12, 13], 1000);
  return ledger;
}

describe('the coverage ledger', () => {
  it('calls an epoch exactly-once when every node saw the same frames and the owned counts add up', () => {
    const ledger = ledgerWithTwoEpochs();
    ledger.record({ nodeId: 11, epoch: 1, ...counts(900, 300) });
    ledger.record({ nodeId: 12, epoch: 1, ...counts(900, 250) });
    ledger.record({ nodeId: 13, epoch: 1, ...counts(900, 350) });
    expect(ledger.close(1500, 1000)).toEqual([]); // not settled yet
    const [verdict] = ledger.close(2000, 1000);
    expect(verdict).toMatchObject({
      epoch: 1,
      status: 'exactly-once',
      frames: 900,
      ownedSum: 900,
      uncovered: 0,
      duplicated: 0,
    });
    expect(ledger.recent().map((e) => [e.epoch, e.status])).toEqual([
      [2, 'open'],
      [1, 'exactly-once'],
    ]);
  });

  it('flags different seen counts as a desynchronisation', () => {
    const ledger = ledgerWithTwoEpochs();
    ledger.record({ nodeId: 11, epoch: 1, ...counts(900, 300) });
    ledger.record({ nodeId: 12, epoch: 1, ...counts(880, 290) });
    ledger.record({ nodeId: 13, epoch: 1, ...counts(900, 300) });
    const [verdict] = ledger.close(2000, 1000);
    expect(verdict).toMatchObject({ status: 'anomaly', anomaly: 'seen-mismatch' });
    expect(verdict!.reason).toMatch(/12 saw 880/);
    expect(ledger.anomaliesTotal).toBe(1);
  });

  it('counts the share of a node that died as uncovered, without calling it a desynchronisation', () => {
    const ledger = ledgerWithTwoEpochs();
    ledger.record({ nodeId: 11, epoch: 1, ...counts(900, 300) });
    ledger.record({ nodeId: 12, epoch: 1, ...counts(400, 120) }); // its last report before it died
    ledger.record({ nodeId: 13, epoch: 1, ...counts(900, 300) });
    ledger.departed(12, 'timeout');
    const [verdict] = ledger.close(2000, 1000);
    expect(verdict).toMatchObject({ status: 'anomaly', anomaly: 'node-lost', frames: 900, uncovered: 180 });
    expect(verdict!.reason).toMatch(/node 12 died or left; 180 of 900/);
    expect(ledger.uncoveredTotal).toBe(180);
  });

  it("counts what a dead node owned but had not exported at its last report as uncovered, and not a leaver's", () => {
    const epochOne = (kind: 'timeout' | 'left' | 'silent') => {
      const ledger = ledgerWithTwoEpochs();
      ledger.record({ nodeId: 11, epoch: 1, ...counts(900, 300) });
      // 15 of its 120 frames still waited in its export queue or a partial batch.
      ledger.record({ nodeId: 12, epoch: 1, ...counts(400, 120, 100, 5) });
      ledger.record({ nodeId: 13, epoch: 1, ...counts(900, 300) });
      if (kind !== 'silent') ledger.departed(12, kind);
      return ledger.close(2000, 1000, new Set(kind === 'silent' ? [12] : []))[0]!;
    };
    const died = epochOne('timeout');
    expect(died).toMatchObject({ anomaly: 'node-lost', uncovered: 195, died: [12] });
    expect(died.reason).toMatch(
      /195 of 900 frames had no reporting owner \(15 of them owned but not yet exported/,
    );
    expect(epochOne('silent')).toMatchObject({ anomaly: 'node-lost', uncovered: 195, died: [12] });
    // A leaver flushes its queue before it stops: its owned frames count as covered.
    const left = epochOne('left');
    expect(left).toMatchObject({ anomaly: 'node-lost', uncovered: 180, departed: [12] });
    expect(left.died).toBeUndefined();
  });

  it('judges a node that is silent at closing time (dead, not yet timed out) as lost, not as a desync', () => {
    const ledger = ledgerWithTwoEpochs();
    ledger.record({ nodeId: 11, epoch: 1, ...counts(900, 300) });
    ledger.record({ nodeId: 12, epoch: 1, ...counts(400, 120) });
    ledger.record({ nodeId: 13, epoch: 1, ...counts(900, 300) });
    const [verdict] = ledger.close(2000, 1000, new Set([12]));
    expect(verdict).toMatchObject({ anomaly: 'node-lost', uncovered: 180 });
  });

  it('names a node that never reported an epoch', () => {
    const ledger = ledgerWithTwoEpochs();
    ledger.record({ nodeId: 11, epoch: 1, ...counts(900, 300) });
    ledger.record({ nodeId: 13, epoch: 1, ...counts(900, 300) });
    const [verdict] = ledger.close(2000, 1000);
    expect(verdict).toMatchObject({ anomaly: 'node-lost', uncovered: 300 });
    expect(verdict!.reason).toMatch(/node 12 sent no ledger/);
  });

  it('tells gaps from duplicates', () => {
    /** Epoch 1 of 900 frames closed, nodes 11 and 12 owning 300 each and node 13 `owned13`. */
    const verdictWith = (owned13: number) => {
      const ledger = ledgerWithTwoEpochs();
      for (const [id, owned] of [
        [11, 300],
        [12, 300],
        [13, owned13],
      ] as const)
        ledger.record({ nodeId: id, epoch: 1, ...counts(900, owned) });
      return ledger.close(2000, 1000)[0];
    };
    expect(verdictWith(299)).toMatchObject({ anomaly: 'gap', uncovered: 1 });
    expect(verdictWith(301)).toMatchObject({ anomaly: 'duplicate', duplicated: 1 });
  });

  it('ignores reports for unknown or closed epochs and from non-members, and counts them', () => {
    const ledger = ledgerWithTwoEpochs();
    expect(ledger.record({ nodeId: 11, epoch: 9, ...counts(1, 1) })).toBe(false);
    expect(ledger.record({ nodeId: 99, epoch: 1, ...counts(1, 1) })).toBe(false);
    ledger.close(2000, 1000);
    expect(ledger.record({ nodeId: 11, epoch: 1, ...counts(1, 1) })).toBe(false);
    expect(ledger.ignoredReports).toBe(3);
  });

  describe('with hash-mode epochs, which switch at a validity start in frame time', () => {
    /** Epochs 1-4 of nodes 11, 12, 13 starting at 0, 1000, 2000, 3000; the clocks split frames at epoch 2's start. */
    function skewedLedger(owned: { e1: [number, number, number]; e2: [number, number, number] }) {
      const ledger = new CoverageLedger({ timedSwitch: true });
      for (const [epoch, start] of [
        [1, 0],
        [2, 1000],
        [3, 2000],
        [4, 3000],
      ] as const)
        ledger.open(epoch, [11, 12, 13], start);
      // Node 11's clock put one frame near the boundary in epoch 1, the others in epoch 2.
      const seen = { e1: [901, 900, 900], e2: [99, 100, 100] };
      [11, 12, 13].forEach((nodeId, i) => {
        ledger.record({ nodeId, epoch: 1, ...counts(seen.e1[i]!, owned.e1[i]!) });
        ledger.record({ nodeId, epoch: 2, ...counts(seen.e2[i]!, owned.e2[i]!) });
      });
      return ledger;
    }

    it('judges two epochs as one when the clocks put a boundary frame on different sides', () => {
      // The boundary frame is owned by node 11 in epoch 1 (its view) and by nobody else.
      const ledger = skewedLedger({ e1: [301, 300, 300], e2: [33, 33, 33] });
      expect(ledger.close(2000, 1000)).toEqual([]); // epoch 1 waits for epoch 2
      const verdicts = ledger.close(3000, 1000);
      expect(verdicts.map((v) => [v.epoch, v.status, v.frames, v.judgedWith])).toEqual([
        [1, 'exactly-once', 901, [1, 2]],
        [2, 'exactly-once', 99, [1, 2]],
      ]);
      expect(ledger.anomaliesTotal).toBe(0);
    });

    it('still finds the frame the boundary lost or doubled', () => {
      // Nobody owned the boundary frame: not node 11 under epoch 1, where its clock put it, nor
      // nodes 12 and 13 under epoch 2, where theirs did.
      const lost = skewedLedger({ e1: [300, 300, 300], e2: [33, 33, 33] }).close(3000, 1000);
      expect(lost.map((v) => [v.epoch, v.anomaly, v.uncovered])).toEqual([
        [1, 'gap', 0],
        [2, 'gap', 1],
      ]);
      expect(lost[1]!.reason).toMatch(/^epochs 1-2: owned counts add up to 999 of 1000 frames/);
      const doubled = skewedLedger({ e1: [301, 300, 300], e2: [33, 34, 33] }).close(3000, 1000);
      expect(doubled.map((v) => [v.anomaly, v.duplicated])).toEqual([
        ['duplicate', 0],
        ['duplicate', 1],
      ]);
    });

    it('calls a difference that no later epoch makes up a desynchronisation, epoch by epoch', () => {
      const ledger = new CoverageLedger({ timedSwitch: true });
      for (let epoch = 1; epoch <= 5; epoch++) ledger.open(epoch, [11, 12], (epoch - 1) * 1000);
      for (let epoch = 1; epoch <= 4; epoch++) {
        ledger.record({ nodeId: 11, epoch, ...counts(100, 50) });
        ledger.record({ nodeId: 12, epoch, ...counts(epoch === 1 ? 90 : 100, 50) });
      }
      expect(ledger.close(3000, 1000)).toEqual([]);
      const verdicts = ledger.close(4000, 1000);
      expect(verdicts.map((v) => [v.epoch, v.anomaly ?? v.status])).toEqual([
        [1, 'seen-mismatch'],
        [2, 'exactly-once'],
        [3, 'exactly-once'],
      ]);
      expect(verdicts[0]!.reason).toMatch(
        /^epoch 1: nodes saw different frame counts \(11 saw 100, 12 saw 90\)/,
      );
    });

    it('does not wait across boundaries in round-robin, which switches at an in-band frame', () => {
      const ledger = ledgerWithTwoEpochs();
      ledger.record({ nodeId: 11, epoch: 1, ...counts(901, 301) });
      ledger.record({ nodeId: 12, epoch: 1, ...counts(900, 300) });
      ledger.record({ nodeId: 13, epoch: 1, ...counts(900, 300) });
      expect(ledger.close(2000, 1000).map((v) => v.anomaly)).toEqual(['seen-mismatch']);
    });
  });
});
