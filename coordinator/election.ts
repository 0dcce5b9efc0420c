// Which coordinator steers (protocol/SPEC.md §6.8). A pure state machine: the coordinator
// feeds it what it hears (SYNC, SYNC_ACK, VOTE_REQUEST, VOTE, terms seen anywhere) and the
// clock, and carries out the actions it returns.
//
// - Terms are unique per coordinator: TERM = round × 256 + (coordinator ID mod 256), so two
//   coordinators can never hold the same term, let alone both be active in it.
// - A standby that hears no SYNC for the election timeout (jittered 1-1.5×) becomes a candidate.
//   It first asks its peers whether they would vote for it in the next round (pre-vote; no
//   term changes), and only with a majority of yeses starts that round for real: its term
//   then goes up and it asks for votes. A majority of the configured coordinators (itself
//   included) makes it active. One vote per term; a voter only votes for a candidate that
//   knows an epoch at least as new as its own, so the winner has the newest state; and nobody
//   votes while it knows a live active (its lease holds, or its SYNC is recent).
//   The pre-vote round is why a coordinator cut off from the others does not come back with
//   an inflated term that would depose a healthy active.
// - The active keeps a lease: without SYNC_ACKs from a majority within half the election
//   timeout it steps down, before any peer can time out and be elected, so a partitioned
//   active stops steering before another one starts.
// - Solitude: a candidate that has heard no peer at all for the solitude timeout becomes
//   active alone if a majority of the capture nodes heartbeat to it (its witnesses that it is
//   not the one cut off); witnesses also keep such an active's lease while no peer is heard
//   (never the lease of an active that heard a peer within the solitude timeout: that one may
//   be the one cut off). This lets the last survivor of three steer. What it gives up: in a
//   partition that separates coordinators from each other but not from the capture nodes,
//   two coordinators may be active at once (in different terms). Capture nodes obey only the
//   highest term they have seen, and report it in SEEN_TERM, which makes the lower one step
//   down.
// - Anyone who sees a higher term adopts it and becomes a standby.
import { inEpochTermSpace } from '../protocol/index.js';

export type CoordinatorRole = 'standby' | 'candidate' | 'active';

/** A standby stands after 1 to this many election timeouts without SYNC (the jitter). */
export const ELECTION_JITTER_MAX = 1.5;

export interface ElectionConfig {
  /** 1..255: it is also the low byte of every term this coordinator starts. */
  selfId: number;
  /** The other coordinators of the cluster. */
  peerIds: readonly number[];
  electionTimeoutMs: number;
  /** A lone coordinator (no peers) becomes active after this first wait (to learn terms and epochs). */
  firstWaitMs: number;
  solitudeMs: number;
  random?: () => number;
}

export type ElectionAction =
  | { kind: 'request-votes'; term: number; preVote: boolean }
  | { kind: 'become-active'; term: number; why: string }
  | { kind: 'step-down'; term: number; why: string };

/** The first term a coordinator starts after `seen`: the next round, tagged with its ID. */
export function nextTerm(seen: number, selfId: number): number {
  return (Math.floor(seen / 256) + 1) * 256 + (selfId & 0xff);
}

export class Election {
  role: CoordinatorRole = 'standby';
  term = 0;
  /** The coordinator ID of the active we follow, or our own when active. */
  leaderId: number | undefined;
  private preVoting = false;
  /** The term a candidate stands for (in the pre-vote round it is not yet our term). */
  private proposedTerm = 0;
  private readonly votedFor = new Map<number, number>();
  private votes = new Set<number>();
  private deadlineMs: number;
  private lastPeerHeardMs: number;
  private lastSyncMs = -Infinity;
  private witnessed = false;
  private readonly lastAckMs = new Map<number, number>();
  private readonly random: () => number;

  constructor(
    readonly config: ElectionConfig,
    nowMs: number,
  ) {
    this.random = config.random ?? Math.random;
    this.deadlineMs = nowMs + (config.peerIds.length === 0 ? config.firstWaitMs : this.timeout());
    this.lastPeerHeardMs = nowMs;
  }

  get majority(): number {
    return Math.floor((1 + this.config.peerIds.length) / 2) + 1;
  }

  get leaseMs(): number {
    return this.config.electionTimeoutMs / 2;
  }

  /** Any term seen anywhere (a peer's message, a member's SEEN_TERM); terms in the reserve are not taken. */
  observeTerm(term: number, nowMs: number): ElectionAction | undefined {
    if (term <= this.term || !inEpochTermSpace(term)) return undefined;
    // Only this term's vote matters from here on: older ones are forgotten (a bounded table).
    for (const old of this.votedFor.keys()) if (old < term) this.votedFor.delete(old);
    const wasActive = this.role === 'active';
    this.term = term;
    this.role = 'standby';
    this.preVoting = false;
    this.leaderId = undefined;
    this.votes.clear();
    this.deadlineMs = nowMs + this.timeout();
    return wasActive ? { kind: 'step-down', term, why: `saw the higher term ${term}` } : undefined;
  }

  /** SYNC from an active coordinator; `follow` when we take its state (and ack). */
  onSync(term: number, fromId: number, nowMs: number): { follow: boolean; action?: ElectionAction } {
    this.lastPeerHeardMs = nowMs;
    if (term < this.term) return { follow: false };
    const action = this.observeTerm(term, nowMs);
    this.role = 'standby';
    this.preVoting = false;
    this.leaderId = fromId;
    this.lastSyncMs = nowMs;
    this.deadlineMs = nowMs + this.timeout();
    return { follow: true, action };
  }

