// Rates from cumulative counters reported now and then: the increase over the time between
// two reports, a reset (restart) counted from zero, reports too close together ignored for
// the rate, and stale rates not shown.
import { describe, expect, it } from 'vitest';
import { CounterRates, MIN_RATE_INTERVAL_MS, increase } from '../../coordinator/counter-rates.js';

describe('counter rates', () => {
  it('are the increase per second between two reports', () => {
    const r = new CounterRates<'seen' | 'drops'>();
    r.observe({ seen: 1000, drops: 0 }, 10_000);
    expect(r.rates).toBeUndefined();
    r.observe({ seen: 6000, drops: 5 }, 12_500);
    expect(r.rates).toEqual({ seen: 2000, drops: 2 });
    expect(r.totals).toEqual({ seen: 6000, drops: 5 });
  });

  it('count a counter that went down (the sender restarted) from zero, as Prometheus does', () => {
    expect(increase(5000, 7000)).toBe(2000);
    expect(increase(5000, 300)).toBe(300);
    const r = new CounterRates<'seen'>();
    r.observe({ seen: 90_000 }, 0);
    r.observe({ seen: 400 }, 1000);
    expect(r.rates).toEqual({ seen: 400 });
  });

  it(`keep the older baseline for reports closer than ${MIN_RATE_INTERVAL_MS} ms, but show the newest totals`, () => {
    const r = new CounterRates<'seen'>();
    r.observe({ seen: 0 }, 0);
    r.observe({ seen: 1000 }, 1000);
    r.observe({ seen: 1100 }, 1050); // an extra heartbeat right after the last one
    expect(r.rates).toEqual({ seen: 1000 });
    expect(r.totals).toEqual({ seen: 1100 });
    r.observe({ seen: 3000 }, 2000);
    expect(r.rates).toEqual({ seen: 2000 }); // from the report at 1000 ms
  });

  it('are not current once the newest report is older than the staleness limit', () => {
    const r = new CounterRates<'seen'>();
    r.observe({ seen: 0 }, 0);
    r.observe({ seen: 500 }, 500);
    expect(r.current(1500, 1000)).toEqual({ seen: 1000 });
    expect(r.current(1501, 1000)).toBeUndefined();
  });
});
