// Reads a whole capture file (classic pcap or pcapng, Ethernet only) through the native
// reader, for tests and tools that compare captures frame by frame. What is accepted and
// how odd records are treated is documented in native/src/capture_file.h.
import { DicapError } from '../common/errors.js';
import { native } from './addon.js';

export interface CapturedFrame {
  /** Unix time in nanoseconds; 0n for pcapng Simple Packet Blocks, which carry no time stamp. */
  tsNs: bigint;
  /** Length of the frame on the wire, in bytes; may be smaller than data.length in damaged files. */
  wireLen: number;
  /** The captured bytes (at most 262144): a copy owned by the caller. */
  data: Buffer;
}

export interface CaptureFileContents {
  /** The frames in file order, up to maxFrames. */
  frames: CapturedFrame[];
  /**
   * null when the file was read to its end (or maxFrames were read); otherwise one line
   * naming the file, the problem, where it is (byte offset, frame number) and the fix.
   * The frames read before the problem are still in `frames`.
   */
  error: string | null;
}

/**
 * Reads up to `maxFrames` frames (all when omitted) of the capture file at `path`.
 * Unreadable, non-Ethernet and damaged files are reported in `error`, never thrown;
 * only bad arguments throw (DICAP_ERR_ARGUMENT).
 */
export function readCaptureFile(path: string, maxFrames?: number): CaptureFileContents {
  if (typeof path !== 'string' || path.length === 0) {
    throw new DicapError('DICAP_ERR_ARGUMENT', 'readCaptureFile: path must be a non-empty string');
  }
  if (maxFrames !== undefined && !(Number.isSafeInteger(maxFrames) && maxFrames >= 0)) {
    throw new DicapError(
      'DICAP_ERR_ARGUMENT',
      `readCaptureFile: maxFrames must be a non-negative integer, got ${maxFrames}`,
    );
  }
  return native.readCaptureFile(path, maxFrames) as CaptureFileContents;
}
