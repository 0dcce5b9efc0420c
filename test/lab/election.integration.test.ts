// Three coordinators in the lab (issue 5): one is elected active, the others stand by, and
// the capture never waits for them. One cluster (flow, --timing fast) goes
// through the failures in turn while `dicap gen` traffic runs, each phase with its own seed:
// the active killed with SIGKILL, the killed one restarted, the active cut off from the
// management network (its link down) and back, two of three killed in turn. At the end the
// analyzer's output holds every frame of every phase exactly once, and no agent ever put a
// topology of a lower term in force after one of a higher term.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAST_PROFILE,
  FAST_TIMING,
  startControlPlane,
  type ControlPlane,
  type CoordinatorStatus,
} from '../../lab/control-plane.js';
import { labUp, type Lab } from '../../lab/lab.js';
import { privilegeProblem } from '../../lab/netns.js';
import {
  analyzerOutput,
  matchOutput,
  phaseSent,
  plannedPhase,
  sendPhase,
  sleep,
  type Phase,
} from './control-plane-run.js';

const problem = privilegeProblem();
/**
 * --timing fast (heartbeat 100 ms, election timeout 300 ms, SYNC every 100 ms), with a node
 * timeout longer than the election and the solitude timeouts, as in the defaults (15 s
 * against 3 s and 10 s): what a cut-off coordinator remembers of the capture nodes'
 * heartbeats must neither keep its lease nor make it active alone (both happened before the
 * fixes in coordinator/election.ts and coordinator.ts).
 */
const T = { ...FAST_PROFILE, nodeTimeoutMs: 4000 };
const ALL = [11, 12, 13];
/** Issue 14: a dead active is replaced within a second at the fast profile (standbys stand after 1–1.5 election timeouts). */
const TAKEOVER_BOUND_MS = 1000;

