// The coordinator over real UDP on loopback, with members played by ControlChannels.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlChannel } from '../../common/control-channel.js';
import type { CoordinatorConfig } from '../../coordinator/coordinator.js';
import { createCoordinatorMetrics } from '../../coordinator/metrics.js';
import { startCoordinator } from '../../coordinator/runtime.js';
import { coordinatorStatus } from '../../coordinator/status.js';
import { fastCoordinatorConfig, TEST_CLUSTER_KEY } from '../helpers/coordinator-config.js';
import {
  encodeControlMessage,
  heartbeat,
  join,
  leave,
  ledger,
  type ControlView,
  type Endpoint,
} from '../../protocol/index.js';

let port = 17400 + (process.pid % 500);

/** A fresh port each time; members time out after 400 ms so the silence tests stay short. */
function config(overrides: Partial<CoordinatorConfig> = {}): CoordinatorConfig {
  port += 1;
  return fastCoordinatorConfig(port, { nodeTimeoutMs: 400, ...overrides });
}

class FakeMember {
  readonly received: ControlView[] = [];
  private heart: NodeJS.Timeout | undefined;
  private constructor(
    readonly channel: ControlChannel,
    readonly coordinator: Endpoint,
  ) {
    channel.on('message', (view) => this.received.push(view));
  }
  /** Heartbeats like an agent (every 50 ms) until stopHeartbeat(). */
  startHeartbeat(nodeId: number): void {
    this.heart = setInterval(
      () => this.send(heartbeat({ nodeId, epoch: this.topologies().at(-1)?.epoch ?? 0 })),
      50,
    );
  }
  stopHeartbeat(): void {
    clearInterval(this.heart);
  }
  async stop(): Promise<void> {
    this.stopHeartbeat();
    await this.channel.close();
  }
  static async open(coordinator: Endpoint, key = TEST_CLUSTER_KEY): Promise<FakeMember> {
    return new FakeMember(
      await ControlChannel.open({ bind: { ip: '127.0.0.1', port: 0 }, key }),
      coordinator,
    );
  }
  send(body: Parameters<ControlChannel['send']>[0]): void {
    this.channel.send(body, this.coordinator);
  }
  topologies(): Extract<ControlView, { type: 'TOPOLOGY_UPDATE' }>[] {
    return this.received.filter(
      (v): v is Extract<ControlView, { type: 'TOPOLOGY_UPDATE' }> => v.type === 'TOPOLOGY_UPDATE',
    );
  }
}

const until = async (condition: () => boolean, timeoutMs = 3000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

const open: Array<{ stop(): unknown }> = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.stop();
});

async function cluster(nodeIds: number[], overrides: Partial<CoordinatorConfig> = {}) {
  const coordinator = await startCoordinator(config(overrides));
  open.push(coordinator);
  const at = { ip: '127.0.0.1', port: coordinator.config.listen.port };
  const members = await Promise.all(nodeIds.map(() => FakeMember.open(at)));
  open.push(...members);
  members.forEach((m, i) => {
    m.send(join({ nodeId: nodeIds[i]!, role: 'capture' }));
    m.startHeartbeat(nodeIds[i]!);
  });
  return { coordinator, members, at };
}

