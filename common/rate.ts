// The per-second rates of the status lines (agent: frames seen, analyzer: datagrams).

/**
 * A meter of a running total: each call with the total now returns its growth per second
 * since the previous call (since the meter was made, the first time).
 */
function rateMeter(): (total: number) => number {
  let lastTotal = 0;
  let lastTime = Date.now();
  return (total) => {
    const now = Date.now();
    const rate = ((total - lastTotal) * 1000) / Math.max(1, now - lastTime);
    lastTotal = total;
    lastTime = now;
    return rate;
  };
}

/**
 * The status of the agent and the analyzer: every `seconds` (never with 0) one read of the
 * counters, handed to `report` with the growth of `total` per second since the previous
 * tick. Returns what stops it.
 */
export function statusTicks<C>(
  seconds: number,
  read: () => C,
  total: (counters: C) => number,
  report: (counters: C, rate: number) => void,
): () => void {
  if (seconds <= 0) return () => {};
  const rate = rateMeter();
  const timer = setInterval(() => {
    const counters = read();
    report(counters, rate(total(counters)));
  }, seconds * 1000);
  return () => clearInterval(timer);
}
