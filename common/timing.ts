// The control plane's clocks (protocol/SPEC.md §6.11): two profiles, the intervals derived
// from a few base values, and the relations between them, checked at start on every
// component. A contradiction (say an election timeout shorter than three SYNC intervals, so
// that an active's lease runs out between two SYNCs and the coordinators depose each other
// in a loop) is refused with one line naming the rule and a value that satisfies it.
import { badConfig } from './errors.js';

/** Every interval of the control plane, in milliseconds. */
export interface ControlTiming {
  /** Members heartbeat (and report their ledger) this often. */
  heartbeatIntervalMs: number;
  /** A member silent this long is removed. */
  nodeTimeoutMs: number;
  /** The current topology is resent this often. */
  topologyIntervalMs: number;
  /** A new epoch with the same members this often (0: only on changes). */
  epochIntervalMs: number;
  /** Hash modes: a topology takes effect this far after it is issued. */
  validityDelayMs: number;
  /** Coordinators announce themselves this often (0: never). */
  announceIntervalMs: number;
  /** The active sends SYNC to the standbys this often. */
  syncIntervalMs: number;
  /** A standby without SYNC for 1–1.5× this stands for election; an active's lease is half of it. */
  electionTimeoutMs: number;
  /** A candidate that hears no peer for this long may become active on its witnesses. */
  solitudeMs: number;
}

export const TIMING_PROFILES = ['default', 'fast'] as const;
export type TimingProfile = (typeof TIMING_PROFILES)[number];

/** Base values of each profile; the others are derived from them (deriveTiming). */
type TimingBase = Omit<ControlTiming, 'nodeTimeoutMs' | 'syncIntervalMs'>;

const PROFILE_BASES: Record<TimingProfile, TimingBase> = {
  // DiCAP's heartbeat every 5 s and removal after 15 s of silence.
  default: {
    heartbeatIntervalMs: 5000,
    topologyIntervalMs: 5000,
    epochIntervalMs: 10000,
    validityDelayMs: 500,
    announceIntervalMs: 2000,
    electionTimeoutMs: 3000,
    solitudeMs: 10000,
  },
  // A dead node out of every node's topology, and a dead active replaced, within a second.
  fast: {
    heartbeatIntervalMs: 100,
    topologyIntervalMs: 1000,
    epochIntervalMs: 2000,
    validityDelayMs: 150,
    announceIntervalMs: 500,
    electionTimeoutMs: 300,
    solitudeMs: 2000,
  },
};

/** A node is removed after this many heartbeat intervals of silence. */
export const NODE_TIMEOUT_HEARTBEATS = 3;
/** The active sends this many SYNCs per election timeout. */
export const SYNCS_PER_ELECTION_TIMEOUT = 3;
/** The ledger judges an epoch once the next one has been in force one heartbeat interval + this. */
export const LEDGER_SETTLE_MS = 1000;
/** A topology must reach every node (network, event loops) before it takes effect. */
export const MIN_VALIDITY_DELAY_MS = 20;

/**
 * The profile's values with `given` on top; values not given that derive from a given one
 * follow it (a node timeout of three heartbeats, three SYNCs per election timeout).
 */
export function deriveTiming(profile: TimingProfile, given: Partial<ControlTiming> = {}): ControlTiming {
  const defined = Object.fromEntries(
    Object.entries(given).filter(([, value]) => value !== undefined),
  ) as Partial<ControlTiming>;
  const base = { ...PROFILE_BASES[profile], ...defined };
  return {
    nodeTimeoutMs: NODE_TIMEOUT_HEARTBEATS * base.heartbeatIntervalMs,
    syncIntervalMs: Math.max(1, Math.floor(base.electionTimeoutMs / SYNCS_PER_ELECTION_TIMEOUT)),
    ...base,
  };
}

/** A value that satisfies a rule: set `flag` to `value`. */
export type TimingFix = readonly [flag: string, value: number];

export interface TimingRule {
  /** What must hold, in the flags' words. */
  rule: string;
  /** Why it must hold. */
  why: string;
  /** Empty when `t` keeps the rule, else values that would satisfy it (one flag each). */
  fixes(t: ControlTiming): TimingFix[];
}

const fixesUnless = (holds: boolean, ...fixes: Array<TimingFix | undefined>): TimingFix[] =>
  holds ? [] : fixes.filter((f): f is TimingFix => f !== undefined && f[1] > 0);

type TimingFlag = readonly [flag: string, key: keyof ControlTiming];
const HEARTBEAT: TimingFlag = ['--heartbeat-interval-ms', 'heartbeatIntervalMs'];
const ELECTION: TimingFlag = ['--election-timeout-ms', 'electionTimeoutMs'];
const SOLITUDE: TimingFlag = ['--solitude-ms', 'solitudeMs'];

