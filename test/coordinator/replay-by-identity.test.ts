// Issue 11 case 4: replay protection is bound to the sender's identity (NODE_ID, COORDINATOR_ID),
// not to its source port. Sniffed messages replayed from other ports change nothing: a
// HEARTBEAT does not move a member's control endpoint, a dead agent's LEAVE does not remove it
// once it is back, and one TOPOLOGY_UPDATE replayed from 500 ports does not make an agent
// follow (or heartbeat to) anyone new.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlChannel } from '../../common/control-channel.js';
import { CoordinatorLink } from '../../common/coordinator-link.js';
import { startCoordinator } from '../../coordinator/runtime.js';
import {
  heartbeat,
  join,
  leave,
  topologyUpdate,
  type ControlBody,
  type Endpoint,
} from '../../protocol/index.js';
import { fastCoordinatorConfig, TEST_CLUSTER_KEY } from '../helpers/coordinator-config.js';
import { freePort } from '../helpers/free-port.js';

const open: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

const until = async (what: string, condition: () => boolean, timeoutMs = 4000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};
const settle = () => new Promise((r) => setTimeout(r, 150));

/** Sends bytes from a fresh UDP port each time: the attacker's replays. */
async function replayFrom(ports: number, bytes: Buffer, to: Endpoint): Promise<void> {
  const sockets = await Promise.all(
    Array.from({ length: ports }, async () => {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
      return socket;
    }),
  );
  // In small groups, so that the receiver (in this process) drains its socket buffer meanwhile.
  for (let i = 0; i < sockets.length; i += 20) {
    await Promise.all(
      sockets.slice(i, i + 20).map((s) => new Promise((r) => s.send(bytes, to.port, to.ip, r))),
    );
    await new Promise((r) => setTimeout(r, 5));
  }
  for (const s of sockets) s.close();
}

async function activeCoordinator(): Promise<{
  coordinator: Awaited<ReturnType<typeof startCoordinator>>;
  at: Endpoint;
}> {
  const port = await freePort('udp');
  const coordinator = await startCoordinator(fastCoordinatorConfig(port));
  open.push(() => coordinator.stop());
  await until('the coordinator is active', () => coordinator.active);
  return { coordinator, at: { ip: '127.0.0.1', port } };
}

/** A control channel with the cluster key, on `bind` (any loopback port by default). */
async function member(bind: Endpoint = { ip: '127.0.0.1', port: 0 }): Promise<ControlChannel> {
  const channel = await ControlChannel.open({ bind, key: TEST_CLUSTER_KEY });
  open.push(() => channel.close());
  return channel;
}

/** Capture node 11's link to the coordinators it is configured with. */
async function node11Link(coordinators: Endpoint[]): Promise<CoordinatorLink> {
  const link = await CoordinatorLink.start({
    nodeId: 11,
    role: 'capture',
    coordinators,
    key: TEST_CLUSTER_KEY,
    heartbeatIntervalMs: 100,
    bindIp: '127.0.0.1',
    appliedEpoch: () => 0,
  });
  open.push(() => link.stop());
  return link;
}

/** A flow topology of node 11 alone, valid now; the sender named by `from` unless left out. */
function topologyOfNode11(
  term: number,
  epoch: number,
  from?: { coordinatorId: number; coordinator: Endpoint },
): ControlBody {
  return topologyUpdate({
    term,
    epoch,
    selection: 'flow',
    validityStartMs: Date.now(),
    nodeIds: [11],
    analyzers: [],
    k0: 1,
    k1: 2,
    snaplen: 128,
    ...from,
  });
}

describe('the coordinator keys replay state by NODE_ID', () => {
  it('a HEARTBEAT replayed from another port does not move the control endpoint', async () => {
    const { coordinator, at } = await activeCoordinator();
    const agent = await member();
    agent.send(join({ nodeId: 11, role: 'capture' }), at);
    await until('node 11 joined', () => coordinator.membership.get(11) !== undefined);
    const sniffed = agent.encode(heartbeat({ nodeId: 11, epoch: 0 }));
    agent.sendEncoded(sniffed, at);
    await settle();
    await replayFrom(3, sniffed, at);
    await settle();
    expect(coordinator.membership.get(11)!.control).toEqual(agent.address);
    expect(coordinator.channel.rejected.REPLAYED).toBe(3);
  });

  it("a dead agent's LEAVE replayed after it came back does not remove it", async () => {
    const { coordinator, at } = await activeCoordinator();
    const first = await member();
    first.send(join({ nodeId: 22, role: 'capture' }), at);
    await until('node 22 joined', () => coordinator.membership.get(22) !== undefined);
    const sniffedLeave = first.encode(leave({ nodeId: 22 }));
    first.sendEncoded(sniffedLeave, at);
    await until('node 22 left', () => coordinator.membership.get(22) === undefined);
    // The agent restarts (a new process, a new port) and joins again.
    const second = await member();
    second.send(join({ nodeId: 22, role: 'capture' }), at);
    await until('node 22 is back', () => coordinator.membership.get(22) !== undefined);
    await replayFrom(1, sniffedLeave, at);
    await settle();
    expect(coordinator.membership.get(22)).toBeDefined();
    expect(coordinator.counters.leaves).toBe(1);
  });
});

describe('a member keys replay state by COORDINATOR_ID and learns coordinators only from content', () => {
  it('one TOPOLOGY_UPDATE replayed from 500 ports is taken once; nobody new is followed or heartbeated', async () => {
    const coordinatorPort = await freePort('udp');
    const coordinatorAt = { ip: '127.0.0.1', port: coordinatorPort };
    const coordinator = await member(coordinatorAt);
    const link = await node11Link([coordinatorAt]);
    let topologies = 0;
    link.on('topology', () => topologies++);
    let heartbeats = 0;
    coordinator.on('message', (view) => view.type === 'HEARTBEAT' && heartbeats++);
    const sniffed = coordinator.encode(
      topologyOfNode11(257, 2, { coordinatorId: 1, coordinator: coordinatorAt }),
    );
    await replayFrom(500, sniffed, link.channel.address);
    await until(
      'the replays arrived',
      () => link.channel.received + (link.channel.rejected.REPLAYED ?? 0) >= 500,
    );
    expect(topologies).toBe(1);
    expect(link.channel.rejected.REPLAYED).toBe(499);
    expect([...link.known.keys()]).toEqual([`127.0.0.1:${coordinatorPort}`]);
    expect(link.coordinator).toEqual(coordinatorAt);
    // Heartbeats keep their pace: one per interval to the one coordinator, not one per replay.
    heartbeats = 0;
    await new Promise((r) => setTimeout(r, 500));
    expect(heartbeats).toBeLessThanOrEqual(7);
  });

  it('a message from an unknown coordinator naming itself at a new address is followed there, not at its source', async () => {
    const real = await member();
    const named = { ip: '127.0.0.1', port: await freePort('udp') };
    const link = await node11Link([]);
    real.send(topologyOfNode11(513, 3, { coordinatorId: 2, coordinator: named }), link.channel.address);
    await until('the topology arrived', () => link.channel.received === 1);
    expect(link.coordinator).toEqual(named);
    expect([...link.known.keys()]).toEqual([`127.0.0.1:${named.port}`]);
  });

  it('a coordinator message without COORDINATOR_ID is refused as NO_SENDER_ID', async () => {
    const anonymous = await member();
    const link = await node11Link([anonymous.address]);
    anonymous.send(topologyOfNode11(1, 2), link.channel.address);
    await until('refused', () => link.channel.rejected.NO_SENDER_ID === 1);
    expect(link.channel.received).toBe(0);
  });
});
