// The per-second rates of the status lines (agent: frames seen, analyzer: datagrams).

/**
 * A meter of a running total: each call with the total now returns its growth per second
 * since the previous call (since the meter was made, the first time).
 */
export function rateMeter(): (total: number) => number {
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
