// Node death and failover in the lab (issue 14; needs root): three capture nodes, one
// analyzer and three coordinators in namespaces, flow mode, `dicap gen` traffic at 10,000
// frames/s through the mirror. Each repeat is one traffic phase with its own seed, so the
// analyzer's output can be matched frame by frame against what was sent:
//   - node death: agent 13 SIGKILLed a second into the phase; measured from the kill until
//     the topology of nodes 11,12 is in force on both (their "topology in force" lines), and
//     the frames of the phase that are missing from the output (node 13's share until then);
//   - failover: the active coordinator SIGKILLed a second into the phase; measured from the
//     kill until a standby says it is active (its /events), and until every agent put the new
//     term's topology in force; the frames missing or doubled (capture never waits for the
//     coordinators: both must be 0). The killed coordinator is restarted as a standby after.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startControlPlane, type ControlPlane, type ControlPlaneTiming } from '../lab/control-plane.js';
import { labUp } from '../lab/lab.js';
import { sleep } from '../lab/poll.js';
import { analyzerOutput, matchOutput, plannedPhase, sendPhase, type Phase } from '../lab/traffic-phases.js';

const LAB_ID = 'ctlb';
const ALL = [11, 12, 13];

export interface ControlLabRun {
  kind: 'node death' | 'failover';
  profile: string;
  /** ms from the kill until the new topology was in force on every node (node death) or every agent followed the new active (failover). */
  inForceMs: number;
  /** failover: ms from the kill until a standby was active. */
  activeMs?: number;
  missing: number;
  doubled: number;
  /** Live capture nodes the active removed for silence during the run (its timeout events): each costs frames. */
  liveRemoved: string[];
}

/** The active's removals for silence since `sinceMs`, other than of `killedNode`. */
async function liveRemovals(cp: ControlPlane, active: number, sinceMs: number, killedNode?: number) {
  const events = (await cp.events(active)) ?? [];
  return events
    .filter((e) => e.kind === 'timeout' && e.atMs >= sinceMs && !e.text.startsWith(`capture ${killedNode} `))
    .map((e) => `${e.atMs - sinceMs} ms: ${e.text}`);
}

/** When every node of `nodeIds` put a topology matching `match` in force after `sinceMs`. */
function inForceAt(
  cp: ControlPlane,
  nodeIds: readonly number[],
  sinceMs: number,
  match: (a: { nodeIds: readonly number[]; term: number }) => boolean,
): Promise<number> {
  return cp.poll(
    `nodes ${nodeIds.join(', ')} to put the new topology in force`,
    () => {
      const at = nodeIds.map(
        (id) => cp.appliedTopologies(id).find((a) => a.atMs >= sinceMs && match(a))?.atMs,
      );
      return at.every((t) => t !== undefined) ? Math.max(...(at as number[])) : undefined;
    },
    30_000,
  );
}

async function nodeDeath(cp: ControlPlane, phase: Phase, timing: ControlPlaneTiming) {
  await cp.waitForTopology(ALL);
  const generator = sendPhase(cp.lab, phase);
  await sleep(1000);
  const killedAt = Date.now();
  await cp.stopAgent(13, 'SIGKILL');
  const at = await inForceAt(cp, [11, 12], killedAt, (a) => a.nodeIds.join() === '11,12');
  await generator.finished;
  const liveRemoved = await liveRemovals(cp, await cp.waitForActive(), killedAt, 13);
  await cp.startAgent(13); // back for the next repeat
  await sleep(2 * timing.heartbeatIntervalMs);
  return { inForceMs: at - killedAt, liveRemoved };
}

async function failover(cp: ControlPlane, phase: Phase, timing: ControlPlaneTiming) {
  await cp.waitForTopology(ALL);
  const generator = sendPhase(cp.lab, phase);
  await sleep(1000);
  const old = await cp.waitForActive();
  const oldTerm = (await cp.status(old))!.term;
  const killedAt = Date.now();
  await cp.stopCoordinator(old, 'SIGKILL');
  const next = await cp.waitForActive(30_000, [old]);
  const events = (await cp.events(next)) ?? [];
  const became = events.find(
    (e) => e.kind === 'role' && e.atMs >= killedAt && e.text.startsWith('active as'),
  );
  const term = (await cp.status(next))!.term;
  const at = await inForceAt(cp, ALL, killedAt, (a) => a.term === term && a.term > oldTerm);
  await generator.finished;
  const liveRemoved = await liveRemovals(cp, next, killedAt);
  await cp.startCoordinator(old); // back as a standby for the next repeat
  await sleep(2 * timing.syncIntervalMs + timing.electionTimeoutMs);
  return { inForceMs: at - killedAt, activeMs: became ? became.atMs - killedAt : NaN, liveRemoved };
}

export async function benchControlLab(
  profiles: ReadonlyArray<{ name: string; timing: ControlPlaneTiming }>,
  repeats: number,
  onProgress: (line: string) => void,
): Promise<ControlLabRun[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-control-bench-'));
  const lab = await labUp({ id: LAB_ID, captureHosts: 3, analyzers: 1, coordinators: 3 });
  const runs: ControlLabRun[] = [];
  try {
    let seed = 100;
    for (const { name, timing } of profiles) {
      for (const kind of ['node death', 'failover'] as const) {
        // Traffic from a second before the kill until well after the new topology is in force.
        const seconds =
          3 + (kind === 'node death' ? timing.nodeTimeoutMs : 2 * timing.electionTimeoutMs) / 1000;
        const phases: Phase[] = [];
        for (let r = 0; r < repeats; r++)
          phases.push(await plannedPhase(dir, `${name}-${kind.replace(' ', '-')}-${r}`, seed++, seconds));
        const cp = await startControlPlane(lab, { mode: 'flow', timing, pcapDirectory: dir });
        const measured: Array<{ inForceMs: number; activeMs?: number; liveRemoved: string[] }> = [];
        try {
          for (const phase of phases) {
            measured.push(await (kind === 'node death' ? nodeDeath : failover)(cp, phase, timing));
            onProgress(`control lab: ${name} ${kind}: ${JSON.stringify(measured.at(-1))}`);
          }
        } finally {
          await cp.stop().catch(() => undefined);
        }
        const match = matchOutput(phases, analyzerOutput(cp), cp.snaplen);
        match.phases.forEach((m, r) =>
          runs.push({
            kind,
            profile: name,
            ...measured[r]!,
            missing: m.missing.length,
            doubled: m.extra,
          }),
        );
      }
    }
    return runs;
  } finally {
    await lab.down();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
