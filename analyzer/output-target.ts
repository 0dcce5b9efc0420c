// Where `dicap analyzer` writes, from --write/--output/--split/--format/--snaplen/--rotate-*/
// --reorder-ms: checked together (one line naming the problem and the fix) and turned into
// the native sink's output options.
import { badConfig, DicapError } from '../common/errors.js';
import {
  MAX_INTERFACE_NAME,
  MAX_SNAPLEN,
  type AnalyzerSinkOptions,
  type CaptureFormat,
} from '../native/analyzer-sink.js';
import { TAP_PREFIX } from './options.js';

export type OutputTargetOptions = Pick<
  AnalyzerSinkOptions,
  | 'outputKind'
  | 'output'
  | 'split'
  | 'format'
  | 'snaplen'
  | 'rotateSeconds'
  | 'rotateMegabytes'
  | 'rotateCount'
  | 'reorderMs'
>;

export interface OutputTargetValues {
  write?: string;
  output?: string;
  split: number;
  format: string;
  snaplen: number;
  rotateSeconds: number;
  rotateMb: number;
  rotateCount: number;
  reorderMs: number;
}

const INTERFACE_NAME = /^[A-Za-z0-9_.-]+$/;

function bad(message: string): DicapError {
  return badConfig(message);
}

export function outputTarget(v: OutputTargetValues): OutputTargetOptions {
  if ((v.write === undefined) === (v.output === undefined))
    throw bad('give exactly one of --write FILE|- and --output tap:NAME');
  const rotating = v.rotateSeconds > 0 || v.rotateMb > 0;
  const common = {
    split: v.split,
    format: v.format as CaptureFormat,
    snaplen: v.snaplen === 0 ? MAX_SNAPLEN : v.snaplen,
    rotateSeconds: v.rotateSeconds,
    rotateMegabytes: v.rotateMb,
    rotateCount: v.rotateCount,
    reorderMs: v.reorderMs,
  };
  if (v.rotateCount > 0 && !rotating)
    throw bad('--rotate-count needs --rotate-seconds or --rotate-mb (it bounds the rotated files)');
  if (v.output !== undefined) {
    const name = v.output.slice(TAP_PREFIX.length);
    const longest = v.split > 1 ? `${name}${v.split - 1}` : name;
    if (!INTERFACE_NAME.test(name) || longest.length > MAX_INTERFACE_NAME)
      throw bad(
        `--output ${v.output}: the TAP name${v.split > 1 ? ' with its index' : ''} must be at most ${MAX_INTERFACE_NAME} letters, digits, '_', '.' or '-'; give a shorter one such as tap:dicap`,
      );
    if (rotating) throw bad('--rotate-seconds/--rotate-mb apply to files, not to --output tap:NAME');
    return { ...common, outputKind: 'tap', output: name };
  }
  const write = v.write!;
  if (write === '-' && v.split > 1)
    throw bad(
      '--split needs several outputs; standard output is one: give --write FILE or --output tap:NAME',
    );
  if (write === '-' && rotating)
    throw bad('--rotate-seconds/--rotate-mb need --write FILE, not standard output');
  return { ...common, outputKind: 'file', output: write };
}
