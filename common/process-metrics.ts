// What every component's /metrics says about the process itself, besides its own metrics:
// dicap_build_info (which dicap and Node.js run here, for rollouts and for joining on
// version) and prom-client's default metrics (process_resident_memory_bytes, CPU seconds,
// open file descriptors, nodejs_eventloop_lag_seconds, heap, GC), read at each scrape.
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import { DICAP_VERSION } from './version.js';

export function addProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'dicap_build_info',
    help: 'Always 1; the labels say which dicap version and Node.js version run this process',
    labelNames: ['version', 'nodejs'],
    registers: [registry],
  }).set({ version: DICAP_VERSION, nodejs: process.version }, 1);
}
