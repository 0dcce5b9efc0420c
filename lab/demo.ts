// `dicap lab demo` (what `npm start` runs): the whole cluster on this machine. It builds a
// lab with three coordinators (one active, two standbys), an analyzer and the capture hosts,
// starts them all (the agents and the analyzer join the coordinators and follow the
// active), sends synthetic traffic with `dicap gen` through the mirror, and serves the
// active coordinator's dashboard on this machine's loopback (dashboard-forwarder.ts, which
// follows takeovers). Every second it
// shows every node's counters, the coordinators' roles and the coverage ledger. Keys kill
// and restart a capture node and the active coordinator, so a failover happens in front of
// you. Ctrl-C (or q) stops the traffic, the agents (which flush), the analyzer and the
// coordinators, shows the ledger's final verdict and removes the lab.
import type { SelectionModeName } from '../native/engine.js';
import type { Endpoint } from '../protocol/index.js';
import {
  FAST_PROFILE,
  startControlPlane,
  type ControlPlane,
  type ControlPlaneTiming,
} from './control-plane.js';
import { DashboardForwarder } from './dashboard-forwarder.js';
import { DEMO_KEYS, formatDemoScreen, type DemoCoordinator, type DemoScreenState } from './demo-screen.js';
import { startGenerator, type RunningGenerator } from './generator.js';
import { labUp, type Lab, type PassiveCounters } from './lab.js';
import { passiveDelta } from './report.js';
import type { EpochCoverage } from '../coordinator/coverage-ledger.js';
import { LEDGER_SETTLE_MS } from '../common/timing.js';

const REFRESH_MS = 1000;
/** How long the bottom line says what a key did before it shows the keys again. */
const NOTE_MS = 8000;
/** Connections the generator keeps open at once. */
const DEMO_FLOWS = 2000;
export const DEMO_COORDINATORS = 3;

/**
 * The fast profile (--timing fast, SPEC §6.11): a killed node is dropped and a killed active
 * coordinator replaced within about half a second, while the person who pressed the key
 * still looks; an epoch is judged every 2 s. Heartbeats ten times a second from a handful
 * of processes cost nothing measurable on two cores.
 */
export const DEMO_TIMING: ControlPlaneTiming = FAST_PROFILE;
/**
 * When the traffic stops, the epoch then in force is judged once the next one (due within an
 * epoch interval) has been in force for a heartbeat interval + LEDGER_SETTLE_MS; two more
 * heartbeat intervals for the active's checks that issue the next epoch and close this one.
 */
const FINAL_VERDICT_WAIT_MS =
  DEMO_TIMING.epochIntervalMs +
  DEMO_TIMING.validityDelayMs +
  3 * DEMO_TIMING.heartbeatIntervalMs +
  LEDGER_SETTLE_MS;
/** How long the c key waits for a standby to take over before it says none did. */
const TAKEOVER_WAIT_MS = 10_000;

export interface DemoOptions {
  id: string;
  nodes: number;
  /** Frames per second of the generator. */
  rate: number;
  mode: SelectionModeName;
  /** Port of the dashboard on 127.0.0.1 (0: any free one). */
  httpPort: number;
  /** Where the screen goes (a terminal: redrawn in place; otherwise one block per refresh). */
  output: NodeJS.WriteStream;
  /** Where the keys come from (a terminal: read key by key, unechoed). */
  input: NodeJS.ReadStream;
  /** Progress lines while building and tearing down. */
  say: (line: string) => void;
}

