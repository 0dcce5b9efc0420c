// Three coordinators and their capture nodes on a simulated clock and network
// (simulated-network.ts): the real Coordinator code, the real codec, no sockets and no root.
// Peers, SYNC, takeover and the solitude rule's witnesses.
import { describe, expect, it } from 'vitest';
import { deriveTiming } from '../../common/timing.js';
import { Coordinator, type CoordinatorConfig } from '../../coordinator/coordinator.js';
import type { Endpoint } from '../../protocol/index.js';
import { SimulatedClock, SimulatedMember, SimulatedNetwork } from './simulated-network.js';

const HEARTBEAT_MS = 100;
const NODE_TIMEOUT_MS = 400;
const ELECTION_TIMEOUT_MS = 300;
const SOLITUDE_MS = 1000;
const IDS = [1, 2, 3];
const coordinatorAt = (id: number): Endpoint => ({ ip: `198.18.1.${id}`, port: 7400 });

function config(id: number, overrides: Partial<CoordinatorConfig>): CoordinatorConfig {
  return {
    listen: coordinatorAt(id),
    advertise: coordinatorAt(id).ip,
    key: null,
    mode: 'flow',
    snaplen: 128,
    heartbeatIntervalMs: HEARTBEAT_MS,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
    topologyIntervalMs: 1000,
    epochIntervalMs: 0,
    validityDelayMs: 50,
    announceIntervalMs: 0,
    coordinatorId: id,
    peers: IDS.filter((p) => p !== id).map((p) => ({ id: p, endpoint: coordinatorAt(p) })),
    syncIntervalMs: 100,
    electionTimeoutMs: ELECTION_TIMEOUT_MS,
    solitudeMs: SOLITUDE_MS,
    ...overrides,
  };
}

function cluster(overrides: Partial<CoordinatorConfig> = {}, nodeIds = [11, 12, 13], randomSeed = 7) {
  const clock = new SimulatedClock();
  let seed = randomSeed;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const net = new SimulatedNetwork(clock);
  const coordinators = new Map<number, Coordinator>();
  for (const id of IDS) {
    let coordinator: Coordinator | undefined;
    const transport = net.attach(coordinatorAt(id), (view, from) => coordinator!.receive(view, from));
    coordinator = new Coordinator(config(id, overrides), { clock, transport, random });
    coordinator.start();
    coordinators.set(id, coordinator);
  }
  const members = nodeIds.map(
    (nodeId, i) =>
      new SimulatedMember(
        net,
        nodeId,
        { ip: `198.18.2.${i + 1}`, port: 5000 },
        IDS.map(coordinatorAt),
        HEARTBEAT_MS,
      ),
  );
  const actives = () =>
    [...coordinators.values()].filter((c) => c.active && !net.down.has(c.config.advertise));
  /** Advances in 10 ms steps until `condition` holds (or `limitMs` passed); the time it took. */
  const until = (condition: () => boolean, limitMs: number): number => {
    const from = clock.now();
    while (!condition() && clock.now() - from < limitMs) clock.advance(10);
    return clock.now() - from;
  };
  return { clock, net, coordinators, members, actives, until };
}

