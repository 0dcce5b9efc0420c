// A capture node silent while its peers keep reporting their ledgers is gone before the node
// timeout (coordinator/silence.ts); without reports from every live peer, only the timeout counts.
import { describe, expect, it } from 'vitest';
import { LedgerRounds } from '../../coordinator/silence.js';

const HB = 100;

/** Nodes 11, 12, 13 heartbeat and report every interval until `t`; node 13 stops at `deadAt`. */
function run(until: number, deadAt: number, reporting = [11, 12]) {
  const rounds = new LedgerRounds(HB);
  const lastHeard = new Map([11, 12, 13].map((id) => [id, 0]));
  for (let t = 0; t <= until; t += HB) {
    for (const id of [11, 12, 13]) {
      if (id === 13 && t > deadAt) continue;
      lastHeard.set(id, t);
      if (reporting.includes(id) || id === 13) {
        rounds.reported(id, t);
        rounds.reported(id, t + 1); // a second epoch's report in the same round
      }
    }
  }
  const members = [...lastHeard].map(([nodeId, lastHeardMs]) => ({ nodeId, lastHeardMs }));
  return { rounds, members };
}

describe('silence while the peers report', () => {
  it('finds the silent node after 2.5 heartbeat intervals once every live peer reported twice since', () => {
    const oneRound = run(1100, 1000); // the peers reported at 1000 and 1100: one round since 13's last heartbeat
    expect(oneRound.rounds.silentWhilePeersReport(oneRound.members, 1300)).toEqual([]);
    const twoRounds = run(1200, 1000);
    expect(twoRounds.rounds.silentWhilePeersReport(twoRounds.members, 1250)).toEqual([]); // 2.5 intervals
    expect(twoRounds.rounds.silentWhilePeersReport(twoRounds.members, 1260).map((m) => m.nodeId)).toEqual([
      13,
    ]);
  });

  it('keeps a live node whose heartbeat was lost and the next one is late (found in the lab after a failover)', () => {
    // 13 heard at 1000; its heartbeat of 1100 lost, the one of 1200 on its way 40 ms late, while
    // the peers report at 1100 and 1200. At 1.5 intervals it was removed at 1160, and its share
    // was doubled across the topologies that removed and re-admitted it.
    const { rounds, members } = run(1200, 1000);
    for (let t = 1150; t <= 1240; t += 10) expect(rounds.silentWhilePeersReport(members, t)).toEqual([]);
  });

  it('does not count two reports of one round (two epochs) as two rounds', () => {
    const rounds = new LedgerRounds(HB);
    rounds.reported(11, 1000);
    rounds.reported(11, 1010);
    expect(
      rounds.silentWhilePeersReport(
        [
          { nodeId: 11, lastHeardMs: 1050 },
          { nodeId: 13, lastHeardMs: 900 },
        ],
        1100,
      ),
    ).toEqual([]);
  });

  it('waits for the timeout when a live peer does not report (no traffic, or its own trouble)', () => {
    const { rounds, members } = run(1200, 900, [11]);
    expect(rounds.silentWhilePeersReport(members, 1260)).toEqual([]);
  });

  it('never finds a node alone (no peer to report)', () => {
    const rounds = new LedgerRounds(HB);
    expect(rounds.silentWhilePeersReport([{ nodeId: 13, lastHeardMs: 0 }], 10_000)).toEqual([]);
  });

  it('forgets a departed node', () => {
    const { rounds, members } = run(1200, 900);
    rounds.forget(12);
    expect(rounds.silentWhilePeersReport(members, 1260)).toEqual([]);
  });
});