/** Resolves on the first SIGINT/SIGTERM or stop(); the demo then shuts down in order itself. */
function stopSignal(say: (line: string) => void): {
  requested: Promise<void>;
  stop: () => void;
  dispose: () => void;
} {
  let resolve!: () => void;
  const requested = new Promise<void>((r) => (resolve = r));
  let count = 0;
  const onSignal = (): void => {
    if (count++ > 0) say('dicap lab demo: stopping; the lab is removed in a moment');
    resolve();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested,
    stop: onSignal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Calls onKey for every character typed; a terminal is put in raw mode (Ctrl-C arrives as \x03). */
function readKeys(input: NodeJS.ReadStream, onKey: (key: string) => void): () => void {
  if (input.isTTY) input.setRawMode(true);
  input.setEncoding('utf8');
  const onData = (chunk: string): void => {
    for (const key of chunk) onKey(key);
  };
  input.on('data', onData);
  input.resume();
  return () => {
    input.off('data', onData);
    if (input.isTTY) input.setRawMode(false);
    input.pause();
  };
}

class Screen {
  private drawn = false;
  constructor(private readonly output: NodeJS.WriteStream) {}

  draw(lines: string[]): void {
    if (this.output.isTTY) {
      // Home, each line cleared to its end, then the rest of the screen: no flicker.
      this.output.write(
        `${this.drawn ? '\x1b[H' : '\x1b[H\x1b[2J'}${lines.map((l) => `${l}\x1b[K`).join('\n')}\n\x1b[J`,
      );
    } else {
      this.output.write(`${lines.join('\n')}\n\n`);
    }
    this.drawn = true;
  }
}

async function sourceFrames(lab: Lab): Promise<number> {
  const source = (await lab.wireCounters()).find((w) => w.host === 'source')!;
  return source.rxPackets - source.rxDropped;
}

/** The running demo: the cluster, what the coordinators said last, and what the keys do. */
class Demo {
  private coordinators: DemoCoordinator[] = [];
  private ledger: EpochCoverage[] = [];
  private lastEvent: string | undefined;
  private active: Endpoint | undefined;
  /** What the last key did, shown for NOTE_MS instead of the keys line. */
  private note: { text: string; atMs: number } | undefined;
  private busy = false;
  private readonly started = Date.now();
  private last = { frames: 0, at: Date.now() };

  constructor(
    private readonly options: DemoOptions,
    private readonly lab: Lab,
    private readonly cp: ControlPlane,
    private readonly baseline: { passive: PassiveCounters[]; wireFrames: number },
  ) {}

  /** The active coordinator's HTTP endpoint, for the forwarder. */
  activeHttp(): Endpoint | undefined {
    return this.active;
  }

  /** The capture node the n key kills and restarts: the last one. */
  private get victim(): number {
    return this.cp.agents.at(-1)!.nodeId;
  }

  /** Reads every coordinator's /status and the active one's /ledger and /events. */
  async poll(): Promise<void> {
    const statuses = await Promise.all(
      this.cp.coordinators.map((c) => (c.process?.running ? this.cp.status(c.id) : undefined)),
    );
    this.coordinators = this.cp.coordinators.map((c, i) => {
      const s = statuses[i];
      return s ? { id: c.id, role: s.role, term: s.term, epoch: s.epoch } : { id: c.id, role: 'down' };
    });
    const activeId = this.coordinators.find((c) => c.role === 'active')?.id;
    this.active = activeId !== undefined ? this.cp.coordinator(activeId).http : undefined;
    if (activeId !== undefined) {
      const [ledger, events] = await Promise.all([this.cp.ledger(activeId), this.cp.events(activeId)]);
      if (ledger) this.ledger = ledger;
      const newest = events?.at(-1);
      if (newest)
        this.lastEvent = `${new Date(newest.atMs).toISOString().slice(11, 19)} ${newest.kind}: ${newest.text}`;
    }
  }

  /** What a key does; one action at a time (a second key while one runs is ignored). */
  onKey(key: string, stop: () => void): void {
    if (key === 'q' || key === '\x03') return stop();
    const actions: Record<string, () => Promise<string>> = {
      n: async () => {
        const agent = this.cp.agent(this.victim);
        if (agent.process?.running) {
          await this.cp.stopAgent(this.victim, 'SIGKILL');
          return `killed capture node ${this.victim} (SIGKILL): dropped after ${DEMO_TIMING.nodeTimeoutMs} ms of silence, its share moves`;
        }
        await this.cp.startAgent(this.victim);
        return `capture node ${this.victim} started again: it joins, the next topology includes it`;
      },
      c: async () => {
        const active = this.coordinators.find((c) => c.role === 'active');
        if (!active) return 'no coordinator is active right now';
        const killedAt = Date.now();
        await this.cp.stopCoordinator(active.id, 'SIGKILL');
        // Watched at the lab's polling pace rather than the screen's once a second, so the
        // dashboard address leads to the new active as soon as there is one.
        const next = await this.cp.waitForActive(TAKEOVER_WAIT_MS, [active.id]);
        this.active = this.cp.coordinator(next).http;
        return `coordinator ${active.id} SIGKILLed: ${next} active after ${Date.now() - killedAt} ms (election timeout ${DEMO_TIMING.electionTimeoutMs} ms)`;
      },
      r: async () => {
        const down = this.cp.coordinators.filter((c) => !c.process?.running);
        if (down.length === 0) return 'every coordinator runs';
        await Promise.all(down.map((c) => this.cp.startCoordinator(c.id)));
        return `coordinator ${down.map((c) => c.id).join(', ')} started again: a standby now`;
      },
    };
    const action = actions[key];
    if (!action || this.busy) return;
    this.busy = true;
    const say = (text: string): void => {
      this.note = { text, atMs: Date.now() };
    };
    say(`${key}: …`);
    void action()
      .then(say, (error: unknown) => say(`${key}: ${(error as Error).message}`))
      .finally(() => (this.busy = false));
  }

  async screen(extra: Partial<DemoScreenState> = {}): Promise<DemoScreenState> {
    const [passive, wire] = await Promise.all([this.lab.passiveCounters(), sourceFrames(this.lab)]);
    const now = Date.now();
    const wireFrames = wire - this.baseline.wireFrames;
    const wireRate = ((wireFrames - this.last.frames) * 1000) / Math.max(1, now - this.last.at);
    this.last = { frames: wireFrames, at: now };
    const counters = this.cp.counters();
    return {
      labId: this.lab.id,
      mode: this.options.mode,
      rate: this.options.rate,
      elapsedS: (now - this.started) / 1000,
      wireFrames,
      wireRate,
      passiveFrames: passiveDelta(this.baseline.passive, passive).map((p) => p.rxPackets),
      hosts: this.cp.agents.map((a) => a.host),
      nodeIds: this.cp.agents.map((a) => a.nodeId),
      agents: counters.agents,
      analyzers: counters.analyzers,
      analyzerHosts: this.cp.analyzers.map((a) => a.host),
      coordinators: this.coordinators,
      ledger: this.ledger,
      ...(this.lastEvent ? { lastEvent: this.lastEvent } : {}),
      note: this.note && now - this.note.atMs < NOTE_MS ? this.note.text : DEMO_KEYS,
      ...extra,
    };
  }
}

async function runCluster(
  options: DemoOptions,
  lab: Lab,
  cp: ControlPlane,
  stop: { requested: Promise<void>; stop: () => void },
): Promise<number> {
  const screen = new Screen(options.output);
  await cp.waitForActive();
  await cp.waitForTopology(cp.agents.map((a) => a.nodeId));
  const demo = new Demo(options, lab, cp, {
    passive: await lab.passiveCounters(),
    wireFrames: await sourceFrames(lab),
  });
  await demo.poll();
  // The relay runs in a lab host's namespace, which outlives any process killed in it.
  const forwarder = await DashboardForwarder.start(
    lab,
    cp.analyzers[0]!.host,
    '127.0.0.1',
    options.httpPort,
    () => demo.activeHttp(),
  );
  options.say(`dicap lab demo: dashboard at ${forwarder.url}`);
  const generator: RunningGenerator = startGenerator(lab, { rate: options.rate, flows: DEMO_FLOWS });
  const stopKeys = readKeys(options.input, (key) => demo.onKey(key, stop.stop));
  let problem: string | undefined;
  try {
    let stopped = false;
    void stop.requested.then(() => (stopped = true));
    while (!stopped) {
      if (!generator.process.running) {
        problem = 'the traffic generator ended by itself';
        break;
      }
      await demo.poll();
      screen.draw(formatDemoScreen(await demo.screen({ dashboardUrl: forwarder.url })));
      await Promise.race([stop.requested, new Promise((resolve) => setTimeout(resolve, REFRESH_MS))]);
    }
  } finally {
    stopKeys();
  }

  await generator.stop().catch(() => undefined);
  screen.draw(
    formatDemoScreen(
      await demo.screen({
        dashboardUrl: forwarder.url,
        note: 'stopping: traffic stopped, the agents flush …',
      }),
    ),
  );
  // The epoch in force now is judged once every node has reported it; then the cluster stops.
  await new Promise((resolve) => setTimeout(resolve, FINAL_VERDICT_WAIT_MS));
  await demo.poll();
  const final = await demo.screen({
    final: true,
    note: problem ? `stopped: ${problem}` : 'stopped; removing the lab',
  });
  await forwarder.close();
  const failed = await cp.stop().then(
    () => undefined,
    (error: unknown) => (error as Error).message,
  );
  if (failed) final.note = `stopped: ${failed}`;
  screen.draw(formatDemoScreen(final));
  return problem || failed ? 1 : 0;
}

/** Runs the demo until SIGINT/SIGTERM or q; resolves with the exit code (0: stopped cleanly). */
export async function runDemo(options: DemoOptions): Promise<number> {
  // Our own handler before the lab exists: the lab leaves shutdown to us (handleSignals
  // false), so Ctrl-C stops the traffic and the cluster in order before the lab goes.
  const signal = stopSignal(options.say);
  try {
    const lab = await labUp({
      id: options.id,
      captureHosts: options.nodes,
      analyzers: 1,
      coordinators: DEMO_COORDINATORS,
      handleSignals: false,
      onProgress: options.say,
    });
    try {
      const cp = await startControlPlane(lab, {
        mode: options.mode,
        timing: DEMO_TIMING,
        pcapDirectory: null,
        onProgress: options.say,
      });
      try {
        return await runCluster(options, lab, cp, signal);
      } finally {
        await cp.stop().catch(() => {});
      }
    } finally {
      const report = await lab.down();
      options.say(
        `lab ${lab.id} removed (${report.namespacesDeleted.length} namespaces${report.problems.length > 0 ? `; problems: ${report.problems.join('; ')}` : ''})`,
      );
    }
  } finally {
    signal.dispose();
  }
}
