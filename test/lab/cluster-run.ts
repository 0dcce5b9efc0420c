// Test helper: one run of a capture cluster in a lab — start it, (round-robin) synchronise
// it with an in-band frame, send traffic, wait until every frame on the wire has reached
// the agents, stop it — and the checks every exactly-once test makes on the result.
import { expect } from 'vitest';
import { startCluster, type Cluster, type ClusterOptions, type ClusterResult } from '../../lab/cluster.js';
import { coverageReport } from '../../lab/coverage.js';
import { framesAccounted } from '../../lab/coverage.js';
import { adoptInbandTopology, INBAND_SYNC_FRAMES } from '../../lab/inband.js';
import type { Lab } from '../../lab/lab.js';
import { passiveDelta } from '../../lab/report.js';
import { capturedBytes } from '../../lab/traffic-phases.js';
import { readCaptureFile } from '../../native/capture-file.js';
import { ownerPosition, RoundRobinOwner } from '../../protocol/index.js';
import { compareMultisets, frameMultiset } from '../helpers/frames.js';

export const KEY: readonly [number, number] = [0x1234, 0x5678];
/**
 * The agents' default, in every mode: the capture ring cuts frames at the snaplen but keeps
 * in-band topology frames whole (135 bytes for 3 nodes and an analyzer), so their MAC verifies.
 */
export const SNAPLEN = 128;

export type Mode = ClusterOptions['mode'];
export const MODES: readonly Mode[] = ['flow', 'ipid', 'round-robin'];

export interface ClusterRun {
  cluster: Cluster;
  /** Frames each passive interface received during the run (the in-band frame included). */
  wire: number[];
  final: ClusterResult;
  /** The in-band frame that reset the round-robin counters (round-robin only). */
  inband?: Buffer;
}

/** Starts a cluster, synchronises round-robin, runs `send`, waits for every frame to arrive, stops the cluster. */
export async function runCluster(
  lab: Lab,
  options: ClusterOptions,
  send: (cluster: Cluster) => Promise<void>,
): Promise<ClusterRun> {
  const cluster = await startCluster(lab, options);
  try {
    const before = await lab.passiveCounters();
    const inband =
      options.mode === 'round-robin' ? (await adoptInbandTopology(lab, cluster)).frame : undefined;
    await send(cluster);
    const wire = passiveDelta(before, await lab.settledPassiveCounters()).map((c) => c.rxPackets);
    expect(
      await cluster.waitForCapture(wire),
      `agents' frames ${cluster
        .counters()
        .agents.map((a) => a?.frames)
        .join(',')} for ${wire.join(',')} on the wire`,
    ).toBe(true);
    const final = await cluster.stop();
    return { cluster, wire, final, ...(inband ? { inband } : {}) };
  } finally {
    await cluster.stop().catch(() => {});
  }
}

/** The owner position of each frame, in wire order, as the TypeScript selection computes it on what a node captures. */
export function expectedPositions(
  mode: Mode,
  frames: readonly Buffer[],
  nodeIds: readonly number[],
  snaplen: number,
): number[] {
  const counter = new RoundRobinOwner();
  return frames.map((f) =>
    mode === 'round-robin'
      ? counter.next(f, nodeIds.length)
      : ownerPosition(mode, capturedBytes(f, snaplen), nodeIds, KEY[0], KEY[1]),
  );
}

const asFrames = (frames: readonly Buffer[]) => frames.map((data) => ({ tsNs: 0n, data }));

/**
 * The checks of an exactly-once run, given the traffic frames on the wire in wire order:
 * every node took every frame off the ring and saw the same traffic, the owned counts add up
 * to it and match the TypeScript owners node by node, every owned frame was exported and
 * received, and the analyzers' output holds every frame exactly once (first snaplen bytes).
 * With one analyzer per node ('capture-hosts'), each node's output must be exactly the frames
 * it owns.
 */
export function expectExactlyOnce(
  run: ClusterRun,
  mode: Mode,
  traffic: readonly Buffer[],
  label: string,
): void {
  const { cluster, final, wire } = run;
  const snaplen = cluster.options.snaplen;
  const nodeIds = cluster.agents.map((a) => a.nodeId);
  const control = run.inband ? INBAND_SYNC_FRAMES : 0;
  expect(wire, `${label}: frames on each passive interface`).toEqual(
    nodeIds.map(() => traffic.length + control),
  );

  const positions = expectedPositions(mode, [...traffic], nodeIds, snaplen);
  const ownedByTs = nodeIds.map((_, p) => positions.filter((q) => q === p).length);
  for (const [i, a] of final.agents.entries()) {
    const who = `${label}: node ${a.nodeId}`;
    expect(
      {
        frames: framesAccounted(a),
        control: a.controlFrames,
        unassigned: a.unassigned,
        seen: a.seen,
        ringDrops: a.socketDrops,
        epoch: a.epoch,
      },
      who,
    ).toEqual({
      frames: wire[i],
      control,
      unassigned: 0,
      seen: traffic.length,
      ringDrops: 0,
      epoch: control ? 2 : 1,
    });
    expect(
      {
        owned: a.owned,
        exported: a.recordsExported,
        queueDrops: a.queueFullDrops,
        sendFailed: a.recordsSendFailed,
        noAnalyzer: a.recordsNoAnalyzer,
      },
      who,
    ).toEqual({
      owned: ownedByTs[i],
      exported: ownedByTs[i],
      queueDrops: 0,
      sendFailed: 0,
      noAnalyzer: 0,
    });
  }
  expect(
    final.agents.reduce((n, a) => n + a.owned, 0),
    `${label}: Σ owned`,
  ).toBe(traffic.length);
  for (const an of final.analyzers) {
    expect(an.socketDrops, `${label}: analyzer socket drops`).toBe(0);
    for (const n of an.nodes)
      expect({ node: n.nodeId, lost: n.lostDatagrams, duplicates: n.duplicateDatagrams }, label).toEqual({
        node: n.nodeId,
        lost: 0,
        duplicates: 0,
      });
  }

  const outputs = cluster.analyzers.map((an) => {
    const read = readCaptureFile(an.pcapFile!);
    expect(read.error, `${label}: ${an.pcapFile}`).toBeNull();
    return read.frames.map((f) => f.data);
  });
  const expected = frameMultiset(asFrames(traffic), snaplen);
  expect(
    compareMultisets(expected, frameMultiset(asFrames(outputs.flat()), snaplen)),
    `${label}: the analyzers' output against the wire`,
  ).toEqual({ missing: 0, extra: 0 });
  if (cluster.options.analyzerPlacement === 'capture-hosts') {
    expect(
      final.analyzers.map((an) => an.nodes.map((n) => n.nodeId)),
      `${label}: each analyzer hears only its own node`,
    ).toEqual(nodeIds.map((id) => [id]));
    for (const [p, output] of outputs.entries()) {
      const owned = traffic.filter((_, i) => positions[i] === p);
      expect(
        compareMultisets(frameMultiset(asFrames(owned), snaplen), frameMultiset(asFrames(output), snaplen)),
        `${label}: node ${nodeIds[p]}'s output against the frames it owns`,
      ).toEqual({
        missing: 0,
        extra: 0,
      });
    }
  }

  // The lab's own verdict agrees.
  const report = coverageReport({
    hosts: cluster.agents.map((a) => a.host),
    wireFrames: wire,
    agents: final.agents,
    analyzers: final.analyzers,
    trafficSent: traffic.length,
    controlFramesSent: control,
  });
  expect(report.problems, label).toEqual([]);
}
