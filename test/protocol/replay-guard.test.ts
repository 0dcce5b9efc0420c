import { describe, expect, it } from 'vitest';
import {
  ReplayGuard,
  heartbeat,
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
  it('accepts only increasing SENDER_SEQ per sender, with TERM taking precedence', () => {
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
    expect(guard.check('c', tu(8, 1), VECTOR_TIME_MS).ok).toBe(true); // higher term, lower seq
    expect(guard.check('c', tu(7, 99), VECTOR_TIME_MS).ok).toBe(false); // lower term
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

  it('forgets a sender on request', () => {
    const guard = new ReplayGuard();
    expect(guard.check('a', beat(5), VECTOR_TIME_MS).ok).toBe(true);
    guard.forget('a');
    expect(guard.check('a', beat(1), VECTOR_TIME_MS).ok).toBe(true);
  });
});
