// A member learns the cluster's heartbeat interval from the coordinator's ACCEPT
// (protocol/SPEC.md §6.11), over real UDP on loopback.
import { afterEach, describe, expect, it } from 'vitest';
import { ControlChannel } from '../../common/control-channel.js';
import { CoordinatorLink } from '../../common/coordinator-link.js';
import { accept, type ControlView } from '../../protocol/index.js';

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const open: Array<{ stop?: () => Promise<void>; close?: () => Promise<void> }> = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await (thing.stop ?? thing.close)!.call(thing);
});

/** A coordinator that accepts every JOIN, telling `heartbeatIntervalMs`, and records heartbeats. */
async function fakeCoordinator(heartbeatIntervalMs: number) {
  const channel = await ControlChannel.open({ bind: { ip: '127.0.0.1', port: 0 }, key: KEY });
  open.push(channel);
  const heartbeats: number[] = [];
  channel.on('message', (view: ControlView, from) => {
    if (view.type === 'JOIN')
      channel.send(
        accept({
          nodeId: view.nodeId,
          term: 257,
          coordinator: channel.address,
          selection: 'flow',
          analyzers: [],
          heartbeatIntervalMs,
          coordinatorId: 1,
        }),
        from,
      );
    if (view.type === 'HEARTBEAT') heartbeats.push(Date.now());
  });
  return { at: channel.address, heartbeats };
}

async function link(coordinator: { ip: string; port: number }, heartbeatIntervalMs: number) {
  const l = await CoordinatorLink.start({
    nodeId: 11,
    role: 'capture',
    coordinators: [coordinator],
    key: KEY,
    heartbeatIntervalMs,
    bindIp: '127.0.0.1',
    appliedEpoch: () => 0,
  });
  open.push(l);
  return l;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a member's link to the coordinators", () => {
  it("heartbeats at the interval the coordinator's ACCEPT tells, not its own", async () => {
    const coordinator = await fakeCoordinator(50);
    const l = await link(coordinator.at, 5000);
    const told: number[] = [];
    l.on('timing', (ms) => told.push(ms));
    let beats = 0;
    l.on('heartbeat', () => beats++);
    await sleep(600);
    expect(told).toEqual([50]);
    expect(l.heartbeatIntervalMs).toBe(50);
    // About 11 in 600 ms at 50 ms; with its own 5 s interval there would be none.
    expect(coordinator.heartbeats.length).toBeGreaterThanOrEqual(5);
    expect(beats).toBeGreaterThanOrEqual(coordinator.heartbeats.length);
  });

  it('ignores an interval outside 50..600000 ms', async () => {
    const coordinator = await fakeCoordinator(10);
    const l = await link(coordinator.at, 5000);
    await sleep(300);
    expect(l.accepted).toBe(true);
    expect(l.heartbeatIntervalMs).toBe(5000);
    expect(coordinator.heartbeats).toEqual([]);
  });
});
