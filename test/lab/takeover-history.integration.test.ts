// A takeover keeps the history (protocol/SPEC.md §6.12): three coordinators with their
// dashboards in a lab, traffic from `dicap gen`, epochs judged by the active. The active is
// SIGKILLed; the new active's /ledger holds the epochs judged before the takeover, with the
// same verdicts and counts, its /events the events from before it, and its totals include
// the old ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_TIMING, startControlPlane, type ControlPlane } from '../../lab/control-plane.js';
import { startGenerator, type RunningGenerator } from '../../lab/generator.js';
import { labUp, type Lab } from '../../lab/lab.js';
import { privilegeProblem } from '../../lab/netns.js';

const problem = privilegeProblem();
const NODES = [11, 12, 13];

describe.skipIf(problem !== undefined)(
  'a new active coordinator keeps the ledger and events (needs root)',
  () => {
    let lab: Lab;
    let cp: ControlPlane | undefined;
    let generator: RunningGenerator | undefined;

    beforeAll(async () => {
      lab = await labUp({ id: 'thi', captureHosts: NODES.length, analyzers: 1, coordinators: 3 });
      cp = await startControlPlane(lab, { mode: 'flow', timing: FAST_TIMING, pcapDirectory: null });
    }, 60_000);

    afterAll(async () => {
      await generator?.stop().catch(() => undefined);
      await cp?.stop().catch(() => undefined);
      await lab?.down();
    });

    it('the new active /ledger holds the epochs judged before the takeover', async () => {
      const c = cp!;
      const old = await c.waitForActive();
      await c.waitForTopology(NODES);
      generator = startGenerator(lab, { rate: 2000, flows: 200 });
      // At least three epochs judged, and a standby has read the active's history since.
      const judged = await c.poll(
        'three epochs judged by the active',
        async () => {
          const ledger = (await c.ledger(old)) ?? [];
          const closed = ledger.filter((e) => e.status !== 'open' && e.frames > 0);
          return closed.length >= 3 ? closed : undefined;
        },
        40_000,
      );
      const eventsBefore = (await c.events(old))!;
      const totalsBefore = (await c.status(old))!.ledgerTotals;
      await new Promise((r) => setTimeout(r, 1500)); // a standby's next read of /history

      await c.stopCoordinator(old, 'SIGKILL');
      const next = await c.waitForActive(20_000, [old]);
      const ledger = (await c.ledger(next))!;
      for (const before of judged) {
        const after = ledger.find((e) => e.epoch === before.epoch);
        expect(after, `epoch ${before.epoch} on coordinator ${next}`).toBeDefined();
        expect({
          status: after!.status,
          frames: after!.frames,
          ownedSum: after!.ownedSum,
          perNode: after!.perNode,
        }).toEqual({
          status: before.status,
          frames: before.frames,
          ownedSum: before.ownedSum,
          perNode: before.perNode,
        });
      }
      const events = (await c.events(next))!;
      const oldEvent = eventsBefore.find((e) => e.kind === 'coverage');
      expect(oldEvent, 'the old active judged an epoch').toBeDefined();
      expect(events).toContainEqual(oldEvent);
      const totals = (await c.status(next))!.ledgerTotals;
      expect(totals.anomalies).toBeGreaterThanOrEqual(totalsBefore.anomalies);
    }, 120_000);
  },
);
