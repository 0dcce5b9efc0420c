// The cluster key (PROTOCOL.md §1.1) every process of a cluster shares: read from a key
// file holding hex, so it never appears on a command line or in `ps`.
import fs from 'node:fs';
import { DicapError } from './errors.js';

/** Keys shorter than this are refused: HMAC-SHA256 wants at least 128 bits. */
export const MIN_CLUSTER_KEY_BYTES = 16;

export function readClusterKeyFile(path: string): Buffer {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `cluster key file ${path}: cannot read (${code}); check the path and its permissions`,
    );
  }
  const hex = text.trim();
  if (!/^([0-9a-fA-F]{2})+$/.test(hex) || hex.length / 2 < MIN_CLUSTER_KEY_BYTES) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `cluster key file ${path}: must hold at least ${MIN_CLUSTER_KEY_BYTES} bytes as hex on one line; create one with \`openssl rand -hex 32 > ${path}\``,
    );
  }
  return Buffer.from(hex, 'hex');
}

/**
 * The key a component that talks to coordinators runs with: the one --cluster-key-file
 * names, or null with --insecure (the all-zero key of SPEC §1.1). `who` says what needs
 * it, for the error when neither or both are given.
 */
export function clusterKeyOf(
  values: { clusterKeyFile?: string; insecure?: boolean },
  who: string,
): Buffer | null {
  if (values.clusterKeyFile !== undefined && values.insecure)
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      '--insecure and --cluster-key-file exclude each other; drop one',
    );
  if (values.clusterKeyFile !== undefined) return readClusterKeyFile(values.clusterKeyFile);
  if (values.insecure) return null;
  throw new DicapError(
    'DICAP_ERR_BAD_CONFIG',
    `${who} needs --cluster-key-file FILE (or --insecure, as the coordinator runs)`,
  );
}
