// The coordinator at 10, 100 and 1,000 members (issue 14): a real `dicap coordinator` process
// and that many simulated members in this process, each a real CoordinatorLink with its own
// UDP socket on loopback speaking the real protocol (JOIN, ACCEPT, HEARTBEAT, TOPOLOGY_UPDATE,
// LEAVE, all authenticated). No namespaces, no root. Per size it measures:
//   - the coordinator's CPU per member while members only heartbeat, and its memory per member;
//   - membership changes (a member joins, a member leaves): the time until every member holds
//     the new epoch, until it is in force everywhere (its validity start passed, or the last
//     arrival when later), and what the coordinator says one change cost it on /metrics
//     (dicap_coordinator_topology_change_cpu_seconds: CPU of building, encoding and sending
//     it to every member; ..._sent_seconds: from the change until the last copy was sent).
import fs from 'node:fs';
import { CoordinatorLink } from '../common/coordinator-link.js';
import { deriveTiming } from '../common/timing.js';
import { startDicap, type DicapProcess } from '../lab/dicap-command.js';
import { poll, sleep } from '../lab/poll.js';
import {
  encodeControlMessage,
  readControlMessage,
  topologyUpdate,
  verifyControlMessage,
  type Endpoint,
  type TopologyUpdateFields,
} from '../protocol/index.js';
import { processCpuSeconds } from './process-cpu.js';

export const SCALE_SIZES = [10, 100, 1000];
/** Membership changes per size (alternately a join and a leave). */
export const SCALE_CHANGES = 12;
/** Seconds of heartbeats only, for the CPU per member. */
const STEADY_S = 4;
/**
 * The fast profile's validity delay, with a 1 s heartbeat, a 30 s node timeout and resends
 * every 10 s: the change itself is what is measured, not a thousand members (all in this one
 * process, on two shared cores) heartbeating ten times a second and decoding resends.
 */
const TIMING = {
  ...deriveTiming('fast'),
  heartbeatIntervalMs: 1000,
  nodeTimeoutMs: 30_000,
  topologyIntervalMs: 10_000,
  epochIntervalMs: 0,
  announceIntervalMs: 0,
};
const PORT = 17_900 + (process.pid % 50);

export interface ScaleResult {
  members: number;
  cpuMsPerMemberPerS: number;
  rssKiBPerMember: number;
  /** Per change, the coordinator's own measure: ms from the change until its copy to the last member was sent. */
  sentMs: number[];
  /** Per change: ms until every member held the new epoch / had it in force. */
  deliveredMs: number[];
  inForceMs: number[];
  /** Per change, the coordinator's own measure: CPU ms of building, encoding and sending it. */
  cpuMsPerChange: number[];
  /** ms one member takes to authenticate and decode the TOPOLOGY_UPDATE of this many nodes (here, in JS). */
  memberDecodeMs: number;
}

/** What receiving one topology of `nodes` capture nodes costs a member: verify and read it, ms (best of 10 runs of 50, past the JIT's warm-up). */
function memberDecodeMs(nodes: number): number {
  const topology: TopologyUpdateFields = {
    term: 257,
    epoch: 5,
    selection: 'flow',
    validityStartMs: Date.now(),
    nodeIds: Array.from({ length: nodes }, (_, k) => 1000 + k),
    analyzers: [],
    k0: 1,
    k1: 2,
    snaplen: 128,
    coordinatorId: 1,
    coordinator: { ip: '127.0.0.1', port: PORT },
  };
  const bytes = encodeControlMessage(
    { ...topologyUpdate(topology), timestamp: Math.floor(Date.now() / 1000), senderSeq: 1 },
    null,
  );
  let best = Infinity;
  for (let run = 0; run < 10; run++) {
    const start = performance.now();
    for (let k = 0; k < 50; k++) {
      const verified = verifyControlMessage(bytes, null);
      if (!verified.ok)
        throw new Error(`a topology of ${nodes} nodes does not decode: ${verified.error.code}`);
      readControlMessage(verified.message);
    }
    best = Math.min(best, (performance.now() - start) / 50);
  }
  return best;
}

/** The coordinator's histograms of topology changes (coordinator/coordinator.ts), as sums and counts. */
interface ChangeTotals {
  changes: number;
  cpuSeconds: number;
  sentSeconds: number;
}

async function changeTotals(http: Endpoint): Promise<ChangeTotals> {
  const text = await (await fetch(`http://${http.ip}:${http.port}/metrics`)).text();
  const value = (name: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    if (line === undefined) throw new Error(`the coordinator's /metrics has no ${name}`);
    return Number(line.slice(name.length + 1));
  };
  return {
    changes: value('dicap_coordinator_topology_change_cpu_seconds_count'),
    cpuSeconds: value('dicap_coordinator_topology_change_cpu_seconds_sum'),
    sentSeconds: value('dicap_coordinator_topology_change_sent_seconds_sum'),
  };
}

interface Member {
  nodeId: number;
  link: CoordinatorLink;
  epochs: Map<number, { atMs: number; topology: TopologyUpdateFields }>;
}

function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

async function startMember(nodeId: number, coordinator: Endpoint): Promise<Member> {
  const link = await CoordinatorLink.start({
    nodeId,
    role: 'capture',
    coordinators: [coordinator],
    key: null,
    heartbeatIntervalMs: TIMING.heartbeatIntervalMs,
    bindIp: '127.0.0.1',
    appliedEpoch: () => Math.max(0, ...member.epochs.keys()),
  });
  const member: Member = { nodeId, link, epochs: new Map() };
  link.on('topology', (t) => {
    if (!member.epochs.has(t.epoch)) member.epochs.set(t.epoch, { atMs: Date.now(), topology: t });
  });
  return member;
}