describe('coordinators with peers (simulated network)', () => {
  it('elect one active; the standbys follow its members and epoch by SYNC; every node gets its topology', () => {
    const { coordinators, members, actives, until } = cluster();
    until(() => members.every((m) => m.topologies.length > 0), 5000);
    expect(actives()).toHaveLength(1);
    const active = actives()[0]!;
    expect(members.every((m) => m.term === active.term && m.epoch === active.epoch)).toBe(true);
    expect(active.current!.nodeIds).toEqual([11, 12, 13]);
    for (const standby of [...coordinators.values()].filter((c) => c !== active)) {
      expect(standby.election.role).toBe('standby');
      expect(standby.election.leaderId).toBe(active.config.coordinatorId);
      expect(standby.term).toBe(active.term);
      expect(standby.epoch).toBe(active.epoch);
      expect(standby.membership.captureNodeIds()).toEqual([11, 12, 13]);
      expect(standby.counters.syncsApplied).toBeGreaterThan(0);
      expect(standby.peersHeardMs.get(active.config.coordinatorId)).toBeDefined();
    }
  });

  it('a standby takes over from a dead active with a higher term, keeps the epoch and owners, and every node follows it', () => {
    const { clock, net, members, actives, until } = cluster();
    until(() => members.every((m) => m.topologies.length > 0), 5000);
    const old = actives()[0]!;
    const before = { term: old.term, epoch: old.epoch };
    net.down.add(old.config.advertise);
    void old.stop();
    const diedAt = clock.now();
    const took = until(() => actives().length === 1, 10_000);
    expect(actives()).toHaveLength(1);
    // A standby stands after 1-2 election timeouts of silence, then pre-vote and vote.
    expect(took).toBeLessThanOrEqual(2 * ELECTION_TIMEOUT_MS + 200);
    const next = actives()[0]!;
    expect(next.term).toBeGreaterThan(before.term);
    expect(next.counters.failovers).toBe(1);
    expect(next.current).toMatchObject({ epoch: before.epoch, nodeIds: [11, 12, 13] });
    until(() => members.every((m) => m.term === next.term), 2000);
    for (const m of members) {
      const first = m.topologies.find((t) => t.term === next.term)!;
      expect(first.epoch).toBe(before.epoch); // the same topology under the new term
      expect(first.atMs - diedAt).toBeLessThan(10_000);
    }
  });

  it('at --timing fast a standby is active within a second of the death of the active, in one round, and every node gets its topology at once', () => {
    const fast = deriveTiming('fast');
    for (let seed = 1; seed <= 20; seed++) {
      const { clock, net, members, actives, until } = cluster(fast, [11, 12, 13], seed);
      until(() => members.every((m) => m.topologies.length > 0), 5000);
      clock.advance(500 + seed * 7); // the death falls anywhere between two SYNCs
      const old = actives()[0]!;
      const oldRound = Math.floor(old.term / 256);
      net.down.add(old.config.advertise);
      void old.stop();
      const diedAt = clock.now();
      until(() => actives().length === 1, 5000);
      const next = actives()[0]!;
      const activeAt = clock.now();
      expect(activeAt - diedAt, `seed ${seed}`).toBeLessThan(1000);
      // One round: pre-vote and vote for the round after the old one, never a second try.
      expect(Math.floor(next.term / 256), `seed ${seed}`).toBe(oldRound + 1);
      until(() => members.every((m) => m.term === next.term), 1000);
      for (const m of members) {
        const first = m.topologies.find((t) => t.term === next.term)!;
        expect(first.atMs - activeAt, `seed ${seed}`).toBeLessThanOrEqual(20);
      }
    }
  });

  it('a coordinator cut off from everything does not make itself active on heartbeats it heard before (solitude witnesses)', () => {
    // Found in the lab (management link down): the heartbeats it heard before the cut are
    // younger than a node timeout (here, as by default, longer than the solitude timeout).
    const { clock, net, coordinators, members, actives, until } = cluster({ nodeTimeoutMs: 4 * SOLITUDE_MS });
    until(() => members.every((m) => m.topologies.length > 0), 5000);
    const active = actives()[0]!;
    const lonely = [...coordinators.values()].find((c) => c !== active)!;
    const termBefore = lonely.term;
    // Its management link goes down: no peer and no member reaches it any more.
    for (const c of coordinators.values())
      if (c !== lonely) net.cut(lonely.config.advertise, c.config.advertise);
    for (const m of members) net.cut(lonely.config.advertise, m.at.ip);
    for (let t = 0; t < 3 * SOLITUDE_MS; t += 10) {
      clock.advance(10);
      expect(lonely.active).toBe(false);
    }
    expect(lonely.term).toBe(termBefore); // the pre-vote found no majority: its term stayed
    net.heal();
    clock.advance(2000);
    expect(actives()).toEqual([active]);
    expect(members.every((m) => m.term === active.term)).toBe(true);
  });

  /** Kills the active, waits for its successor, kills that one too: the last coordinator standing. */
  function lastOfThree(c: ReturnType<typeof cluster>): Coordinator {
    c.until(() => c.members.every((m) => m.topologies.length > 0), 5000);
    const killActive = (): Coordinator => {
      const active = c.actives()[0]!;
      c.net.down.add(active.config.advertise);
      void active.stop();
      return active;
    };
    const first = killActive();
    c.until(() => c.actives().length === 1, 5000);
    const second = killActive();
    return [...c.coordinators.values()].find((x) => x !== first && x !== second)!;
  }

  it('the last of three steers when the capture nodes witness it (solitude rule)', () => {
    const c = cluster();
    const last = lastOfThree(c);
    // No majority of coordinators: only the witnesses after the solitude timeout make it active.
    const took = c.until(() => last.active, 10_000);
    expect(last.active).toBe(true);
    expect(took).toBeGreaterThanOrEqual(SOLITUDE_MS);
    c.until(() => c.members.every((m) => m.term === last.term), 2000);
    expect(c.members.every((m) => m.term === last.term)).toBe(true);
  });

  it('without witnesses the last of three waits', () => {
    const c = cluster();
    const last = lastOfThree(c);
    for (const m of c.members) m.stop(); // the capture nodes are gone too
    c.clock.advance(5 * SOLITUDE_MS);
    expect(last.active).toBe(false);
  });

  it('an active that learns a higher term from a member heartbeat steps down', () => {
    const { clock, coordinators, members, actives, until } = cluster();
    until(() => members.every((m) => m.topologies.length > 0), 5000);
    const active = actives()[0]!;
    members[0]!.term = active.term + 256; // the member has seen an active we do not know
    clock.advance(HEARTBEAT_MS + 10);
    expect(active.active).toBe(false);
    expect(active.events.list().some((e) => e.kind === 'role' && /stepping down/.test(e.text))).toBe(true);
    expect([...coordinators.values()].every((c) => c.term >= active.term)).toBe(true);
  });
});
