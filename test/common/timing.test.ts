// The control plane's timing (common/timing.ts): both profiles keep every rule, derived
// intervals follow the ones given, and each rule refuses the configuration that breaks it
// in one line naming the rule and a value that satisfies it.
import { describe, expect, it } from 'vitest';
import {
  deriveTiming,
  MEMBER_TIMING_FLAGS,
  resolveTiming,
  TIMING_PROFILES,
  TIMING_RULES,
  timingProblem,
  type ControlTiming,
} from '../../common/timing.js';
import { runDicap } from '../../lab/dicap-command.js';

const FLAG_KEYS: Record<string, keyof ControlTiming> = {
  '--heartbeat-interval-ms': 'heartbeatIntervalMs',
  '--node-timeout-ms': 'nodeTimeoutMs',
  '--topology-interval-ms': 'topologyIntervalMs',
  '--epoch-interval-ms': 'epochIntervalMs',
  '--validity-delay-ms': 'validityDelayMs',
  '--announce-interval-ms': 'announceIntervalMs',
  '--sync-interval-ms': 'syncIntervalMs',
  '--election-timeout-ms': 'electionTimeoutMs',
  '--solitude-ms': 'solitudeMs',
};

/** For each rule, in order, values (on the default profile) that break it and no rule before it. */
const BREAKING: Array<Partial<ControlTiming>> = [
  { heartbeatIntervalMs: 5000, nodeTimeoutMs: 6000 },
  { electionTimeoutMs: 600, syncIntervalMs: 1000 }, // issue 14: coordinators deposed each other in a loop
  { electionTimeoutMs: 3000, solitudeMs: 4000 },
  { heartbeatIntervalMs: 2000, solitudeMs: 3500, electionTimeoutMs: 1500 },
  { validityDelayMs: 5 },
  { epochIntervalMs: 3000 },
];

describe('control-plane timing', () => {
  it.each(TIMING_PROFILES)('the %s profile keeps every rule', (profile) => {
    expect(timingProblem(deriveTiming(profile))).toBeUndefined();
  });

  it('derives the node timeout from the heartbeat and the SYNC interval from the election timeout', () => {
    expect(deriveTiming('default')).toMatchObject({
      heartbeatIntervalMs: 5000,
      nodeTimeoutMs: 15000,
      syncIntervalMs: 1000,
    });
    expect(deriveTiming('fast')).toMatchObject({
      heartbeatIntervalMs: 100,
      nodeTimeoutMs: 300,
      electionTimeoutMs: 300,
      syncIntervalMs: 100,
    });
    expect(deriveTiming('default', { heartbeatIntervalMs: 1000 }).nodeTimeoutMs).toBe(3000);
    expect(deriveTiming('default', { electionTimeoutMs: 600 }).syncIntervalMs).toBe(200);
    // A value given wins over the derived one; undefined counts as not given.
    expect(
      deriveTiming('fast', { heartbeatIntervalMs: 100, nodeTimeoutMs: 1000, solitudeMs: undefined }),
    ).toMatchObject({
      nodeTimeoutMs: 1000,
      solitudeMs: 2000,
    });
  });

  it('has a breaking example for every rule', () => expect(BREAKING).toHaveLength(TIMING_RULES.length));

  it.each(TIMING_RULES.map((rule, i) => [rule.rule, i] as const))(
    'refuses a configuration that breaks "%s", in one line with a value that satisfies it',
    (rule, i) => {
      const given = BREAKING[i]!;
      const timing = deriveTiming('default', given);
      const problem = timingProblem(timing)!;
      expect(problem).toContain(rule);
      expect(problem.split('\n')).toHaveLength(1);
      expect(() => resolveTiming('default', given)).toThrow(problem);
      // Every fix it names keeps this rule.
      const fixes = [...problem.matchAll(/(--[a-z-]+) (\d+)/g)].slice(-2);
      const offered = /give (.*)$/.exec(problem)![1]!;
      expect(fixes.length).toBeGreaterThan(0);
      for (const [, flag, value] of fixes) {
        if (!offered.includes(`${flag} ${value}`)) continue;
        const fixed = { ...timing, [FLAG_KEYS[flag!]!]: Number(value) };
        expect(TIMING_RULES[i]!.fixes(fixed), `${flag} ${value}`).toEqual([]);
      }
    },
  );

  it("names an agent's own flag in the fix", () => {
    const problem = timingProblem(deriveTiming('fast', { heartbeatIntervalMs: 2000 }), MEMBER_TIMING_FLAGS)!;
    expect(problem).toMatch(/give --heartbeat-interval-ms \d+$/);
  });

  it('dicap coordinator refuses contradicting intervals in one line, naming the rule and a fix', async () => {
    const result = await runDicap([
      'coordinator',
      '--insecure',
      '--listen',
      '127.0.0.1:7498',
      '--election-timeout-ms',
      '600',
      '--sync-interval-ms',
      '1000',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^dicap coordinator: timing: --election-timeout-ms ≥ 3 × --sync-interval-ms \(.*\); give --sync-interval-ms 200 or --election-timeout-ms 3000$/,
      ),
    ]);
  });

  it.each(['agent', 'analyzer'])(
    'dicap %s checks the rules on its own heartbeat interval',
    async (component) => {
      const args =
        component === 'agent'
          ? ['agent', '--pcap', '/dev/null', '--node-id', '1', '--nodes', '1']
          : ['analyzer', '--listen', '127.0.0.1:9497', '--write', '/dev/null'];
      const result = await runDicap([...args, '--timing', 'fast', '--heartbeat-interval-ms', '5000']);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          new RegExp(`^dicap ${component}: timing: .*; give --heartbeat-interval-ms \\d+$`),
        ),
      ]);
    },
  );
});
