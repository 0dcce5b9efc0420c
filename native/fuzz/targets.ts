// The libFuzzer targets of native/fuzz (one <name>_fuzzer.cc each, built by the Makefile)
// and the largest input each gets: capture files need room for several records, the others
// take one frame, one message, one datagram or a few frames.
export const FUZZ_TARGETS = [
  'capture_file',
  'control_message',
  'frame_key',
  'inband_frame',
  'header_batch',
] as const;
export type FuzzTarget = (typeof FUZZ_TARGETS)[number];

export const MAX_INPUT_BYTES: Record<FuzzTarget, number> = {
  capture_file: 65536,
  control_message: 8192,
  frame_key: 4096,
  inband_frame: 16384,
  header_batch: 9000,
};
