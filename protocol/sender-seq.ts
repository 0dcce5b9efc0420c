// SENDER_SEQ (SPEC.md §6.7): 32 bits that survive wrap and restart. A sender stamps each
// message with its Unix time in microseconds mod 2^32, or one more than its previous
// SENDER_SEQ when the clock has not moved on; receivers compare two values of one sender by
// serial-number arithmetic (RFC 1982), so the wrap every 71.6 minutes is just one more step
// forward, and a restarted process continues above its previous life without remembering it.

const SEQ_SPACE = 2 ** 32;
const HALF_SEQ_SPACE = 2 ** 31;

/** Whether `a` comes after `b` in 32-bit serial-number arithmetic (RFC 1982): 0 < (a − b) mod 2^32 < 2^31. */
export function serialNewer(a: number, b: number): boolean {
  const distance = (a - b + SEQ_SPACE) % SEQ_SPACE;
  return distance !== 0 && distance < HALF_SEQ_SPACE;
}

/** The SENDER_SEQ of a sender's next message at `nowUs` (Unix microseconds), after `previous` (none at start). */
export function nextSenderSeq(previous: number | undefined, nowUs: number): number {
  const clock = Math.floor(nowUs) % SEQ_SPACE;
  if (previous === undefined || serialNewer(clock, previous)) return clock;
  return (previous + 1) % SEQ_SPACE;
}
