#!/usr/bin/env node
// The `dicap` command: dispatches `dicap <command> …` to the module that owns it.
// Each command module exports `main(argv): Promise<number>` (the exit code) and reads
// its own options, so this file stays a table.
import { errorMessage } from '../common/errors.js';
import { DICAP_VERSION } from '../common/version.js';

type CommandMain = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ main: CommandMain }> }> = {
  agent: { summary: 'run a capture node agent', load: () => import('../node-agent/main.js') },
  coordinator: {
    summary: 'run a coordinator (membership, topologies, coverage ledger)',
    load: () => import('../coordinator/main.js'),
  },
  analyzer: { summary: 'receive header batches and write pcap', load: () => import('../analyzer/main.js') },
  owner: {
    summary: 'print which node position owns each frame of a capture file',
    load: () => import('./owner.js'),
  },
  bench: {
    summary: 'run a benchmark and write its report to bench/reports/',
    load: () => import('../bench/main.js'),
  },
  lab: {
    summary: 'build a capture cluster in network namespaces (up|replay|status|down)',
    load: () => import('../lab/main.js'),
  },
  proto: { summary: 'decode control messages (`dicap proto decode HEX`)', load: () => import('./proto.js') },
  gen: { summary: 'send synthetic traffic (or write it to a pcap file)', load: () => import('./gen.js') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return [
    'usage: dicap <command> [options]   (dicap <command> --help for its options; dicap --version)',
    '',
    ...lines,
  ].join('\n');
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(`dicap ${DICAP_VERSION} (Node.js ${process.version})`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`dicap: unknown command "${name}"; run \`dicap --help\` for the list`);
    return 2;
  }
  const module = await command.load();
  return module.main(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`dicap: ${errorMessage(error)}`);
    process.exitCode = 1;
  },
);