describe.skipIf(problem !== undefined)(
  'three coordinators: one active, failover without losing a frame (issue 5, needs root)',
  () => {
    let lab: Lab;
    let dir: string;
    let cp: ControlPlane;
    const phases: Phase[] = [];
    const measured: string[] = [];

    /** When coordinator `id` said it became active (its /events), at or after `sinceMs`. */
    const becameActive = async (id: number, sinceMs: number) =>
      cp.poll(
        `coordinator ${id} to record that it became active`,
        async () =>
          (await cp.events(id))?.find(
            (e) => e.kind === 'role' && e.atMs >= sinceMs && e.text.startsWith('active as coordinator'),
          ),
        5000,
      );
    const statuses = async (): Promise<Array<CoordinatorStatus | undefined>> =>
      Promise.all(cp.coordinators.map((c) => (c.process?.running ? cp.status(c.id) : undefined)));
    /**
     * With `phase` under way, takes the active's management link down until a successor is
     * active, the phase is sent and the solitude timeout has passed (so the cut one had every
     * chance to make itself active alone), then brings the link back.
     */
    const cutActiveUnderTraffic = async (phase: Phase) => {
      const generator = sendPhase(lab, phase);
      await sleep(1000);
      const cut = await cp.waitForActive();
      const cutTerm = (await cp.status(cut))!.term;
      const host = cp.coordinator(cut).host;
      const link = lab.host(host).management!.interface;
      const cutAt = Date.now();
      await lab.exec(host, ['ip', 'link', 'set', link, 'down']);
      try {
        const next = await cp.waitForActive(TAKEOVER_BOUND_MS + 2000, [cut]);
        await phaseSent(generator, phase);
        await sleep(cutAt + T.solitudeMs + 1000 - Date.now());
        return { cut, cutTerm, cutAt, next };
      } finally {
        await lab.exec(host, ['ip', 'link', 'set', link, 'up']);
      }
    };

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-election-'));
      lab = await labUp({ id: 'tc5', captureHosts: 3, analyzers: 1, coordinators: 3 });
      phases.push(
        await plannedPhase(dir, 'kill-active', 21, 4),
        await plannedPhase(dir, 'partition', 22, 5),
        await plannedPhase(dir, 'two-killed', 23, 8),
      );
      cp = await startControlPlane(lab, { mode: 'flow', timing: T, pcapDirectory: dir });
    });

    afterAll(async () => {
      await cp?.stop().catch(() => {});
      await lab?.down();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      if (measured.length > 0) console.info(measured.join('\n'));
    });

    it('elects one active, which the others follow as standbys and every member follows', async () => {
      const active = await cp.waitForActive();
      await cp.waitForTopology(ALL);
      const all = await statuses();
      const leader = all[active - 1]!;
      expect(leader.term % 256).toBe(active);
      for (const s of all)
        expect({ id: s!.coordinatorId, role: s!.role, term: s!.term, activeId: s!.activeId }).toEqual({
          id: s!.coordinatorId,
          role: s!.coordinatorId === active ? 'active' : 'standby',
          term: leader.term,
          activeId: active,
        });
    });

    it('the active killed (SIGKILL) under traffic: a standby takes over within the election timeout plus a round, keeping epoch and owners', async () => {
      const phase = phases[0]!;
      const generator = sendPhase(lab, phase);
      await sleep(1000);
      const old = await cp.waitForActive();
      // The kill comes just after every node put the active's newest epoch in force, well before
      // its next periodic epoch: an epoch issued just before the kill reaches the standbys (SYNC)
      // before the nodes, and the new active rightly keeps that newer one (a CI run hit this).
      const oldTerm = await cp.poll(
        "every node to put the active's newest epoch in force",
        async () => {
          const s = await cp.status(old);
          if (!s) return undefined;
          const newest = ALL.map((id) =>
            cp
              .appliedTopologies(id)
              .filter((a) => a.term === s.term)
              .at(-1),
          );
          const settled = newest.every((a) => a?.epoch === s.epoch);
          const fresh = newest.every((a) => a !== undefined && Date.now() - a.atMs < T.epochIntervalMs / 2);
          return settled && fresh ? s.term : undefined;
        },
        3 * T.epochIntervalMs,
      );
      const killedAt = Date.now();
      await cp.stopCoordinator(old, 'SIGKILL');
      const next = await cp.waitForActive(TAKEOVER_BOUND_MS + 2000, [old]);
      const tookOver = await becameActive(next, killedAt);
      const status = (await cp.status(next))!;
      expect(tookOver.atMs - killedAt).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
      expect(status.term).toBeGreaterThan(oldTerm);
      expect(status.term % 256).toBe(next);

      // Same epoch, same nodes, under the new term: what every agent put in force first after the takeover.
      for (const id of ALL) {
        const applied = await cp.poll(
          `node ${id} to apply the new term`,
          () => cp.appliedTopologies(id).find((a) => a.term === status.term),
          5000,
        );
        const before = cp
          .appliedTopologies(id)
          .filter((a) => a.term === oldTerm)
          .at(-1)!;
        expect({ node: id, epoch: applied.epoch, nodes: applied.nodeIds }).toEqual({
          node: id,
          epoch: before.epoch,
          nodes: before.nodeIds,
        });
        expect(status.epoch).toBe(applied.epoch);
      }
      expect(status.topology!.nodeIds).toEqual(ALL);
      const takeover = (await cp.events(next))!.filter(
        (e) => e.atMs >= tookOver.atMs && e.kind === 'topology',
      );
      for (const e of takeover)
        expect(e.atMs - tookOver.atMs, `no new epoch at the takeover: ${e.text}`).toBeGreaterThanOrEqual(
          T.epochIntervalMs - 100,
        );

      // Every member heartbeats to it: a node timeout after the takeover, all are there and were heard lately.
      await sleep(Math.max(0, tookOver.atMs + T.nodeTimeoutMs + 300 - Date.now()));
      const later = (await cp.status(next))!;
      const now = Date.now();
      expect(later.members.map((m) => m.nodeId).sort((a, b) => a - b)).toEqual([...ALL, 101]);
      for (const m of later.members)
        expect({ node: m.nodeId, recent: now - m.lastHeardMs < T.nodeTimeoutMs / 2 }).toEqual({
          node: m.nodeId,
          recent: true,
        });
      await phaseSent(generator, phase);
      measured.push(
        `SIGKILL of the active ${old}: coordinator ${next} active after ${tookOver.atMs - killedAt} ms (election timeout ${T.electionTimeoutMs} ms, sync every ${T.syncIntervalMs} ms), epoch ${status.epoch} kept`,
      );
    });

    it("the killed coordinator restarted comes back as a standby with the active one's epoch and members", async () => {
      const active = await cp.waitForActive();
      const dead = cp.coordinators.find((c) => !c.process?.running)!.id;
      await cp.startCoordinator(dead);
      const [standby, leader] = await cp.poll(
        `coordinator ${dead} to take the current state`,
        async () => {
          const [s, a] = await Promise.all([cp.status(dead), cp.status(active)]);
          const same =
            s &&
            a &&
            s.role === 'standby' &&
            s.activeId === active &&
            s.term === a.term &&
            s.epoch === a.epoch;
          return same ? ([s, a] as const) : undefined;
        },
        10_000,
      );
      const membersOf = (s: CoordinatorStatus) => s.members.map((m) => `${m.role} ${m.nodeId}`).sort();
      expect(membersOf(standby)).toEqual(membersOf(leader));
      expect(standby.topology?.nodeIds).toEqual(leader.topology?.nodeIds);
      expect(await cp.activeCoordinators()).toEqual([active]);
    });

    it('the active cut off (management link down) under traffic steps down before another is elected, and returns as a standby in the new term', async () => {
      const phase = phases[1]!;
      const { cut, cutTerm, cutAt, next } = await cutActiveUnderTraffic(phase);
      const steppedDown = (await cp.events(cut))!.find(
        (e) => e.kind === 'role' && e.atMs >= cutAt && e.text.startsWith(`stepping down in term ${cutTerm}`),
      )!;
      expect(steppedDown.text).toBe(
        `stepping down in term ${cutTerm}: no SYNC_ACK from a majority within ${T.electionTimeoutMs / 2} ms`,
      );
      const tookOver = await becameActive(next, cutAt);
      // The lease (half the election timeout since the last ack) ends before any standby may stand.
      expect(steppedDown.atMs).toBeLessThan(tookOver.atMs);
      // Its lease is half the election timeout (give or take a sync interval and a tick); stale
      // witnesses would have kept it a node timeout.
      expect(steppedDown.atMs - cutAt).toBeLessThanOrEqual(T.electionTimeoutMs + 500);
      const back = await cp.poll(
        `coordinator ${cut} to follow coordinator ${next} as a standby`,
        async () => {
          const [s, a] = await Promise.all([cp.status(cut), cp.status(next)]);
          return s &&
            a &&
            s.role === 'standby' &&
            s.activeId === next &&
            s.term === a.term &&
            s.epoch === a.epoch
            ? s
            : undefined;
        },
        10_000,
      );
      expect(back.term % 256).toBe(next);
      expect(await cp.activeCoordinators()).toEqual([next]);
      // Cut off, it never became active again, and its successor was never deposed.
      expect(
        (await cp.events(cut))!.filter((e) => e.kind === 'role' && e.atMs >= cutAt).map((e) => e.text),
      ).toEqual([steppedDown.text]);
      expect(
        (await cp.events(next))!
          .filter((e) => e.kind === 'role' && e.atMs > tookOver.atMs)
          .map((e) => e.text),
      ).toEqual([]);
      // Nothing the cut-off coordinator said reached an agent after its successor took over.
      for (const id of ALL)
        expect(cp.appliedTopologies(id).filter((a) => a.atMs >= tookOver.atMs && a.term === cutTerm)).toEqual(
          [],
        );
      measured.push(
        `management link of the active ${cut} down: it stepped down after ${steppedDown.atMs - cutAt} ms, coordinator ${next} active after ${tookOver.atMs - cutAt} ms; back, a standby in term ${back.term}`,
      );
    });

    it('two of three killed in turn: the last one steers alone (solitude rule)', async () => {
      const phase = phases[2]!;
      const generator = sendPhase(lab, phase);
      await sleep(1000);
      const first = await cp.waitForActive();
      const firstKilledAt = Date.now();
      await cp.stopCoordinator(first, 'SIGKILL');
      const second = await cp.waitForActive(TAKEOVER_BOUND_MS + 2000, [first]);
      const secondActive = await becameActive(second, firstKilledAt);
      const secondKilledAt = Date.now();
      await cp.stopCoordinator(second, 'SIGKILL');
      const last = await cp.waitForActive(T.solitudeMs + TAKEOVER_BOUND_MS + 2000, [first, second]);
      const alone = await becameActive(last, secondKilledAt);
      expect(alone.text).toMatch(
        new RegExp(
          `^active as coordinator, term \\d+ \\(no peer heard for ${T.solitudeMs} ms, a majority of capture nodes heartbeat here \\(solitude rule\\)\\), 4 members known$`,
        ),
      );
      const term = (await cp.status(last))!.term;
      expect(term % 256).toBe(last);
      for (const id of ALL)
        await cp.poll(
          `node ${id} to follow coordinator ${last}`,
          () => cp.appliedTopologies(id).find((a) => a.term === term),
          5000,
        );
      await phaseSent(generator, phase);
      measured.push(
        `two of three killed: coordinator ${second} active ${secondActive.atMs - firstKilledAt} ms after the first kill; ` +
          `coordinator ${last} alone (solitude ${T.solitudeMs} ms) ${alone.atMs - secondKilledAt} ms after the second`,
      );
    });

    it('through all of it every frame was captured exactly once, and no agent went back to a lower term', async () => {
      const final = await cp.stop();
      expect(
        final.analyzers[0]!.nodes.map((n) => ({
          node: n.nodeId,
          lost: n.lostDatagrams,
          duplicates: n.duplicateDatagrams,
        })),
      ).toEqual(ALL.map((node) => ({ node, lost: 0, duplicates: 0 })));
      const match = matchOutput(phases, analyzerOutput(cp), cp.snaplen);
      expect(match.phases.map((m) => ({ name: m.name, missing: m.missing.length, extra: m.extra }))).toEqual(
        phases.map((p) => ({ name: p.name, missing: 0, extra: 0 })),
      );
      expect(match.unexpected).toBe(0);
      for (const id of ALL) {
        const applied = cp.appliedTopologies(id);
        const backwards = applied.filter(
          (a, i) =>
            i > 0 &&
            (a.term < applied[i - 1]!.term ||
              (a.term === applied[i - 1]!.term && a.epoch < applied[i - 1]!.epoch)),
        );
        expect({ node: id, backwards }).toEqual({ node: id, backwards: [] });
        expect(
          new Set(applied.map((a) => a.term)).size,
          `node ${id} followed a term per active`,
        ).toBeGreaterThanOrEqual(5);
      }
      measured.push(
        `frames lost / duplicated: ${match.phases.map((m) => `${m.name} ${m.missing.length} / ${m.extra}`).join(', ')} (of ${phases.map((p) => p.frames.length).join(', ')})`,
      );
    });

    it('round-robin: an active cut off from the management network keeps its link into the wire, but no agent obeys an in-band frame of it after its successor took over', async () => {
      const phase = await plannedPhase(dir, 'rr-partition', 24, 6);
      await cp.stop().catch(() => {}); // the flow cluster, when this runs alone
      // The lab's margins for shared cores (election timeout 900 ms): this scenario is not a timing bound.
      cp = await startControlPlane(lab, {
        mode: 'round-robin',
        timing: { ...FAST_TIMING, nodeTimeoutMs: 4000 },
        pcapDirectory: dir,
      });
      await cp.waitForTopology(ALL);
      const { cut, cutTerm, cutAt, next } = await cutActiveUnderTraffic(phase);
      const tookOver = await becameActive(next, cutAt);
      const nextTerm = (await cp.status(next))!.term;
      for (const id of ALL) {
        const applied = cp.appliedTopologies(id);
        expect(
          applied.filter((a) => a.atMs >= tookOver.atMs && a.term === cutTerm),
          `node ${id}: in-band frames of the cut-off coordinator after the takeover`,
        ).toEqual([]);
        expect(applied.at(-1)!.term, `node ${id} follows the successor`).toBe(nextTerm);
      }
      const final = await cp.stop();
      expect(final.agents.map((a) => a.inbandRejected)).toEqual([0, 0, 0]);
      const match = matchOutput([phase], analyzerOutput(cp), cp.snaplen);
      expect({
        missing: match.phases[0]!.missing.length,
        extra: match.phases[0]!.extra,
        unexpected: match.unexpected,
      }).toEqual({ missing: 0, extra: 0, unexpected: 0 });
      measured.push(
        `round-robin, management link of the active ${cut} down: coordinator ${next} active after ${tookOver.atMs - cutAt} ms; 0 of ${phase.frames.length} frames lost or duplicated`,
      );
    });
  },
);
