// Issue 11 cases 5 and 6 on a simulated clock (no sockets): epoch and term arithmetic that
// cannot overflow u32, a bounded membership with counted refusals, topology distribution
// encoded once and spread over turns, and no report state for IDs that never joined.
import { describe, expect, it } from 'vitest';
import type { ControlTransport } from '../../common/control-channel.js';
import { Coordinator, type CoordinatorConfig } from '../../coordinator/coordinator.js';
import { Election, nextTerm } from '../../coordinator/election.js';
import { COORDINATOR_OPTIONS } from '../../coordinator/options.js';
import { parseOptions } from '../../common/options.js';
import {
  EPOCH_TERM_CEILING,
  MAX_SYNC_MEMBERS,
  MessageType,
  analyzerReport,
  encodeControlMessage,
  heartbeat,
  ipidHistogram,
  join,
  readControlMessage,
  sync,
  verifyControlMessage,
  type ControlBody,
  type ControlView,
  type Endpoint,
} from '../../protocol/index.js';
import { SimulatedClock } from './simulated-network.js';
import { fastCoordinatorConfig } from '../helpers/coordinator-config.js';

const HEARTBEAT_MS = 100;

/** A transport that records what the coordinator encodes and sends. */
function recordingTransport(clock: SimulatedClock) {
  let seq = 0;
  const encoded: number[] = []; // message types, one per encode
  const sends: Array<{ type: number; to: Endpoint }> = [];
  const transport: ControlTransport = {
    received: 0,
    sent: 0,
    rejected: {},
    encode: (body: ControlBody) => {
      encoded.push(body.type);
      return encodeControlMessage(
        { ...body, timestamp: Math.floor(clock.now() / 1000), senderSeq: ++seq },
        null,
      );
    },
    sendEncoded: (bytes: Buffer, to: Endpoint) => {
      transport.sent++;
      sends.push({ type: bytes[3]!, to });
    },
    send: (body: ControlBody, to: Endpoint) => {
      transport.sendEncoded(transport.encode(body), to);
      return true;
    },
    close: async () => undefined,
  };
  return { transport, encoded, sends };
}

function loneCoordinator(overrides: Partial<CoordinatorConfig> = {}) {
  const clock = new SimulatedClock();
  const { transport, encoded, sends } = recordingTransport(clock);
  const coordinator = new Coordinator(
    fastCoordinatorConfig(7400, {
      listen: { ip: '198.18.1.1', port: 7400 },
      advertise: '198.18.1.1',
      key: null,
      heartbeatIntervalMs: HEARTBEAT_MS,
      nodeTimeoutMs: 60_000,
      topologyIntervalMs: 60_000,
      ...overrides,
    }),
    { clock, transport },
  );
  coordinator.start();
  clock.advance(HEARTBEAT_MS + 600);
  expect(coordinator.active).toBe(true);
  return { clock, coordinator, encoded, sends };
}

/** What a member sends, as the coordinator receives it (authenticated, decoded). */
function view(body: ControlBody): ControlView {
  const decoded = verifyControlMessage(
    encodeControlMessage({ ...body, timestamp: 0, senderSeq: 1 }, null),
    null,
  );
  if (!decoded.ok) throw new Error(decoded.error.reason);
  return readControlMessage(decoded.message);
}
const memberAt = (nodeId: number): Endpoint => ({ ip: '198.18.2.1', port: 1024 + nodeId });
const joinOf = (nodeId: number) => view(join({ nodeId, role: 'capture' }));

