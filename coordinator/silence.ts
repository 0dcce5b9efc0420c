// When a capture node counts as gone (protocol/SPEC.md §6.7): after the node timeout of
// silence, or sooner when its peers keep reporting their ledgers while it is silent. Peers
// that report prove that the coordinator's own network works and that traffic flows, so a
// node that missed its heartbeats meanwhile is the one that died or was cut off; waiting
// the whole node timeout only lets its share of the traffic go uncaptured for longer.
// Pure state (the caller passes the clock).

/**
 * A node has been silent this many intervals before its peers' reports count against it:
 * one lost heartbeat and the next half an interval late. As for the node timeout (the rule
 * in common/timing.ts), one late or lost heartbeat must not remove a live node: at 1.5 a
 * heartbeat 50 ms late at the fast profile did (an agent's event loop on a busy 2-core
 * machine, in the lab), and the live node's share was then doubled or lost across the
 * topologies that removed and re-admitted it.
 */
const SILENT_HEARTBEATS = 2.5;
/** ...and each live peer has reported its ledger in this many rounds since the node was last heard. */
const PEER_ROUNDS = 2;

export interface SilenceMember {
  nodeId: number;
  lastHeardMs: number;
}

export class LedgerRounds {
  /** Per capture node, the times of its last PEER_ROUNDS ledger rounds (newest last). */
  private readonly rounds = new Map<number, number[]>();

  constructor(private readonly heartbeatIntervalMs: number) {}

  /** A LEDGER from `nodeId`. Reports within half an interval of the last belong to one round (one per epoch). */
  reported(nodeId: number, nowMs: number): void {
    const times = this.rounds.get(nodeId) ?? [];
    if (times.length > 0 && nowMs - times.at(-1)! < this.heartbeatIntervalMs / 2) return;
    times.push(nowMs);
    if (times.length > PEER_ROUNDS) times.shift();
    this.rounds.set(nodeId, times);
  }

  forget(nodeId: number): void {
    this.rounds.delete(nodeId);
  }

  /**
   * Capture nodes silent for SILENT_HEARTBEATS intervals while every other capture node
   * heard lately has reported its ledger in PEER_ROUNDS rounds since (at least one such peer).
   */
  silentWhilePeersReport(capture: readonly SilenceMember[], nowMs: number): SilenceMember[] {
    const hb = this.heartbeatIntervalMs;
    const live = capture.filter((m) => nowMs - m.lastHeardMs <= hb);
    return capture.filter((m) => {
      if (nowMs - m.lastHeardMs <= SILENT_HEARTBEATS * hb) return false;
      const peers = live.filter((p) => p.nodeId !== m.nodeId);
      return (
        peers.length > 0 &&
        peers.every((p) => {
          const times = this.rounds.get(p.nodeId) ?? [];
          return times.length === PEER_ROUNDS && times[0]! > m.lastHeardMs;
        })
      );
    });
  }
}
