// The one Prometheus counter of rejected control messages, for every process with a
// ControlChannel (coordinator, agents). Every known reason is served from the start, at 0,
// so an alert on increase() sees the first rejection; reasons are lower case like the
// analyzer's.
import { Counter, type Registry } from 'prom-client';
import { CONTROL_ERROR_CODES } from '../protocol/index.js';
import type { RejectionCounts } from './control-channel.js';

const REJECTION_REASONS: readonly string[] = [
  ...CONTROL_ERROR_CODES,
  'NO_SENDER_ID',
  'STALE',
  'REPLAYED',
  'TOO_MANY_SENDERS',
];

export function registerRejectedMessages(
  registry: Registry,
  name: string,
  read: () => RejectionCounts,
): void {
  new Counter({
    name,
    help: 'Control messages rejected, by reason (decoder codes, no_sender_id, stale, replayed, too_many_senders)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      const rejected = read();
      for (const code of new Set([...REJECTION_REASONS, ...Object.keys(rejected)]))
        this.inc({ reason: code.toLowerCase() }, rejected[code] ?? 0);
    },
  });
}
