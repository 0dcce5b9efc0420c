// The one Prometheus counter of rejected control messages, for every process with a
// ControlChannel (coordinator, agents). Every known reason is served from the start, at 0,
// so an alert on increase() sees the first rejection; reasons are lower case like the
// analyzer's.
import type { Registry } from 'prom-client';
import { scrapedLabelled } from './scraped-metrics.js';
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
  scrapedLabelled(
    registry,
    'counter',
    name,
    'Control messages rejected, by reason (decoder codes, no_sender_id, stale, replayed, too_many_senders)',
    'reason',
    () => {
      const rejected = read();
      return [...new Set([...REJECTION_REASONS, ...Object.keys(rejected)])].map(
        (code) => [code.toLowerCase(), rejected[code] ?? 0] as const,
      );
    },
  );
}