describe('the coordinator', () => {
  it('accepts joins, then issues one topology with the nodes in ID order to every node', async () => {
    const { coordinator, members } = await cluster([33, 11, 22]);
    await until(() => members.every((m) => m.topologies().length > 0));
    expect(members.every((m) => m.received.some((v) => v.type === 'ACCEPT'))).toBe(true);
    const topology = members[0]!.topologies()[0]!;
    expect(topology).toMatchObject({ term: 257, epoch: 2, selection: 'flow', nodeIds: [11, 22, 33] }); // round 1, ID 1
    expect(topology.validityStartMs).toBeGreaterThan(Date.now() - 1000);
    expect(coordinator.counters.topologiesIssued).toBe(1);
  });

  it('sends the topology to analyzers too, which admit header batches only from its nodes', async () => {
    const { members, at } = await cluster([11, 22]);
    await until(() => members.every((m) => m.topologies().length > 0));
    const analyzer = await FakeMember.open(at);
    open.push(analyzer);
    analyzer.send(join({ nodeId: 100, role: 'analyzer', endpoint: { ip: '127.0.0.1', port: 9999 } }));
    await until(() => analyzer.topologies().length > 0);
    expect(analyzer.topologies().at(-1)).toMatchObject({
      nodeIds: [11, 22],
      analyzers: [{ ip: '127.0.0.1', port: 9999 }],
    });
  });

  it('removes a silent node after the timeout and issues a new epoch without it', async () => {
    const { coordinator, members } = await cluster([11, 12]);
    await until(() => coordinator.epoch === 2);
    members[1]!.stopHeartbeat(); // node 12 dies
    await until(() => coordinator.epoch === 3);
    expect(coordinator.current!.nodeIds).toEqual([11]);
    expect(coordinator.counters.timeouts).toBe(1);
    expect(coordinator.events.list().some((e) => e.kind === 'timeout' && /capture 12/.test(e.text))).toBe(
      true,
    );
  });

  it('re-topologises at once on LEAVE and tells the leaver too', async () => {
    const { coordinator, members } = await cluster([11, 12]);
    await until(() => coordinator.epoch === 2);
    members[1]!.stopHeartbeat();
    members[1]!.send(leave({ nodeId: 12 }));
    await until(() => members[1]!.topologies().some((t) => t.epoch === 3));
    expect(members[1]!.topologies().find((t) => t.epoch === 3)!.nodeIds).toEqual([11]);
  });

  it('takes a heartbeat from an unknown node as a join (a restarted coordinator rebuilds its membership)', async () => {
    const { coordinator, members } = await cluster([11]);
    await until(() => coordinator.epoch === 2);
    const beat = setInterval(
      () => members[0]!.send(heartbeat({ nodeId: 77, epoch: 2, role: 'capture', term: 257 })),
      50,
    );
    open.push({ stop: () => clearInterval(beat) });
    await until(() => coordinator.epoch === 3);
    expect(coordinator.current!.nodeIds).toEqual([11, 77]);
  });

  it('keeps each capture node’s selection stage from its JOIN and HEARTBEAT, in /status and /metrics', async () => {
    const coordinator = await startCoordinator(config());
    open.push(coordinator);
    const member = await FakeMember.open({ ip: '127.0.0.1', port: coordinator.config.listen.port });
    open.push(member);
    const stageOf = (nodeId: number) =>
      coordinatorStatus(coordinator).members.find((m) => m.nodeId === nodeId)?.selection;
    member.send(join({ nodeId: 11, role: 'capture', selection: { stage: 'xdp-native', reason: 'auto' } }));
    // Node 12's JOIN was lost (or went to another coordinator): its heartbeats say it too.
    member.send(heartbeat({ nodeId: 12, epoch: 0, selection: { stage: 'user', reason: 'auto-no-kernel' } }));
    member.send(heartbeat({ nodeId: 13, epoch: 0 })); // an agent that does not say
    await until(() => coordinator.membership.size === 3);
    expect(stageOf(11)).toEqual({ stage: 'xdp-native', reason: 'auto' });
    expect(stageOf(12)).toEqual({ stage: 'user', reason: 'auto-no-kernel' });
    expect(stageOf(13)).toBeUndefined();
    const gauge = async () =>
      (await createCoordinatorMetrics(coordinator).metrics())
        .split('\n')
        .filter((l) => l.startsWith('dicap_coordinator_capture_nodes_by_stage{'));
    expect(await gauge()).toEqual([
      'dicap_coordinator_capture_nodes_by_stage{stage="xdp-native"} 1',
      'dicap_coordinator_capture_nodes_by_stage{stage="xdp-generic"} 0',
      'dicap_coordinator_capture_nodes_by_stage{stage="socket"} 0',
      'dicap_coordinator_capture_nodes_by_stage{stage="user"} 1',
      'dicap_coordinator_capture_nodes_by_stage{stage="unknown"} 1',
    ]);
    // Node 11 restarted and selects elsewhere now; a heartbeat without the AVPs changes nothing.
    member.send(heartbeat({ nodeId: 11, epoch: 0, selection: { stage: 'socket', reason: 'auto-no-xdp' } }));
    member.send(heartbeat({ nodeId: 12, epoch: 0 }));
    await until(() => stageOf(11)?.stage === 'socket');
    expect(stageOf(12)).toEqual({ stage: 'user', reason: 'auto-no-kernel' });
    // The fallback is an event; the join and the heartbeats that repeat a stage are not.
    expect(
      coordinator.events
        .list()
        .filter((e) => e.kind === 'selection')
        .map((e) => e.text),
    ).toEqual(['capture 11 now selects in socket (auto-no-xdp), before in xdp-native (auto)']);
  });

  it('starts above the term and epoch its members report', async () => {
    const coordinator = await startCoordinator(config({ heartbeatIntervalMs: 300 }));
    open.push(coordinator);
    const member = await FakeMember.open({ ip: '127.0.0.1', port: coordinator.config.listen.port });
    open.push(member);
    const beat = setInterval(
      () => member.send(heartbeat({ nodeId: 5, epoch: 40, role: 'capture', term: 600 })),
      50,
    );
    open.push({ stop: () => clearInterval(beat) });
    await until(() => member.topologies().length > 0);
    expect(member.topologies()[0]).toMatchObject({ term: 3 * 256 + 1, epoch: 41, nodeIds: [5] }); // the round after 600's
  });

  it('judges an epoch from the ledger reports once the next one has settled', async () => {
    const { coordinator, members } = await cluster([11, 12]);
    await until(() => coordinator.epoch === 2);
    members[0]!.send(ledger({ nodeId: 11, epoch: 2, seen: 100n, owned: 40n, exported: 40n, dropped: 0n }));
    members[1]!.send(ledger({ nodeId: 12, epoch: 2, seen: 100n, owned: 60n, exported: 60n, dropped: 0n }));
    await until(() => coordinator.counters.ledgerReports === 2);
    coordinator.issueTopology('test');
    await until(() => coordinator.ledger.latestVerdict() !== undefined);
    expect(coordinator.ledger.latestVerdict()).toMatchObject({
      epoch: 2,
      status: 'exactly-once',
      frames: 100,
    });
  });

  it('rejects forged, replayed, stale and random datagrams by reason, and none changes any state', async () => {
    const { coordinator, at } = await cluster([11]);
    await until(() => coordinator.epoch === 2);
    const before = { epoch: coordinator.epoch, members: coordinator.membership.captureNodeIds() };
    const raw = dgram.createSocket('udp4');
    const sendRaw = (bytes: Buffer) => new Promise((resolve) => raw.send(bytes, at.port, at.ip, resolve));
    try {
      const now = Math.floor(Date.now() / 1000);
      const joinOf = (nodeId: number, timestamp: number, seq: number, key: Buffer) =>
        encodeControlMessage({ ...join({ nodeId, role: 'capture' }), timestamp, senderSeq: seq }, key);
      await sendRaw(joinOf(90, now, 1, Buffer.alloc(16, 9))); // forged: wrong key
      await sendRaw(joinOf(91, now - 120, 1, TEST_CLUSTER_KEY)); // stale
      const once = joinOf(92, now, 5, TEST_CLUSTER_KEY);
      await sendRaw(once);
      await sendRaw(once); // replayed
      for (let i = 0; i < 50; i++)
        await sendRaw(Buffer.from(Array.from({ length: (i * 7) % 90 }, (_, j) => (i * 31 + j * 17) & 0xff)));
      await until(() => Object.values(coordinator.channel.rejected).reduce((a, b) => a + b, 0) >= 53);
      expect(coordinator.channel.rejected).toMatchObject({ BAD_HMAC: 1, STALE: 1, REPLAYED: 1 });
      // The one authentic join was taken, once; nothing else joined or changed the epoch.
      const joins = coordinator.events
        .list()
        .filter((e) => e.kind === 'join')
        .map((e) => e.text.split(' ')[1]);
      expect(joins).toEqual([...before.members.map(String), '92']);
      expect(coordinator.counters.joins).toBe(before.members.length + 1);
    } finally {
      raw.close();
    }
  });
});
