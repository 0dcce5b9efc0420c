// The cluster key (SPEC.md §1.1) every process of a cluster shares: read from a key
// file holding hex, so it never appears on a command line or in `ps`. The file must be a
// regular file of the owner alone (mode 0600 or stricter), not a link, and the key must not
// be all zeros (insecure mode's key, which authenticates nothing).
import { DicapError } from './errors.js';
import { readSmallFile } from './small-file.js';

/** Keys shorter than this are refused: HMAC-SHA256 wants at least 128 bits. */
export const MIN_CLUSTER_KEY_BYTES = 16;
/** A key file is one line of hex: anything larger is not a key file. */
export const MAX_CLUSTER_KEY_FILE_BYTES = 4096;

export function readClusterKeyFile(path: string): Buffer {
  const what = `cluster key file ${path}`;
  const hex = readSmallFile(path, { what, maxBytes: MAX_CLUSTER_KEY_FILE_BYTES, secret: true })
    .toString('utf8')
    .trim();
  if (!/^([0-9a-fA-F]{2})+$/.test(hex) || hex.length / 2 < MIN_CLUSTER_KEY_BYTES) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `${what}: must hold at least ${MIN_CLUSTER_KEY_BYTES} bytes as hex on one line; create one with \`openssl rand -hex 32 > ${path}\``,
    );
  }
  const key = Buffer.from(hex, 'hex');
  if (key.every((byte) => byte === 0)) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `${what}: the key is all zero bytes, which authenticates nothing; create a random one with \`openssl rand -hex 32 > ${path}\``,
    );
  }
  return key;
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