/** `long` ≥ `times` × `short`; the fixes offered keep `fixTimes` (≥ times) between them. */
function atLeastTimes(
  long: TimingFlag,
  times: number,
  short: TimingFlag,
  why: string,
  fixTimes = times,
): TimingRule {
  return {
    rule: `${long[0]} ≥ ${times} × ${short[0]}`,
    why,
    fixes: (t) =>
      fixesUnless(
        t[long[1]] >= times * t[short[1]],
        [short[0], Math.floor(t[long[1]] / fixTimes)],
        [long[0], fixTimes * t[short[1]]],
      ),
  };
}

/** Every relation between the intervals. Each has a test (test/common/timing.test.ts). */
export const TIMING_RULES: readonly TimingRule[] = [
  atLeastTimes(
    ['--node-timeout-ms', 'nodeTimeoutMs'],
    2,
    HEARTBEAT,
    'one late or lost heartbeat must not remove a live node',
    NODE_TIMEOUT_HEARTBEATS,
  ),
  atLeastTimes(
    ELECTION,
    SYNCS_PER_ELECTION_TIMEOUT,
    ['--sync-interval-ms', 'syncIntervalMs'],
    "an active's lease (half the election timeout) must span more than one SYNC, or the coordinators depose each other in a loop",
  ),
  atLeastTimes(
    SOLITUDE,
    2,
    ELECTION,
    'a candidate must have had a whole jittered election (1–1.5 × the timeout) before it may steer alone',
  ),
  atLeastTimes(
    SOLITUDE,
    2,
    HEARTBEAT,
    'witnesses are heartbeats heard after the peers fell silent plus one heartbeat interval: the solitude timeout must leave room for them',
  ),
  {
    rule: `--validity-delay-ms ≥ ${MIN_VALIDITY_DELAY_MS}`,
    why: 'a hash-mode topology must reach every node before it takes effect, or nodes switch on different frames',
    fixes: (t) =>
      fixesUnless(t.validityDelayMs >= MIN_VALIDITY_DELAY_MS, ['--validity-delay-ms', MIN_VALIDITY_DELAY_MS]),
  },
  {
    rule: `--epoch-interval-ms 0 or ≥ --validity-delay-ms + --heartbeat-interval-ms + ${LEDGER_SETTLE_MS}`,
    why: 'an epoch must be in force for the time the ledger waits for final reports before the next one starts',
    fixes: (t) =>
      fixesUnless(
        t.epochIntervalMs === 0 ||
          t.epochIntervalMs >= t.validityDelayMs + t.heartbeatIntervalMs + LEDGER_SETTLE_MS,
        ['--epoch-interval-ms', t.validityDelayMs + t.heartbeatIntervalMs + LEDGER_SETTLE_MS],
        ['--heartbeat-interval-ms', t.epochIntervalMs - t.validityDelayMs - LEDGER_SETTLE_MS],
      ),
  },
];

/**
 * The first rule `t` breaks, as one line with a value that satisfies it; undefined when none.
 * `flags`: the component's own options, preferred for the fix (an agent can only change its
 * heartbeat interval).
 */
export function timingProblem(t: ControlTiming, flags?: ReadonlySet<string>): string | undefined {
  for (const r of TIMING_RULES) {
    const fixes = r.fixes(t);
    if (fixes.length === 0) continue;
    const own = fixes.filter(([flag]) => !flags || flags.has(flag));
    const give = (own.length > 0 ? own : fixes).map(([flag, value]) => `${flag} ${value}`).join(' or ');
    return `timing: ${r.rule} (${r.why}); give ${give}`;
  }
  return undefined;
}

/** The one interval agents and analyzers set themselves (the rest they learn or never use). */
export const MEMBER_TIMING_FLAGS: ReadonlySet<string> = new Set(['--heartbeat-interval-ms']);

/** deriveTiming, then every rule; throws DICAP_ERR_BAD_CONFIG with the first broken one. */
export function resolveTiming(
  profile: TimingProfile,
  given: Partial<ControlTiming> = {},
  flags?: ReadonlySet<string>,
): ControlTiming {
  const timing = deriveTiming(profile, given);
  const problem = timingProblem(timing, flags);
  if (problem) throw badConfig(problem);
  return timing;
}

/** An agent's or analyzer's timing: its --timing profile with its --heartbeat-interval-ms on top. */
export function memberTiming(values: { timing: TimingProfile; heartbeatIntervalMs?: number }): ControlTiming {
  return resolveTiming(
    values.timing,
    { heartbeatIntervalMs: values.heartbeatIntervalMs },
    MEMBER_TIMING_FLAGS,
  );
}
