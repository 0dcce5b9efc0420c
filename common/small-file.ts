// Reads the small files a component is configured with (the JSON config file, the cluster
// key file): regular files only, with a size limit, so that `/dev/zero`, a FIFO, a directory
// or a huge file ends in one line naming the problem and the fix instead of growing memory
// without bound or blocking forever in open(). Secret files are also refused when they are
// symbolic links or readable by anyone but their owner.
import fs from 'node:fs';
import { badConfig } from './errors.js';

export interface SmallFileRules {
  /** How the file is named in messages, e.g. "config file x.json". */
  readonly what: string;
  /** Larger files are refused. */
  readonly maxBytes: number;
  /** A secret: no symbolic link, no group or other permission bits. */
  readonly secret?: boolean;
}

function fail(rules: SmallFileRules, problem: string): never {
  throw badConfig(`${rules.what}: ${problem}`);
}

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The whole content of `path`, or a DicapError('DICAP_ERR_BAD_CONFIG') in one line. */
export function readSmallFile(path: string, rules: SmallFileRules): Buffer {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below anyway);
  // O_NOFOLLOW: a secret is read from the file named, never through a link.
  const flags =
    fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (rules.secret ? fs.constants.O_NOFOLLOW : 0);
  let fd: number;
  try {
    fd = fs.openSync(path, flags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ELOOP' && rules.secret)
      fail(rules, `is a symbolic link; give the file itself (\`readlink -f ${path}\` shows it)`);
    fail(rules, `cannot read (${code}); check the path and its permissions`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) fail(rules, `is ${kindOf(stat)}; give a regular file`);
    if (stat.size > rules.maxBytes)
      fail(rules, `is ${stat.size} bytes, more than the ${rules.maxBytes} allowed; give the right file`);
    if (rules.secret && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      fail(rules, `is readable by others than its owner (mode ${mode}); fix it with \`chmod 600 ${path}\``);
    }
    // Read at most one byte more than allowed: a file that grows while read is caught too.
    const buffer = Buffer.alloc(rules.maxBytes + 1);
    let length = 0;
    for (;;) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > rules.maxBytes)
        fail(rules, `holds more than the ${rules.maxBytes} bytes allowed; give the right file`);
    }
    return buffer.subarray(0, length);
  } finally {
    fs.closeSync(fd);
  }
}
