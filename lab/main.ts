// `dicap lab up|status|down|replay|demo`: the command line of the lab. Everything it does
// goes through the API of lab.ts (and cluster.ts), which tests and benchmarks use as well.
import { badConfig, DicapError, errorMessage } from '../common/errors.js';
import { commandOptions, type OptionValues, type OptionsSpec } from '../common/options.js';
import { DEFAULT_SNAPLEN, resolveSnaplen } from '../common/cluster-options.js';
import { DEFAULT_HASH_KEY } from './cluster.js';
import { runDemo } from './demo.js';
import { formatExperiment, runReplayExperiment } from './experiment.js';
import { labUp, openLab } from './lab.js';
import { privilegeProblem } from './netns.js';
import {
  DEFAULT_CLUSTER_MODE,
  DEFAULT_CLUSTER_WORKERS,
  DEMO_OPTIONS,
  DOWN_OPTIONS,
  REPLAY_OPTIONS,
  STATUS_OPTIONS,
  UP_OPTIONS,
  parseHashKey,
} from './options.js';
import {
  formatHosts,
  formatPassiveCounters,
  formatReplaySummary,
  formatTeardown,
  formatWireCounters,
  passiveDelta,
} from './report.js';
import { isRunning, listLabIds, readLabRecord, teardownLabSync } from './state.js';
import { DEFAULT_CAPTURE_HOSTS } from './topology.js';

const SUBCOMMANDS: Record<string, { spec: OptionsSpec; run: (argv: string[]) => Promise<number> }> = {
  up: { spec: UP_OPTIONS, run: up },
  status: { spec: STATUS_OPTIONS, run: status },
  down: { spec: DOWN_OPTIONS, run: down },
  replay: { spec: REPLAY_OPTIONS, run: replay },
  demo: { spec: DEMO_OPTIONS, run: demo },
};

function usage(): string {
  return [
    'usage: dicap lab up|status|down|replay|demo [options]   (dicap lab <subcommand> --help for its options)',
    '',
    ...Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(8)} ${s.spec.usage}`),
  ].join('\n');
}

/** Progress goes to stderr, so that stdout carries only results (and --json stays parseable). */
const progress = (line: string): void => console.error(line);

async function up(argv: string[]): Promise<number> {
  const values = commandOptions(UP_OPTIONS, argv);
  if (!values) return 0;
  const lab = await labUp({
    id: values.id,
    captureHosts: values.nodes,
    analyzers: values.analyzers,
    coordinators: values.coordinators,
    wireMtu: values.mtu,
    wireCpu: values.wireCpu,
    keepAfterExit: true,
    onProgress: progress,
  });
  console.log(formatHosts(lab.topology).join('\n'));
  console.log(`lab ${lab.id} is up; \`dicap lab replay FILE…\` sends traffic, \`dicap lab down\` removes it`);
  return 0;
}

async function status(argv: string[]): Promise<number> {
  const values = commandOptions(STATUS_OPTIONS, argv);
  if (!values) return 0;
  const ids = values.id !== undefined ? [values.id] : listLabIds();
  if (ids.length === 0) {
    console.log('no lab is up; start one with `dicap lab up`');
    return 0;
  }
  const reports: unknown[] = [];
  for (const id of ids) {
    const record = readLabRecord(id);
    if (!record || record.phase !== 'up' || !record.topology) {
      const state = !record
        ? 'is not up'
        : isRunning(record.owner)
          ? `is being built by pid ${record.owner.pid}`
          : `is what a failed \`up\` (pid ${record.owner.pid}) left behind; \`dicap lab down --id ${id}\` removes it`;
      if (values.json) reports.push({ id, phase: record?.phase ?? 'none' });
      else console.log(`lab ${id} ${state}`);
      continue;
    }
    const lab = openLab(id);
    const [passive, wire] = await Promise.all([lab.passiveCounters(), lab.wireCounters()]);
    if (values.json) {
      reports.push({
        id,
        phase: record.phase,
        owner: record.owner,
        keepAfterExit: record.keepAfterExit,
        topology: lab.topology,
        wire,
        passive,
      });
      continue;
    }
    console.log(formatHosts(lab.topology).join('\n'));
    console.log(formatWireCounters(wire).join('\n'));
    console.log(formatPassiveCounters(passive).join('\n'));
  }
  if (values.json) console.log(JSON.stringify(reports, null, 2));
  return 0;
}

async function down(argv: string[]): Promise<number> {
  const values = commandOptions(DOWN_OPTIONS, argv);
  if (!values) return 0;
  if (values.all && values.id !== undefined) throw badConfig('give --id or --all, not both');
  const existing = listLabIds();
  let ids: string[];
  if (values.all) ids = existing;
  else if (values.id !== undefined) ids = [values.id];
  else if (existing.length <= 1) ids = existing;
  else
    throw badConfig(`${existing.length} labs exist (${existing.join(', ')}); say which with --id, or --all`);
  if (ids.length === 0 || (values.id !== undefined && !existing.includes(values.id))) {
    console.log(
      values.id !== undefined
        ? `lab ${values.id} is not up; nothing to remove`
        : 'no lab is up; nothing to remove',
    );
    return 0;
  }
  let failed = false;
  for (const id of ids) {
    const report = teardownLabSync(id);
    console.log(formatTeardown(report));
    failed ||= report.problems.length > 0;
  }
  return failed ? 1 : 0;
}

