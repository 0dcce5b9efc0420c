// Freshness of authenticated control messages (SPEC.md §1.1): a message is dropped when
// its TIMESTAMP is more than 30 s away from the reference clock, or when it is not newer
// than the last one accepted from the same sender. Pure: the caller passes the clock, so
// an agent can judge an in-band frame by its capture timestamp (SPEC.md, dicap extensions).
import { AvpCode } from './avp.js';
import type { ControlMessage } from './control-message.js';

/** Largest allowed distance between TIMESTAMP and the reference clock, in seconds. */
export const FRESHNESS_WINDOW_S = 30;

/**
 * What "newer" means. 'sender-seq' (UDP control messages): (TERM, SENDER_SEQ) greater than
 * the last accepted. 'epoch' (in-band TOPOLOGY_UPDATE frames): (TERM, EPOCH) greater.
 * A message without TERM (agents' messages) counts as term 0.
 */
export type ReplayOrder = 'sender-seq' | 'epoch';

export type ReplayCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: { readonly code: 'STALE' | 'REPLAYED'; readonly reason: string } };

interface Position {
  readonly term: number;
  readonly seq: number;
}

function avpValue(message: ControlMessage, code: number): number {
  return message.avps.find((avp) => avp.code === code)?.value ?? 0;
}

export class ReplayGuard {
  readonly #order: ReplayOrder;
  readonly #last = new Map<string, Position>();

  constructor(order: ReplayOrder = 'sender-seq') {
    this.#order = order;
  }

  /**
   * Accepts `message` from `senderKey` (any stable name of the sender, e.g. its node ID or
   * address) at reference time `nowMs` (Unix milliseconds) and records it, or rejects it
   * and changes nothing. Call only with messages whose MAC verified.
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
    const seqName = this.#order === 'epoch' ? 'EPOCH' : 'SENDER_SEQ';
    const next: Position = {
      term: avpValue(message, AvpCode.TERM),
      seq: this.#order === 'epoch' ? avpValue(message, AvpCode.EPOCH) : message.senderSeq,
    };
    const last = this.#last.get(senderKey);
    if (last && !(next.term > last.term || (next.term === last.term && next.seq > last.seq))) {
      return {
        ok: false,
        error: {
          code: 'REPLAYED',
          reason: `(TERM, ${seqName}) (${next.term}, ${next.seq}) from ${senderKey} is not newer than (${last.term}, ${last.seq})`,
        },
      };
    }
    this.#last.set(senderKey, next);
    return { ok: true };
  }

  /** Drops what is remembered of a sender (it left or was removed), so its state does not pile up. */
  forget(senderKey: string): void {
    this.#last.delete(senderKey);
  }
}
