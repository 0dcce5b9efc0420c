// A simulated clock and network for the control plane's unit tests: coordinators (and the
// members played here) run their real code, their messages go through the real codec, and
// the test decides when time passes, which hosts are up and which pairs cannot talk.
import type { Cancel, Clock } from '../../common/clock.js';
import type { ControlTransport } from '../../common/control-channel.js';
import {
  encodeControlMessage,
  heartbeat,
  join,
  readControlMessage,
  verifyControlMessage,
  type ControlBody,
  type ControlView,
  type Endpoint,
  type TopologyUpdateFields,
} from '../../protocol/index.js';

interface Timer {
  at: number;
  seq: number;
  periodMs: number | undefined;
  fn: () => void;
}

/** Time moves only in advance(); timers due at the same instant run in the order they were set. */
export class SimulatedClock implements Clock {
  private nowMs = 1_000_000;
  private seq = 0;
  private readonly timers = new Set<Timer>();

  now(): number {
    return this.nowMs;
  }

  after(ms: number, fn: () => void): Cancel {
    return this.add(ms, undefined, fn);
  }

  every(ms: number, fn: () => void): Cancel {
    return this.add(ms, ms, fn);
  }

  /** Runs every timer due within `ms`, in time order. */
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.timers)
        if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      if (!next) break;
      this.nowMs = next.at;
      if (next.periodMs === undefined) this.timers.delete(next);
      else {
        next.at += next.periodMs;
        next.seq = this.seq++;
      }
      next.fn();
    }
    this.nowMs = end;
  }

  private add(ms: number, periodMs: number | undefined, fn: () => void): Cancel {
    const timer: Timer = { at: this.nowMs + Math.max(1, ms), seq: this.seq++, periodMs, fn };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }
}

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const LATENCY_MS = 1;
const keyOf = (e: Endpoint): string => `${e.ip}:${e.port}`;

/** Hosts by IP; a host that is down neither sends nor receives; a cut pair cannot talk. */
export class SimulatedNetwork {
  readonly down = new Set<string>();
  private readonly cuts = new Set<string>();
  private readonly handlers = new Map<string, (view: ControlView, from: Endpoint) => void>();
  private senderSeq = 0;

  constructor(readonly clock: SimulatedClock) {}

  cut(a: string, b: string): void {
    this.cuts.add([a, b].sort().join('|'));
  }

  heal(): void {
    this.cuts.clear();
  }

  reachable(a: string, b: string): boolean {
    return !this.down.has(a) && !this.down.has(b) && !this.cuts.has([a, b].sort().join('|'));
  }

  /** A transport bound at `at`; what arrives goes to `onMessage`. */
  attach(at: Endpoint, onMessage: (view: ControlView, from: Endpoint) => void): ControlTransport {
    const transport: ControlTransport = {
      received: 0,
      sent: 0,
      rejected: {},
      // Through the real codec, as a datagram would go.
      encode: (body: ControlBody) =>
        encodeControlMessage(
          { ...body, timestamp: Math.floor(this.clock.now() / 1000), senderSeq: ++this.senderSeq },
          KEY,
        ),
      sendEncoded: (bytes: Buffer, to: Endpoint) => {
        transport.sent++;
        if (!this.reachable(at.ip, to.ip)) return;
        this.clock.after(LATENCY_MS, () => {
          const handler = this.handlers.get(keyOf(to));
          const decoded = verifyControlMessage(bytes, KEY);
          if (handler && decoded.ok && this.reachable(at.ip, to.ip))
            handler(readControlMessage(decoded.message), at);
        });
      },
      send: (body: ControlBody, to: Endpoint) => {
        transport.sendEncoded(transport.encode(body), to);
        return true;
      },
      close: async () => {
        this.handlers.delete(keyOf(at));
      },
    };
    this.handlers.set(keyOf(at), (view, from) => {
      transport.received++;
      onMessage(view, from);
    });
    return transport;
  }
}

/**
 * A capture node's control side as agents do it (common/coordinator-link.ts): JOIN to every
 * coordinator until accepted, HEARTBEAT to every coordinator with the applied epoch and the
 * highest term seen, follow only the highest term.
 */
export class SimulatedMember {
  term = 0;
  accepted = false;
  /** Topologies taken, with the time they arrived. */
  readonly topologies: Array<TopologyUpdateFields & { atMs: number }> = [];
  private readonly transport: ControlTransport;
  private stopHeartbeat: Cancel | undefined;

  constructor(
    private readonly net: SimulatedNetwork,
    readonly nodeId: number,
    readonly at: Endpoint,
    private readonly coordinators: readonly Endpoint[],
    heartbeatIntervalMs: number,
  ) {
    this.transport = net.attach(at, (view) => this.receive(view));
    this.sendToAll(join({ nodeId, role: 'capture' }));
    this.stopHeartbeat = net.clock.every(heartbeatIntervalMs, () => {
      if (!this.accepted) this.sendToAll(join({ nodeId, role: 'capture' }));
      this.sendToAll(heartbeat({ nodeId, epoch: this.epoch, role: 'capture', term: this.term }));
    });
  }

  get epoch(): number {
    return this.topologies.at(-1)?.epoch ?? 0;
  }

  stop(): void {
    this.stopHeartbeat?.();
    this.stopHeartbeat = undefined;
  }

  private sendToAll(body: ControlBody): void {
    for (const c of this.coordinators) this.transport.send(body, c);
  }

  private receive(view: ControlView): void {
    if (view.type !== 'ACCEPT' && view.type !== 'TOPOLOGY_UPDATE') return;
    if (view.term < this.term) return; // a deposed coordinator: fenced
    this.term = view.term;
    this.accepted = true;
    if (view.type === 'TOPOLOGY_UPDATE') this.topologies.push({ ...view, atMs: this.net.clock.now() });
  }
}
