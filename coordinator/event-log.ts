// What happened in the cluster, for people: joins, leaves, timeouts, topologies, anomalies.
// A bounded list, newest last, shown by the dashboard and the JSON endpoint.
export type ClusterEventKind =
  'join' | 'leave' | 'timeout' | 'topology' | 'anomaly' | 'coverage' | 'resync' | 'role' | 'selection';

export interface ClusterEvent {
  atMs: number;
  kind: ClusterEventKind;
  text: string;
}

export const DEFAULT_EVENT_LOG_SIZE = 500;

export class EventLog {
  private readonly events: ClusterEvent[] = [];

  constructor(
    private readonly size = DEFAULT_EVENT_LOG_SIZE,
    private readonly echo?: (event: ClusterEvent) => void,
    /** The owner's clock (the coordinator's may be simulated). */
    private readonly now: () => number = Date.now,
  ) {}

  add(kind: ClusterEventKind, text: string, atMs = this.now()): void {
    const event = { atMs, kind, text };
    this.events.push(event);
    if (this.events.length > this.size) this.events.shift();
    this.echo?.(event);
  }

  /** Merges the previous active's events (coordinator/history.ts) with ours, in time order, within the bound. */
  restore(theirs: readonly ClusterEvent[]): void {
    const merged = [...theirs, ...this.events.splice(0)].sort((a, b) => a.atMs - b.atMs);
    this.events.push(...merged.slice(-this.size));
  }

  list(): readonly ClusterEvent[] {
    return this.events;
  }
}
