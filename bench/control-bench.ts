// `npm run bench -- control` (needs root): the control plane's speed and scale (issue 14).
// Node death and failover in the lab at --timing default and fast (control-lab.ts), and the
// coordinator at 10, 100 and 1,000 simulated members over loopback (control-scale.ts).
import { DEFAULT_TIMING, FAST_PROFILE } from '../lab/control-plane.js';
import { benchControlLab, type ControlLabRun } from './control-lab.js';
import { benchControlScale, type ScaleResult } from './control-scale.js';
import type { ReportTable } from './report.js';

const REPEATS = 3;

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
      `Profiles (SPEC §6.11): default = heartbeat ${DEFAULT_TIMING.heartbeatIntervalMs} ms, node timeout ${DEFAULT_TIMING.nodeTimeoutMs} ms, validity delay ${DEFAULT_TIMING.validityDelayMs} ms, election timeout ${DEFAULT_TIMING.electionTimeoutMs} ms, SYNC every ${DEFAULT_TIMING.syncIntervalMs} ms; fast = ${FAST_PROFILE.heartbeatIntervalMs}, ${FAST_PROFILE.nodeTimeoutMs}, ${FAST_PROFILE.validityDelayMs}, ${FAST_PROFILE.electionTimeoutMs}, ${FAST_PROFILE.syncIntervalMs} ms.`,
    ].join(' '),
    columns: [
      'profile',
      'event',
      'new active, median ms (range)',
      'in force on every node, median ms (range)',
      'frames lost per run',
      'frames doubled per run',
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
      ];
    }),
  };
}

function scaleTable(results: ReadonlyArray<ScaleResult | { members: number; failed: string }>): ReportTable {
  return {
    title: 'The coordinator at 10, 100 and 1,000 members',
    note: [
      "A real `dicap coordinator` process and N simulated members in the benchmark process, each a real CoordinatorLink (its own UDP socket on loopback, JOIN/ACCEPT/HEARTBEAT/TOPOLOGY_UPDATE/LEAVE as agents send them), heartbeat every 1 s, validity delay 150 ms (the fast profile's).",
      'CPU and memory: the coordinator process while members only heartbeat (memory: resident size above the idle coordinator, per member). Changes: a member joins, then leaves, alternately (6 changes); "sent" is the coordinator\'s topology event (issued and sent to every member, 50 ms coalescing of joins included), "every member holds it" is when the last simulated member decoded it — all N decode on this machine\'s two shared cores, so at 1,000 members that column measures the simulation as much as the coordinator; "in force" is the later of that and the validity start. Coordinator CPU per change is its CPU over the change minus its heartbeat-only rate.',
    ].join(' '),
    columns: [
      'members',
      'coordinator CPU, ms/s per member',
      'coordinator memory, KiB per member',
      'sent to all, median ms (range)',
      'every member holds it, median ms (range)',
      'in force everywhere, median ms',
      'coordinator CPU per change, median ms',
      'CPU per change per member, µs',
    ],
    rows: results.map((r) =>
      'failed' in r
        ? [String(r.members), `not measured: ${r.failed}`, '', '', '', '', '', '']
        : [
            String(r.members),
            r.cpuMsPerMemberPerS.toFixed(3),
            r.rssKiBPerMember.toFixed(1),
            `${ms(r.sentMs)} (${range(r.sentMs)})`,
            `${ms(r.deliveredMs)} (${range(r.deliveredMs)})`,
            ms(r.inForceMs),
            median(r.cpuMsPerChange).toFixed(1),
            ((1000 * median(r.cpuMsPerChange)) / r.members).toFixed(1),
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
