// The history a standby takes over (coordinator/history.ts, SPEC §6.12): the reader's checks,
// and how the ledger and the event log merge the old active's copy with their own.
import { describe, expect, it } from 'vitest';
import { CoverageLedger, DEFAULT_LEDGER_EPOCHS } from '../../coordinator/coverage-ledger.js';
import { EventLog } from '../../coordinator/event-log.js';
import { checkHistory, type HistorySnapshot } from '../../coordinator/history.js';

function activeLedger(): CoverageLedger {
  const ledger = new CoverageLedger();
  ledger.open(2, [11, 12], 1000);
  ledger.open(3, [11, 12], 2000);
  for (const nodeId of [11, 12])
    ledger.record({ nodeId, epoch: 2, seen: 10, owned: 5, exported: 5, dropped: 0 });
  ledger.close(5000, 100);
  return ledger;
}

function snapshot(): HistorySnapshot {
  const ledger = activeLedger();
  return {
    coordinatorId: 1,
    term: 257,
    atMs: 5000,
    ledger: ledger.recent(),
    ledgerTotals: { uncovered: 0, duplicated: 0, anomalies: ledger.anomaliesTotal },
    events: [{ atMs: 1000, kind: 'join', text: 'node 11 joined' }],
  };
}

describe('checkHistory', () => {
  it('takes what an active serves, as JSON', () => {
    const s = snapshot();
    expect(checkHistory(JSON.parse(JSON.stringify(s)))).toEqual(JSON.parse(JSON.stringify(s)));
  });

  it('refuses wrong shapes and anything beyond the bounds, with one line', () => {
    const s = snapshot();
    const tooLong = { ...s, ledger: Array.from({ length: DEFAULT_LEDGER_EPOCHS + 1 }, () => s.ledger[0]) };
    for (const [bad, why] of [
      [null, 'not a JSON object'],
      [{ ...s, term: -1 }, 'coordinatorId, term or atMs missing'],
      [tooLong, 'ledger missing or too long'],
      [{ ...s, ledgerTotals: undefined }, 'ledgerTotals missing'],
      [{ ...s, ledger: [{ ...s.ledger[0], status: 'fine' }] }, 'a ledger epoch with an unknown status'],
      [{ ...s, events: [{ atMs: 1, kind: 'join' }] }, 'an event without atMs, kind or text'],
    ] as const)
      expect(checkHistory(bad)).toBe(why);
  });
});

describe('taking over the history', () => {
  it('the new active holds the old epochs with their verdicts, keeps its own, and adds the totals', () => {
    const s = snapshot();
    const mine = new CoverageLedger();
    mine.open(3, [11, 12], 2000);
    mine.restore(s.ledger, { uncovered: 7, duplicated: 1, anomalies: 2 });
    const epochs = mine.recent();
    expect(epochs.map((e) => [e.epoch, e.status])).toEqual([
      [3, 'open'],
      [2, 'exactly-once'],
    ]);
    expect(epochs[1]!.perNode).toEqual(s.ledger.find((e) => e.epoch === 2)!.perNode);
    expect([mine.uncoveredTotal, mine.duplicatedTotal, mine.anomaliesTotal]).toEqual([7, 1, 2]);
  });

  it('merges events in time order within the bound', () => {
    const log = new EventLog(3);
    log.add('role', 'standby', 1500);
    log.add('role', 'active', 3000);
    log.restore([
      { atMs: 1000, kind: 'join', text: 'a' },
      { atMs: 2000, kind: 'coverage', text: 'b' },
    ]);
    expect(log.list().map((e) => e.text)).toEqual(['standby', 'b', 'active']);
  });
});
