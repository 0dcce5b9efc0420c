// Time as the control plane's state machines see it. It is passed in, so the same code runs
// on the wall clock in production and on a simulated clock in tests (test/coordinator/).
export type Cancel = () => void;

export interface Clock {
  /** Milliseconds since the epoch (or since the start of a simulation). */
  now(): number;
  /** Calls `fn` once after `ms`. */
  after(ms: number, fn: () => void): Cancel;
  /** Calls `fn` every `ms`. */
  every(ms: number, fn: () => void): Cancel;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
};