describe('epoch and term arithmetic never overflows u32 (SPEC §6.7)', () => {
  it('a HEARTBEAT with EPOCH and SEEN_TERM 0xFFFFFFFF is counted; the next epoch and the term stay in range', () => {
    const { clock, coordinator } = loneCoordinator();
    coordinator.receive(joinOf(11), memberAt(11));
    clock.advance(100);
    expect(coordinator.epoch).toBe(2);
    const term = coordinator.term;
    coordinator.receive(view(heartbeat({ nodeId: 11, epoch: 0xffffffff, term: 0xffffffff })), memberAt(11));
    coordinator.receive(joinOf(12), memberAt(12));
    clock.advance(100); // before the fix: RangeError "cannot encode AVP code 17 value 4294967296" here
    expect(coordinator.epoch).toBe(3);
    expect(coordinator.term).toBe(term);
    expect(coordinator.active).toBe(true);
    expect(coordinator.counters.reservedValuesIgnored).toBe(1);
    expect(coordinator.membership.get(11)).toBeDefined();
  });

  it('at the top of the epoch space no new epoch is issued, with one anomaly event, and nothing throws', () => {
    const { clock, coordinator } = loneCoordinator();
    coordinator.receive(joinOf(11), memberAt(11));
    clock.advance(100);
    coordinator.epoch = EPOCH_TERM_CEILING - 1;
    coordinator.receive(joinOf(12), memberAt(12));
    coordinator.receive(joinOf(13), memberAt(13));
    clock.advance(100);
    coordinator.issueTopology('test');
    expect(coordinator.epoch).toBe(EPOCH_TERM_CEILING - 1);
    expect(coordinator.counters.epochsRefused).toBe(2);
    expect(coordinator.events.list().filter((e) => /would enter the reserve/.test(e.text))).toHaveLength(1);
  });

  it('the election takes no term in the reserve and stands for none', () => {
    const election = new Election(
      { selfId: 1, peerIds: [], electionTimeoutMs: 300, firstWaitMs: 10, solitudeMs: 1000 },
      0,
    );
    expect(election.observeTerm(0xffffffff, 0)).toBeUndefined();
    expect(election.term).toBe(0);
    // The next round above the highest term heard would enter the reserve: no candidacy.
    expect(nextTerm(EPOCH_TERM_CEILING - 1, 1)).toBeGreaterThanOrEqual(EPOCH_TERM_CEILING);
    expect(election.tick(100, EPOCH_TERM_CEILING - 1, false)).toBeUndefined();
    expect(election.role).toBe('standby');
  });

  it('the membership limit keeps every SYNC and TOPOLOGY_UPDATE within the 8192 AVPs', () => {
    const members = Array.from({ length: MAX_SYNC_MEMBERS }, (_, i) => ({
      nodeId: i + 1,
      role: 'capture' as const,
      endpoint: memberAt(i + 1),
    }));
    const full = { term: 257, epoch: 9, members, coordinatorId: 1, dashboard: memberAt(0) };
    expect(() => encodeControlMessage({ ...sync(full), timestamp: 0, senderSeq: 1 }, null)).not.toThrow();
    expect(() =>
      encodeControlMessage(
        {
          ...sync({ ...full, members: [...members, { ...members[0]!, nodeId: 0 }] }),
          timestamp: 0,
          senderSeq: 1,
        },
        null,
      ),
    ).toThrow(RangeError);
    expect(() =>
      parseOptions(COORDINATOR_OPTIONS, ['--max-members', String(MAX_SYNC_MEMBERS + 1)], {}),
    ).toThrow(/--max-members/);
    const { clock, coordinator, sends } = loneCoordinator({ maxMembers: MAX_SYNC_MEMBERS });
    for (let id = 1; id <= MAX_SYNC_MEMBERS; id++) coordinator.receive(joinOf(id), memberAt(id));
    clock.advance(100);
    expect(coordinator.current!.nodeIds).toHaveLength(MAX_SYNC_MEMBERS);
    expect(sends.filter((s) => s.type === MessageType.TOPOLOGY_UPDATE)).toHaveLength(MAX_SYNC_MEMBERS);
  });
});

describe('a bounded membership and topology distribution linear in it', () => {
  it('10,000 JOINs: --max-members are admitted, the rest refused and counted, the events not flooded', () => {
    const { clock, coordinator } = loneCoordinator({ maxMembers: 1024 });
    for (let id = 1; id <= 10_000; id++) coordinator.receive(joinOf(id), memberAt(id % 60000));
    clock.advance(100);
    expect(coordinator.membership.size).toBe(1024);
    expect(coordinator.counters.joinsRefused).toBe(10_000 - 1024);
    expect(coordinator.current!.nodeIds).toHaveLength(1024);
    expect(
      coordinator.events.list().filter((e) => /membership is full/.test(e.text)).length,
    ).toBeLessThanOrEqual(9);
    // A member already known is never refused (its heartbeats go on).
    coordinator.receive(view(heartbeat({ nodeId: 1, epoch: 2 })), memberAt(1));
    expect(coordinator.counters.joinsRefused).toBe(10_000 - 1024);
  });

  it('encodes each topology once and sends the same bytes to every member, a slice per turn', () => {
    const { clock, coordinator, encoded, sends } = loneCoordinator({ maxMembers: 2000 });
    for (let id = 1; id <= 1000; id++) coordinator.receive(joinOf(id), memberAt(id));
    encoded.length = 0;
    sends.length = 0;
    clock.advance(50); // the coalesced topology: the first slice now …
    const topologySends = () => sends.filter((s) => s.type === MessageType.TOPOLOGY_UPDATE).length;
    expect(topologySends()).toBeGreaterThan(0);
    expect(topologySends()).toBeLessThan(1000);
    clock.advance(20); // … the rest on the following turns
    expect(topologySends()).toBe(1000);
    expect(encoded.filter((t) => t === MessageType.TOPOLOGY_UPDATE)).toHaveLength(1);
    expect(
      new Set(sends.filter((s) => s.type === MessageType.TOPOLOGY_UPDATE).map((s) => s.to.port)).size,
    ).toBe(1000);
  });

  it('keeps no reports from IDs that never joined', () => {
    const { coordinator } = loneCoordinator();
    coordinator.receive(joinOf(11), memberAt(11));
    const bins = Array.from({ length: 256 }, () => 1);
    coordinator.receive(view(ipidHistogram({ nodeId: 5000, frames: 256n, bins })), memberAt(5000));
    coordinator.receive(
      view(analyzerReport({ nodeId: 6000, sourceNodeId: 11, records: 1n, datagrams: 1n, lostDatagrams: 0n })),
      memberAt(6000),
    );
    coordinator.receive(view(ipidHistogram({ nodeId: 11, frames: 256n, bins })), memberAt(11));
    expect([...coordinator.reports.capture.keys()]).toEqual([11]);
    expect(coordinator.reports.analyzers.size).toBe(0);
    expect(coordinator.counters.reportsIgnored).toBe(2);
  });
});
