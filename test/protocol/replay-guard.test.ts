import { describe, expect, it } from 'vitest';
import {
  ReplayGuard,
  SENDER_EXPIRY_S,
  heartbeat,
  nextSenderSeq,
  serialNewer,
  topologyUpdate,
  verifyControlMessage,
  type ControlMessage,
} from '../../protocol/index.js';
import { CLUSTER_KEY, TOPOLOGY_UPDATE_HEX, TOPOLOGY_UPDATE_TIMESTAMP_S } from './vectors.js';

const VECTOR_TIME_MS = TOPOLOGY_UPDATE_TIMESTAMP_S * 1000;

function vectorMessage(): ControlMessage {
  const result = verifyControlMessage(Buffer.from(TOPOLOGY_UPDATE_HEX, 'hex'), CLUSTER_KEY);
  if (!result.ok) throw new Error(result.error.reason);
  return result.message;
}

function beat(senderSeq: number, timestamp = TOPOLOGY_UPDATE_TIMESTAMP_S): ControlMessage {
  return { ...heartbeat({ nodeId: 1, epoch: 1 }), timestamp, senderSeq };
}

describe('ReplayGuard with the SPEC.md §5 TOPOLOGY_UPDATE', () => {
  it('rejects it as stale with today’s clock', () => {
    expect(new ReplayGuard().check('coordinator', vectorMessage(), Date.now())).toMatchObject({
      ok: false,
      error: { code: 'STALE' },
    });
  });

  it('accepts it with a clock at 1795000000 s, then rejects the same message as replayed', () => {
    const guard = new ReplayGuard();
    expect(guard.check('coordinator', vectorMessage(), VECTOR_TIME_MS)).toEqual({ ok: true });
    expect(guard.check('coordinator', vectorMessage(), VECTOR_TIME_MS + 1000)).toMatchObject({
      ok: false,
      error: { code: 'REPLAYED' },
    });
  });
});

describe('ReplayGuard freshness window', () => {
  it('accepts up to 30 s either way (whole seconds) and rejects beyond', () => {
    const at = (deltaMs: number) => new ReplayGuard().check('a', beat(1), VECTOR_TIME_MS + deltaMs).ok;
    expect(at(30_999)).toBe(true);
    expect(at(31_000)).toBe(false);
    expect(at(-30_000)).toBe(true);
    expect(at(-30_001)).toBe(false);
  });
});

describe('ReplayGuard ordering', () => {
  it('accepts only a SENDER_SEQ after the last one of the same sender, whatever the TERM', () => {
    const guard = new ReplayGuard();
    expect(guard.check('a', beat(5), VECTOR_TIME_MS).ok).toBe(true);
    expect(guard.check('a', beat(5), VECTOR_TIME_MS).ok).toBe(false);
    expect(guard.check('a', beat(4), VECTOR_TIME_MS).ok).toBe(false);
    expect(guard.check('b', beat(4), VECTOR_TIME_MS).ok).toBe(true); // another sender
    expect(guard.check('a', beat(6), VECTOR_TIME_MS).ok).toBe(true);
    const tu = (term: number, senderSeq: number) => ({
      ...vectorMessage(),
      avps: vectorMessage().avps.map((a) => (a.code === 16 ? { ...a, value: term } : a)),
      senderSeq,
    });
    expect(guard.check('c', tu(7, 10), VECTOR_TIME_MS).ok).toBe(true);
    expect(guard.check('c', tu(8, 1), VECTOR_TIME_MS).ok).toBe(false); // a higher term does not excuse an old seq
    expect(guard.check('c', tu(6, 11), VECTOR_TIME_MS).ok).toBe(true); // nor does a lower one refuse a new seq
  });

  it('changes no state when it rejects', () => {
    const guard = new ReplayGuard();
    expect(guard.check('a', beat(5), VECTOR_TIME_MS).ok).toBe(true);
    // A stale message with a high sequence must not move the sender's position.
    expect(guard.check('a', beat(100, TOPOLOGY_UPDATE_TIMESTAMP_S - 3600), VECTOR_TIME_MS).ok).toBe(false);
    expect(guard.check('a', beat(6), VECTOR_TIME_MS).ok).toBe(true);
    // A stale first message must not create state for a new sender either.
    expect(guard.check('n', beat(100, 0), VECTOR_TIME_MS).ok).toBe(false);
    expect(guard.check('n', beat(1), VECTOR_TIME_MS).ok).toBe(true);
  });

  it("in 'epoch' order accepts an in-band update only for a greater (TERM, EPOCH), whatever SENDER_SEQ says", () => {
    const guard = new ReplayGuard('epoch');
    const tu = (epoch: number, senderSeq: number): ControlMessage => {
      const fields = {
        term: 7,
        epoch,
        selection: 'round-robin',
        validityStartMs: 0,
        nodeIds: [1],
        analyzers: [],
        k0: 0,
        k1: 0,
        snaplen: 96,
      } as const;
      return { ...topologyUpdate(fields), timestamp: TOPOLOGY_UPDATE_TIMESTAMP_S, senderSeq };
    };
    expect(guard.check('inband', tu(42, 1), VECTOR_TIME_MS).ok).toBe(true);
    expect(guard.check('inband', tu(42, 2), VECTOR_TIME_MS)).toMatchObject({
      ok: false,
      error: { code: 'REPLAYED' },
    });
    expect(guard.check('inband', tu(43, 1), VECTOR_TIME_MS).ok).toBe(true);
  });
});