/** Every member holds a topology of these nodes: when the last got it, and its validity start. */
async function allHold(
  members: readonly Member[],
  nodeCount: number,
  timeoutMs: number,
  detail: () => string,
) {
  return poll(
    `all ${members.length} members to hold a topology of ${nodeCount} nodes`,
    () => {
      let last = 0;
      let validity = 0;
      for (const m of members) {
        const held = [...m.epochs.values()].find((e) => e.topology.nodeIds.length === nodeCount);
        if (!held) return undefined;
        last = Math.max(last, held.atMs);
        validity = held.topology.validityStartMs;
      }
      return { last, validity };
    },
    timeoutMs,
    { intervalMs: 5, detail },
  );
}

async function measureSize(size: number): Promise<ScaleResult> {
  const coordinator: Endpoint = { ip: '127.0.0.1', port: PORT };
  const http = { ip: '127.0.0.1', port: PORT + 100 };
  const args = [
    'coordinator',
    '--insecure',
    '--listen',
    `${coordinator.ip}:${coordinator.port}`,
    '--http',
    `${http.ip}:${http.port}`,
  ];
  const timingArgs = Object.entries(TIMING).flatMap(([key, value]) => [
    `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    String(value),
  ]);
  const process_: DicapProcess = startDicap([...args, ...timingArgs, '--status-interval', '0']);
  const members: Member[] = [];
  try {
    await process_.waitForStderr(/listening on/);
    const pid = process_.child.pid!;
    await sleep(TIMING.heartbeatIntervalMs + 700); // a lone coordinator listens first
    const idleRss = rssKiB(pid);
    // All at once: their joins coalesce into few topologies.
    members.push(
      ...(await Promise.all(Array.from({ length: size }, (_, k) => startMember(1000 + k, coordinator)))),
    );
    await allHold(members, size, 60_000, () => process_.stderr().split('\n').slice(-6).join(' | '));
    await sleep(2 * TIMING.heartbeatIntervalMs);

    const cpu0 = processCpuSeconds(pid);
    const t0 = Date.now();
    await sleep(STEADY_S * 1000);
    const steadyCpuPerS = (processCpuSeconds(pid) - cpu0) / ((Date.now() - t0) / 1000);
    const rss = rssKiB(pid);

    const result: ScaleResult = {
      members: size,
      cpuMsPerMemberPerS: (1000 * steadyCpuPerS) / size,
      rssKiBPerMember: (rss - idleRss) / size,
      sentMs: [],
      deliveredMs: [],
      inForceMs: [],
      cpuMsPerChange: [],
      memberDecodeMs: memberDecodeMs(size + 1),
    };
    let extra: Member | undefined;
    for (let change = 0; change < SCALE_CHANGES; change++) {
      const before = await changeTotals(http);
      const at = Date.now();
      let holders: Member[];
      let nodeCount: number;
      if (extra === undefined) {
        extra = await startMember(999, coordinator); // joins
        holders = [...members, extra];
        nodeCount = size + 1;
      } else {
        extra.link.leave();
        holders = members;
        nodeCount = size;
      }
      const epochBefore = Math.max(...members[0]!.epochs.keys());
      const held = await poll(
        `change ${change} at ${size} members`,
        () => {
          let last = 0;
          let validity = 0;
          for (const m of holders) {
            const e = [...m.epochs.entries()].find(
              ([epoch, x]) => epoch > epochBefore && x.topology.nodeIds.length === nodeCount,
            )?.[1];
            if (!e) return undefined;
            last = Math.max(last, e.atMs);
            validity = e.topology.validityStartMs;
          }
          return { last, validity };
        },
        20_000,
        { intervalMs: 2, detail: () => process_.stderr().split('\n').slice(-6).join(' | ') },
      );
      result.deliveredMs.push(held.last - at);
      result.inForceMs.push(Math.max(held.last, held.validity) - at);
      // Every member holds it, so the coordinator has sent it to all: one change more (a join
      // and its coalesced neighbours are one).
      const after = await changeTotals(http);
      const changes = after.changes - before.changes;
      if (changes < 1)
        throw new Error(`change ${change} at ${size} members: the coordinator counted no topology change`);
      result.cpuMsPerChange.push((1000 * (after.cpuSeconds - before.cpuSeconds)) / changes);
      result.sentMs.push((1000 * (after.sentSeconds - before.sentSeconds)) / changes);
      await sleep(Math.max(0, held.validity - Date.now()) + 200);
      if (extra && holders === members) {
        await extra.link.stop();
        extra = undefined;
      }
      await sleep(300);
    }
    if (extra) await extra.link.stop();
    return result;
  } finally {
    await Promise.all(members.map((m) => m.link.stop()));
    process_.child.kill('SIGTERM');
    await process_.exited;
  }
}

/** Per size, the result or the one line saying why it could not be measured. */
export async function benchControlScale(
  onProgress: (line: string) => void,
): Promise<Array<ScaleResult | { members: number; failed: string }>> {
  const results: Array<ScaleResult | { members: number; failed: string }> = [];
  for (const size of SCALE_SIZES) {
    try {
      results.push(await measureSize(size));
      onProgress(`control scale: ${size} members measured`);
    } catch (error) {
      const failed = (error as Error).message.split(';')[0]!;
      results.push({ members: size, failed });
      onProgress(`control scale: ${size} members: ${failed}`);
    }
  }
  return results;
}
