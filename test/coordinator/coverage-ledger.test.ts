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
    ledger.departed(12);
    const [verdict] = ledger.close(2000, 1000);
    expect(verdict).toMatchObject({ status: 'anomaly', anomaly: 'node-lost', frames: 900, uncovered: 180 });
    expect(verdict!.reason).toMatch(/node 12 died or left; 180 of 900/);
    expect(ledger.uncoveredTotal).toBe(180);
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
});