// Issue 11 case 7: SENDER_SEQ survives the wrap of 2^32 and a restart, and state is bounded.
describe('SENDER_SEQ across wrap and restart (SPEC.md §6.7)', () => {
  it('counts on past 2^32 − 1: 0 comes after 0xFFFFFFFF, and the old values stay replays', () => {
    const guard = new ReplayGuard();
    expect(guard.check('a', beat(0xfffffffe), VECTOR_TIME_MS).ok).toBe(true);
    expect(guard.check('a', beat(0xffffffff), VECTOR_TIME_MS).ok).toBe(true);
    expect(guard.check('a', beat(0), VECTOR_TIME_MS).ok).toBe(true);
    expect(guard.check('a', beat(1), VECTOR_TIME_MS).ok).toBe(true);
    expect(guard.check('a', beat(0xffffffff), VECTOR_TIME_MS)).toMatchObject({ error: { code: 'REPLAYED' } });
  });

  it('serial-number arithmetic: newer is less than half the space ahead', () => {
    expect(serialNewer(1, 0)).toBe(true);
    expect(serialNewer(0, 0xffffffff)).toBe(true);
    expect(serialNewer(0x7fffffff, 0)).toBe(true);
    expect(serialNewer(0x80000000, 0)).toBe(false);
    expect(serialNewer(5, 5)).toBe(false);
    expect(serialNewer(0xffffffff, 0)).toBe(false);
  });

  it('a sender follows its clock in microseconds, or counts on when the clock has not moved', () => {
    const t = 1_795_000_000_000_000; // Unix µs
    const first = nextSenderSeq(undefined, t);
    expect(first).toBe(t % 2 ** 32);
    expect(nextSenderSeq(first, t)).toBe((first + 1) % 2 ** 32);
    expect(nextSenderSeq(first + 5, t + 2)).toBe(first + 6); // a burst runs ahead of the clock
    expect(nextSenderSeq(first, t + 1000)).toBe((t + 1000) % 2 ** 32);
    // Across the wrap: the clock value after 2^32 µs is still "after".
    const nearWrap = 2 ** 32 - 2;
    expect(serialNewer(nextSenderSeq(nearWrap, 2 ** 32 * 1000 + 10), nearWrap)).toBe(true);
  });

  it('a restarted sender (new life, later clock) is accepted without the receiver forgetting anything', () => {
    const guard = new ReplayGuard();
    const bootUs = VECTOR_TIME_MS * 1000;
    let seq = nextSenderSeq(undefined, bootUs);
    for (let i = 0; i < 1000; i++) {
      seq = nextSenderSeq(seq, bootUs); // a burst of 1000 messages within one microsecond
      expect(guard.check('node 11', beat(seq), VECTOR_TIME_MS).ok).toBe(true);
    }
    // Restarted 5 ms later: no memory of the previous life.
    const restarted = nextSenderSeq(undefined, bootUs + 5000);
    expect(guard.check('node 11', beat(restarted), VECTOR_TIME_MS + 5).ok).toBe(true);
    // The previous life's messages are replays now.
    expect(guard.check('node 11', beat(seq), VECTOR_TIME_MS + 6).ok).toBe(false);
  });

  it('forgets a sender once its last TIMESTAMP is 60 s old, when its old messages are stale anyway', () => {
    const guard = new ReplayGuard();
    expect(guard.check('a', beat(5), VECTOR_TIME_MS).ok).toBe(true);
    expect(guard.size).toBe(1);
    const later = VECTOR_TIME_MS + (SENDER_EXPIRY_S + 1) * 1000;
    // The old message replayed now is stale, so forgetting it was safe …
    expect(guard.check('a', beat(5), later)).toMatchObject({ error: { code: 'STALE' } });
    // … and the entry is gone after the sweep of another sender's message.
    expect(guard.check('b', beat(1, Math.floor(later / 1000)), later).ok).toBe(true);
    expect(guard.size).toBe(1);
    // A new life of 'a' with any seq starts afresh.
    expect(guard.check('a', beat(1, Math.floor(later / 1000)), later).ok).toBe(true);
  });

  it('remembers at most maxSenders and refuses new ones beyond, counted by reason', () => {
    const guard = new ReplayGuard({ maxSenders: 3 });
    for (const sender of ['a', 'b', 'c']) expect(guard.check(sender, beat(1), VECTOR_TIME_MS).ok).toBe(true);
    expect(guard.check('d', beat(1), VECTOR_TIME_MS)).toMatchObject({ error: { code: 'TOO_MANY_SENDERS' } });
    expect(guard.check('a', beat(2), VECTOR_TIME_MS).ok).toBe(true); // known senders go on
  });
});