  onSyncAck(term: number, fromId: number, nowMs: number): ElectionAction | undefined {
    this.lastPeerHeardMs = nowMs;
    if (term > this.term) return this.observeTerm(term, nowMs);
    if (this.role === 'active' && term === this.term) this.lastAckMs.set(fromId, nowMs);
    return undefined;
  }

  /** Whether to grant `candidateId` our (pre-)vote for `term`. */
  onVoteRequest(
    term: number,
    candidateId: number,
    candidateEpoch: number,
    ownEpoch: number,
    preVote: boolean,
    nowMs: number,
  ): { grant: boolean; action?: ElectionAction } {
    this.lastPeerHeardMs = nowMs;
    if (term <= this.term || this.hasLiveActive(nowMs) || candidateEpoch < ownEpoch) return { grant: false };
    if (preVote) return { grant: true }; // a hypothetical question: nothing changes here
    const action = this.observeTerm(term, nowMs);
    const votedFor = this.votedFor.get(term);
    const grant = votedFor === undefined || votedFor === candidateId;
    if (grant) {
      this.votedFor.set(term, candidateId);
      this.deadlineMs = nowMs + this.timeout(); // give the candidate time to win
    }
    return { grant, action };
  }

  onVote(term: number, voterId: number, preVote: boolean, nowMs: number): ElectionAction | undefined {
    this.lastPeerHeardMs = nowMs;
    if (this.role !== 'candidate') return undefined;
    if (preVote) {
      if (!this.preVoting || term !== this.proposedTerm) return undefined;
      this.votes.add(voterId);
      return this.votes.size >= this.majority ? this.standForElection(nowMs) : undefined;
    }
    if (this.preVoting || term !== this.term) return undefined;
    this.votes.add(voterId);
    return this.votes.size >= this.majority
      ? this.becomeActive(nowMs, `${this.votes.size} of ${1 + this.config.peerIds.length} votes`)
      : undefined;
  }

  /**
   * Timers. `termsSeen`: the highest term heard from anyone (members included); `witnessed`:
   * a majority of the capture nodes heartbeat to us.
   */
  tick(nowMs: number, termsSeen: number, witnessed: boolean): ElectionAction | undefined {
    this.witnessed = witnessed;
    if (this.role === 'active') {
      if (this.hasLiveActive(nowMs)) return undefined;
      this.role = 'standby';
      this.leaderId = undefined;
      this.deadlineMs = nowMs + this.timeout();
      return {
        kind: 'step-down',
        term: this.term,
        why: `no SYNC_ACK from a majority within ${this.leaseMs} ms`,
      };
    }
    // A next term in the reserve (SPEC.md §6.7) is never taken: we stay what we are.
    const next = nextTerm(Math.max(this.term, this.proposedTerm, termsSeen), this.config.selfId);
    if (!inEpochTermSpace(next)) return undefined;
    if (this.role === 'candidate' && witnessed && nowMs - this.lastPeerHeardMs >= this.config.solitudeMs) {
      this.term = next;
      return this.becomeActive(
        nowMs,
        `no peer heard for ${this.config.solitudeMs} ms, a majority of capture nodes heartbeat here (solitude rule)`,
      );
    }
    if (nowMs < this.deadlineMs) return undefined;
    // A (new) pre-vote round for the next term.
    this.role = 'candidate';
    this.preVoting = true;
    this.leaderId = undefined;
    this.proposedTerm = nextTerm(Math.max(this.term, termsSeen), this.config.selfId);
    this.votes = new Set([this.config.selfId]);
    this.deadlineMs = nowMs + this.timeout();
    if (this.votes.size >= this.majority) return this.standForElection(nowMs);
    return { kind: 'request-votes', term: this.proposedTerm, preVote: true };
  }

  /** The pre-vote round was won: the real election, in the proposed term. */
  private standForElection(nowMs: number): ElectionAction {
    this.preVoting = false;
    this.term = this.proposedTerm;
    this.votedFor.set(this.term, this.config.selfId);
    this.votes = new Set([this.config.selfId]);
    this.deadlineMs = nowMs + this.timeout();
    if (this.votes.size >= this.majority) return this.becomeActive(nowMs, 'the only coordinator');
    return { kind: 'request-votes', term: this.term, preVote: false };
  }

  private hasLiveActive(nowMs: number): boolean {
    if (this.role === 'active') {
      // Witnesses keep the lease of an active in solitude only. An active that heard a peer
      // lately may be the one cut off: it steps down by its lease, before a peer can time out
      // and be elected, even if capture nodes were heard lately (the coordinator counts them
      // as witnesses for a whole node timeout, which can outlast an election).
      if (
        this.config.peerIds.length === 0 ||
        (this.witnessed && nowMs - this.lastPeerHeardMs >= this.config.solitudeMs)
      )
        return true;
      return (
        [...this.lastAckMs.values()].filter((at) => nowMs - at <= this.leaseMs).length + 1 >= this.majority
      );
    }
    return (
      this.role === 'standby' &&
      this.leaderId !== undefined &&
      nowMs - this.lastSyncMs < this.config.electionTimeoutMs
    );
  }

  private becomeActive(nowMs: number, why: string): ElectionAction {
    this.role = 'active';
    this.preVoting = false;
    this.leaderId = this.config.selfId;
    this.lastAckMs.clear();
    for (const peer of this.config.peerIds) this.lastAckMs.set(peer, nowMs); // a fresh lease
    return { kind: 'become-active', term: this.term, why };
  }

  /** The election timeout with jitter (1×..ELECTION_JITTER_MAX×), so standbys rarely stand at once. */
  private timeout(): number {
    return this.config.electionTimeoutMs * (1 + this.random() * (ELECTION_JITTER_MAX - 1));
  }
}