/** Splits `FILE… --flag value …` into the files and the options, knowing which flags take a value. */
function splitFiles(spec: OptionsSpec, argv: readonly string[]): { files: string[]; flags: string[] } {
  const files: string[] = [];
  const flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      files.push(arg);
      continue;
    }
    flags.push(arg);
    const declaration = spec.options[arg.slice(2)];
    const takesValue =
      !arg.includes('=') &&
      (arg === '--config' || (declaration !== undefined && declaration.type !== 'boolean'));
    if (takesValue && i + 1 < argv.length) flags.push(argv[++i]!);
  }
  return { files, flags };
}

async function replay(argv: string[]): Promise<number> {
  const { files, flags } = splitFiles(REPLAY_OPTIONS, argv);
  const values = commandOptions(REPLAY_OPTIONS, flags);
  if (!values) return 0;
  if (files.length === 0)
    throw badConfig('no capture file given; usage: dicap lab replay FILE… [--pps R | --topspeed]');
  if (values.out !== undefined) return experiment(files, values);
  const experimentOnly = (
    ['nodes', 'mode', 'snaplen', 'workers', 'key', 'selection', 'distribute', 'changeTopology'] as const
  ).filter((name) => values[name] !== undefined && values[name] !== false);
  if (experimentOnly.length > 0) {
    throw badConfig(
      `--${experimentOnly[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --out DIR (a whole experiment in a fresh lab); without --out, replay sends into a lab that is up`,
    );
  }
  const lab = openLab(values.id);
  const before = await lab.passiveCounters();
  const result = await lab.replay(files, {
    ...(values.pps !== undefined ? { pps: values.pps } : {}),
    ...(values.mbps !== undefined ? { mbps: values.mbps } : {}),
    topspeed: values.topspeed,
    loop: values.loop,
    pinToWireCpu: values.pin,
    onProgress: (p) =>
      progress(
        `replay: ${p.sent} frames sent in ${p.seconds.toFixed(1)} s (${Math.round(p.seconds > 0 ? p.sent / p.seconds : 0)} frames/s)`,
      ),
  });
  const after = await lab.settledPassiveCounters();
  console.log(formatReplaySummary(result, passiveDelta(before, after)).join('\n'));
  return 0;
}

type ReplayValues = OptionValues<typeof REPLAY_OPTIONS>;

async function experiment(files: string[], values: ReplayValues): Promise<number> {
  const nodes = values.nodes ?? DEFAULT_CAPTURE_HOSTS;
  const mode = values.mode ?? DEFAULT_CLUSTER_MODE;
  const summary = await runReplayExperiment({
    files,
    nodes,
    mode,
    out: values.out!,
    snaplen: resolveSnaplen(values.snaplen ?? DEFAULT_SNAPLEN),
    workers: values.workers ?? DEFAULT_CLUSTER_WORKERS,
    key: values.key ? parseHashKey(values.key) : DEFAULT_HASH_KEY,
    replay: {
      ...(values.pps !== undefined ? { pps: values.pps } : {}),
      ...(values.mbps !== undefined ? { mbps: values.mbps } : {}),
      topspeed: values.topspeed,
      loop: values.loop,
      pinToWireCpu: values.pin,
    },
    ...(values.id !== undefined ? { id: values.id } : {}),
    ...(values.selection !== undefined ? { selection: values.selection } : {}),
    distribute: values.distribute,
    changeTopology: values.changeTopology,
    onProgress: progress,
  });
  console.log(formatExperiment(summary, values.out!).join('\n'));
  return summary.exactlyOnce ? 0 : 1;
}

async function demo(argv: string[]): Promise<number> {
  const values = commandOptions(DEMO_OPTIONS, argv);
  if (!values) return 0;
  return runDemo({
    id: values.id,
    nodes: values.nodes,
    rate: values.rate,
    mode: values.mode,
    httpPort: values.httpPort,
    output: process.stdout,
    input: process.stdin,
    say: progress,
  });
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const subcommand = SUBCOMMANDS[name];
  if (!subcommand) {
    console.error(
      `dicap lab: unknown subcommand "${name}"; it is one of ${Object.keys(SUBCOMMANDS).join(', ')}`,
    );
    return 2;
  }
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  const problem = privilegeProblem();
  if (problem && !wantsHelp) {
    console.error(problem);
    return 1;
  }
  try {
    return await subcommand.run(rest);
  } catch (error) {
    console.error(`dicap lab ${name}: ${errorMessage(error)}`);
    return error instanceof DicapError && error.code === 'DICAP_ERR_BAD_CONFIG' ? 2 : 1;
  }
}
