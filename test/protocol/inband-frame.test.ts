import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  INBAND_ETHERTYPE,
  decodeInbandFrame,
  encodeControlMessage,
  encodeInbandFrame,
  heartbeat,
  readInbandTopologyUpdate,
} from '../../protocol/index.js';
import { CLUSTER_KEY, TOPOLOGY_UPDATE_HEX } from './vectors.js';

const SRC_MAC = Buffer.from('020000000009', 'hex');
const TOPOLOGY = Buffer.from(TOPOLOGY_UPDATE_HEX, 'hex');

describe('in-band topology frame', () => {
  it('is a broadcast 0x88B5 frame around the control message, and round-trips', () => {
    const frame = encodeInbandFrame(SRC_MAC, TOPOLOGY);
    expect(frame.subarray(0, 14).toString('hex')).toBe(
      `ffffffffffff020000000009${INBAND_ETHERTYPE.toString(16)}`,
    );
    expect(decodeInbandFrame(frame)).toEqual({ ok: true, srcMac: SRC_MAC, message: TOPOLOGY });
  });

  it('yields the authentic TOPOLOGY_UPDATE it carries', () => {
    const result = readInbandTopologyUpdate(encodeInbandFrame(SRC_MAC, TOPOLOGY), CLUSTER_KEY);
    expect(result).toMatchObject({ ok: true, topology: { term: 7, epoch: 42, nodeIds: [11, 22, 33] } });
  });

  it('rejects with a code: short, other EtherType, VLAN-tagged, forged, other message type, trailing bytes', () => {
    const frame = encodeInbandFrame(SRC_MAC, TOPOLOGY);
    const tagged = Buffer.concat([frame.subarray(0, 12), Buffer.from('81000064', 'hex'), frame.subarray(12)]);
    const forged = Buffer.from(frame);
    forged[30]! ^= 1;
    const beat = encodeControlMessage(
      { ...heartbeat({ nodeId: 1, epoch: 1 }), timestamp: 1, senderSeq: 1 },
      CLUSTER_KEY,
    );
    const codeOf = (f: Buffer) => {
      const r = readInbandTopologyUpdate(f, CLUSTER_KEY);
      return r.ok ? 'OK' : r.error.code;
    };
    expect(codeOf(frame.subarray(0, 13))).toBe('SHORT');
    expect(codeOf(Buffer.from(frame).fill(0x08, 12, 13))).toBe('NOT_INBAND');
    expect(codeOf(tagged)).toBe('NOT_INBAND');
    expect(codeOf(forged)).toBe('BAD_HMAC');
    expect(codeOf(encodeInbandFrame(SRC_MAC, beat))).toBe('NOT_TOPOLOGY_UPDATE');
    expect(codeOf(Buffer.concat([frame, Buffer.alloc(4)]))).toBe('LENGTH_MISMATCH');
    expect(readInbandTopologyUpdate(frame, null)).toMatchObject({ ok: false, error: { code: 'BAD_HMAC' } });
  });

  it('never throws and never accepts a mutated frame (property)', () => {
    const frame = encodeInbandFrame(SRC_MAC, TOPOLOGY);
    fc.assert(
      fc.property(
        fc.integer({ min: 12, max: frame.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, flip) => {
          const mutated = Buffer.from(frame);
          mutated[at]! ^= flip;
          expect(readInbandTopologyUpdate(mutated, CLUSTER_KEY).ok).toBe(false);
        },
      ),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(readInbandTopologyUpdate(bytes, CLUSTER_KEY).ok).toBe(false);
      }),
    );
  });
});
