// Freshness of authenticated control messages (SPEC.md §1.1, §6.4): a message is dropped when
// its TIMESTAMP is more than 30 s away from the reference clock, or when it is not newer than
// the last one accepted from the same sender. Pure: the caller passes the clock, so an agent
// can judge an in-band frame by its capture timestamp (SPEC.md §6.2).
//
// The state is bounded: one entry per sender, created only for messages whose MAC verified,
// forgotten once the sender's last accepted TIMESTAMP is more than twice the window old (any
// older message is stale by then, so forgetting cannot let a replay in), and at most
// `maxSenders` entries (a new sender beyond that is refused, TOO_MANY_SENDERS).
import { AvpCode } from './avp.js';
import type { ControlMessage } from './control-message.js';
import { serialNewer } from './sender-seq.js';

/** Largest allowed distance between TIMESTAMP and the reference clock, in seconds. */
export const FRESHNESS_WINDOW_S = 30;
/** A sender's state is forgotten when its last accepted TIMESTAMP is this much older than the clock. */
export const SENDER_EXPIRY_S = 2 * FRESHNESS_WINDOW_S;
/** Senders remembered at once, by default. */
export const DEFAULT_MAX_SENDERS = 65_536;

/**
 * What "newer" means. 'sender-seq' (UDP control messages): SENDER_SEQ after the last accepted
 * in 32-bit serial-number arithmetic (SPEC.md §6.7). 'epoch' (in-band TOPOLOGY_UPDATE frames):
 * (TERM, EPOCH) greater, compared as a pair.
 */
export type ReplayOrder = 'sender-seq' | 'epoch';

export type ReplayRejection = 'STALE' | 'REPLAYED' | 'TOO_MANY_SENDERS';

export type ReplayCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: { readonly code: ReplayRejection; readonly reason: string } };

interface Position {
  readonly term: number;
  readonly seq: number;
  /** The TIMESTAMP of the last accepted message, for expiry. */
  readonly timestamp: number;
}

function avpValue(message: ControlMessage, code: number): number {
  return message.avps.find((avp) => avp.code === code)?.value ?? 0;
}

export interface ReplayGuardOptions {
  readonly order?: ReplayOrder;
  readonly maxSenders?: number;
}

export class ReplayGuard {
  readonly #order: ReplayOrder;
  readonly #maxSenders: number;
  readonly #last = new Map<string, Position>();
  #lastSweepS = 0;

  constructor(options: ReplayOrder | ReplayGuardOptions = {}) {
    const o = typeof options === 'string' ? { order: options } : options;
    this.#order = o.order ?? 'sender-seq';
    this.#maxSenders = o.maxSenders ?? DEFAULT_MAX_SENDERS;
  }

  /** Senders remembered now. */
  get size(): number {
    return this.#last.size;
  }

  /**
   * Accepts `message` from `senderKey` (the sender's identity, protocol/sender-identity.ts) at
   * reference time `nowMs` (Unix milliseconds) and records it, or rejects it and changes
   * nothing. Call only with messages whose MAC verified.
   */
  check(senderKey: string, message: ControlMessage, nowMs: number): ReplayCheck {
    const nowS = Math.floor(nowMs / 1000);
    if (Math.abs(nowS - message.timestamp) > FRESHNESS_WINDOW_S) {
      return {
        ok: false,
        error: {
          code: 'STALE',
          reason: `TIMESTAMP ${message.timestamp} is ${nowS - message.timestamp} s away from the clock (${nowS}); the window is ±${FRESHNESS_WINDOW_S} s — check the sender's clock`,
        },
      };
    }
    this.#sweep(nowS);
    const next: Position = {
      term: avpValue(message, AvpCode.TERM),
      seq: this.#order === 'epoch' ? avpValue(message, AvpCode.EPOCH) : message.senderSeq,
      timestamp: message.timestamp,
    };
    let last = this.#last.get(senderKey);
    if (last && this.#expired(last, nowS)) {
      this.#last.delete(senderKey);
      last = undefined;
    }
    if (last && !this.#newer(next, last)) {
      const what = this.#order === 'epoch' ? '(TERM, EPOCH)' : 'SENDER_SEQ';
      const shown = (p: Position) => (this.#order === 'epoch' ? `(${p.term}, ${p.seq})` : `${p.seq}`);
      return {
        ok: false,
        error: {
          code: 'REPLAYED',
          reason: `${what} ${shown(next)} from ${senderKey} is not newer than ${shown(last)}`,
        },
      };
    }
    if (!last && this.#last.size >= this.#maxSenders) {
      return {
        ok: false,
        error: {
          code: 'TOO_MANY_SENDERS',
          reason: `${this.#maxSenders} senders are remembered already; ${senderKey} is refused until some expire`,
        },
      };
    }
    this.#last.set(senderKey, next);
    return { ok: true };
  }

  #newer(next: Position, last: Position): boolean {
    if (this.#order === 'sender-seq') return serialNewer(next.seq, last.seq);
    return next.term > last.term || (next.term === last.term && next.seq > last.seq);
  }

  #expired(position: Position, nowS: number): boolean {
    return nowS - position.timestamp > SENDER_EXPIRY_S;
  }

  /** At most once a second: drop every expired sender, so silent senders do not pile up. */
  #sweep(nowS: number): void {
    if (nowS === this.#lastSweepS) return;
    this.#lastSweepS = nowS;
    for (const [sender, position] of this.#last) if (this.#expired(position, nowS)) this.#last.delete(sender);
  }
}
