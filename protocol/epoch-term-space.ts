// EPOCH and TERM are u32 and never wrap (SPEC.md §6.7, "Epoch and term arithmetic"): the top
// 2^16 values are a reserve nobody issues and receivers do not take from others, so "the next
// epoch" (+1) and "the next term" (the next round of 256) always fit in 32 bits. A value in
// the reserve can only come from a bug or from someone holding the cluster key; ignoring it
// keeps the cluster steering instead of stopping at the ceiling.

/** The first reserved value: epochs and terms stay below it. */
export const EPOCH_TERM_CEILING = 0xffff_0000;

/** Whether an EPOCH, TERM or SEEN_TERM value may be issued or taken from another process. */
export function inEpochTermSpace(value: number): boolean {
  return value < EPOCH_TERM_CEILING;
}
