// `dicap owner --mode M --nodes LIST --key k0,k1 FILE`: prints `INDEX POSITION` for every
// frame of a capture file (POSITION `-` for an in-band control frame), computed by the
// native engine's own Selector — the answer to "which node owns this traffic".
import { readClusterKeyFile } from '../common/cluster-key.js';
import { badConfig, errorMessage } from '../common/errors.js';
import { commandOptions, defineOptions } from '../common/options.js';
import { native } from '../native/addon.js';
import { CLUSTER_OPTIONS } from '../common/cluster-options.js';

const mode = {
  ...CLUSTER_OPTIONS.mode,
  help: 'Selection: round-robin (DiCAP counter C mod N, from the start of the file or its last in-band frame), ipid (DiCAP IPv4 ID hash) or flow (symmetric flow hash).',
} as const;
const key = {
  ...CLUSTER_OPTIONS.key,
  help: 'Selection hash key words k0,k1 (SPEC.md §4), as the cluster uses them.',
} as const;
const nodes = {
  ...CLUSTER_OPTIONS.nodes,
  required: true,
  help: 'The ordered IDs of all capture nodes (the k-th has position k).',
} as const;

export const OWNER_OPTIONS = defineOptions({
  component: 'owner',
  summary:
    'Print which node position owns each frame of a capture file (one line per frame: INDEX POSITION).',
  usage:
    'dicap owner --mode round-robin|ipid|flow --nodes ID,ID,… [--key K0,K1] [--cluster-key-file FILE] FILE',
  options: {
    mode,
    nodes,
    key,
    'cluster-key-file': {
      ...CLUSTER_OPTIONS['cluster-key-file'],
      help: 'File holding the cluster key (hex), to recognise authentic in-band topology frames in the file (round-robin resets its counter at them); without it every such frame counts as traffic.',
    },
  },
});

/** Lines are written in chunks: a capture may hold millions of frames. */
const CHUNK_LINES = 65536;

export async function main(argv: string[]): Promise<number> {
  const file = argv.length > 0 && !argv[argv.length - 1]!.startsWith('-') ? argv[argv.length - 1] : undefined;
  try {
    const values = commandOptions(OWNER_OPTIONS, file === undefined ? argv : argv.slice(0, -1));
    if (!values) return 0;
    if (file === undefined) throw badConfig('missing FILE: give the capture file as the last argument');
    const [k0 = 0, k1 = 0] = values.key.map(Number);
    const clusterKey = values.clusterKeyFile ? readClusterKeyFile(values.clusterKeyFile) : undefined;
    const topology = {
      term: 0,
      epoch: 1,
      mode: values.mode,
      nodeIds: values.nodes.map(Number),
      k0,
      k1,
      validityStartNs: 0n,
      analyzers: [],
      snaplen: 0,
    };
    const result = native.ownersOfFile(file, topology, clusterKey) as {
      positions: Int32Array;
      error: string | null;
    };
    await writeOwners(result.positions);
    if (result.error !== null) {
      console.error(`dicap owner: ${result.error}`);
      return 1;
    }
    return 0;
  } catch (error) {
    console.error(`dicap owner: ${errorMessage(error)}`);
    return 2;
  }
}

async function writeOwners(positions: Int32Array): Promise<void> {
  for (let start = 0; start < positions.length; start += CHUNK_LINES) {
    const end = Math.min(positions.length, start + CHUNK_LINES);
    let text = '';
    for (let i = start; i < end; ++i) text += `${i} ${positions[i]! < 0 ? '-' : positions[i]}\n`;
    if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve));
  }
}
