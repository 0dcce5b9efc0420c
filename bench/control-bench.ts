// `npm run bench -- control` (needs root): the control plane's speed and scale (issue 14).
// Node death and failover in the lab at --timing default and fast (control-lab.ts), and the
// coordinator at 10, 100 and 1,000 simulated members over loopback (control-scale.ts).
import { DEFAULT_TIMING, FAST_PROFILE } from '../lab/control-plane.js';
import { benchControlLab, type ControlLabRun } from './control-lab.js';
import { benchControlScale, SCALE_CHANGES, type ScaleResult } from './control-scale.js';
import type { ReportTable } from './report.js';

const REPEATS = 5;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (xs: readonly number[]): string => `${Math.round(median(xs))}`;
const range = (xs: readonly number[]): string =>
  `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;

function labTable(runs: readonly ControlLabRun[]): ReportTable {
  const groups = new Map<string, ControlLabRun[]>();
  for (const r of runs)
    groups.set(`${r.profile}|${r.kind}`, [...(groups.get(`${r.profile}|${r.kind}`) ?? []), r]);
  return {
    title: 'Node death and failover in the lab',
    note: [
      `Three capture nodes, one analyzer, three coordinators (flow mode), \`dicap gen\` at 10,000 frames/s through the mirror; ${REPEATS} repeats each, every repeat its own traffic phase matched frame by frame against the analyzer's output.`,
      "Node death: agent 13 SIGKILLed; until the topology of nodes 11,12 is in force on both (the frames lost are node 13's share until then). Failover: the active coordinator SIGKILLed; until a standby is active (its event), and until every agent put the new term's topology in force; capture never waits for the coordinators, so nothing may be lost or doubled.",
      'Live nodes removed: capture nodes (other than a killed one) that the active removed for silence during the run, from its timeout events; a live node removed and re-admitted costs frames (lost or doubled) across the two topologies.',
      ...runs
        .filter((r) => r.liveRemoved.length > 0)
        .map((r) => `${r.profile} ${r.kind}, after the kill: ${r.liveRemoved.join('; ')}.`),
      `Profiles (SPEC §6.11): default = heartbeat ${DEFAULT_TIMING.heartbeatIntervalMs} ms, node timeout ${DEFAULT_TIMING.nodeTimeoutMs} ms, validity delay ${DEFAULT_TIMING.validityDelayMs} ms, election timeout ${DEFAULT_TIMING.electionTimeoutMs} ms, SYNC every ${DEFAULT_TIMING.syncIntervalMs} ms; fast = ${FAST_PROFILE.heartbeatIntervalMs}, ${FAST_PROFILE.nodeTimeoutMs}, ${FAST_PROFILE.validityDelayMs}, ${FAST_PROFILE.electionTimeoutMs}, ${FAST_PROFILE.syncIntervalMs} ms.`,
    ].join(' '),
    columns: [
      'profile',
      'event',
      'new active, median ms (range)',
      'in force on every node, median ms (range)',
      'frames lost per run',
      'frames doubled per run',
      'live nodes removed for silence per run',
    ],
    rows: [...groups.values()].map((g) => {
      const active = g.map((r) => r.activeMs).filter((x): x is number => x !== undefined);
      return [
        g[0]!.profile,
        g[0]!.kind,
        active.length > 0 ? `${ms(active)} (${range(active)})` : '—',
        `${ms(g.map((r) => r.inForceMs))} (${range(g.map((r) => r.inForceMs))})`,
        g.map((r) => r.missing).join(', '),
        g.map((r) => r.doubled).join(', '),
        g.map((r) => r.liveRemoved.length).join(', '),
      ];
    }),
  };
}

function scaleTable(results: ReadonlyArray<ScaleResult | { members: number; failed: string }>): ReportTable {
  const measured = results.filter((r): r is ScaleResult => !('failed' in r));
  const cpu = (r: ScaleResult): number => median(r.cpuMsPerChange);
  const [smallest, largest] = [measured[0], measured.at(-1)];
  const slope =
    smallest && largest && largest.members > smallest.members
      ? `From ${smallest.members} to ${largest.members} members the coordinator's CPU per change grows by ${((1000 * (cpu(largest) - cpu(smallest))) / (largest.members - smallest.members)).toFixed(2)} µs per member added, on top of a fixed part (the epoch, SYNC to the standbys, the ledger, the event) that dominates at ${smallest.members}: linear in the membership.`
      : '';
  return {
    title: 'The coordinator at 10, 100 and 1,000 members',
    note: [
      "A real `dicap coordinator` process and N simulated members in the benchmark process, each a real CoordinatorLink (its own UDP socket on loopback, JOIN/ACCEPT/HEARTBEAT/TOPOLOGY_UPDATE/LEAVE as agents send them), heartbeat every 1 s, validity delay 150 ms (the fast profile's).",
      `CPU and memory: the coordinator process while members only heartbeat (memory: resident size above the idle coordinator, per member). Changes: a member joins, then leaves, alternately (${SCALE_CHANGES} changes per size).`,
      'CPU per change and "sent to the last member" are the coordinator\'s own measures from its /metrics (`dicap_coordinator_topology_change_cpu_seconds`: CPU of building the epoch, encoding it once and sending it to every member, over all the turns it is sent in; `..._sent_seconds`: from the change until the copy to the last member was sent; the 50 ms coalescing of joins comes before).',
      '"Every member holds it" (from the join or leave, so a join\'s 50 ms coalescing included) is when the last simulated member had decoded it: all N receive and decode in this one process, beside the coordinator on two shared cores, one decode taking the "decode" column (measured here); at 1,000 members the coordinator had sent its last copy long before ("sent"), so that column measures the simulation, not the coordinator. "In force" is the later of that and the validity start.',
      slope,
    ]
      .filter(Boolean)
      .join(' '),
    columns: [
      'members',
      'coordinator CPU, ms/s per member',
      'coordinator memory, KiB per member',
      'coordinator CPU per change, median ms (range)',
      'CPU per change per member, µs',
      'sent to the last member, median ms (range)',
      'every member holds it, median ms (range)',
      'one member decodes it, ms',
      'in force everywhere, median ms',
    ],
    rows: results.map((r) =>
      'failed' in r
        ? [String(r.members), `not measured: ${r.failed}`, '', '', '', '', '', '', '']
        : [
            String(r.members),
            r.cpuMsPerMemberPerS.toFixed(3),
            r.rssKiBPerMember.toFixed(1),
            `${cpu(r).toFixed(2)} (${Math.min(...r.cpuMsPerChange).toFixed(2)}–${Math.max(...r.cpuMsPerChange).toFixed(2)})`,
            ((1000 * cpu(r)) / r.members).toFixed(1),
            `${median(r.sentMs).toFixed(1)} (${Math.min(...r.sentMs).toFixed(1)}–${Math.max(...r.sentMs).toFixed(1)})`,
            `${ms(r.deliveredMs)} (${range(r.deliveredMs)})`,
            r.memberDecodeMs.toFixed(3),
            ms(r.inForceMs),
          ],
    ),
  };
}

export async function benchControl(): Promise<ReportTable[]> {
  const progress = (line: string): void => console.error(`dicap bench: ${line}`);
  const scale = await benchControlScale(progress);
  const lab = await benchControlLab(
    [
      { name: 'fast', timing: FAST_PROFILE },
      { name: 'default', timing: DEFAULT_TIMING },
    ],
    REPEATS,
    progress,
  );
  return [labTable(lab), scaleTable(scale)];
}
