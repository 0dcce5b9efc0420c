import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AvpCode,
  CONTROL_ERROR_CODES,
  INSECURE_KEY,
  IPID_HISTOGRAM_BINS,
  MessageType,
  accept,
  analyzerReport,
  announce,
  decodeControlMessage,
  encodeControlMessage,
  heartbeat,
  ipidHistogram,
  join,
  leave,
  ledger,
  readControlMessage,
  readLedger,
  readTopologyUpdate,
  sync,
  syncAck,
  topologyUpdate,
  verifyControlMessage,
  vote,
  voteRequest,
  type ControlBody,
  type ControlMessage,
} from '../../protocol/index.js';
import {
  CLUSTER_KEY,
  TOPOLOGY_UPDATE_HEX,
  TOPOLOGY_UPDATE_FIELDS,
  TOPOLOGY_UPDATE_TIMESTAMP_S,
} from './vectors.js';

const VECTOR = Buffer.from(TOPOLOGY_UPDATE_HEX, 'hex');
const VECTOR_FIELDS = TOPOLOGY_UPDATE_FIELDS;
const STAMP = { timestamp: TOPOLOGY_UPDATE_TIMESTAMP_S, senderSeq: 1 };

function stamped(body: ControlBody, senderSeq = 1): ControlMessage {
  return { ...body, timestamp: TOPOLOGY_UPDATE_TIMESTAMP_S, senderSeq };
}

/** Bytes of a message with a raw AVP list (trailer included by the caller or not). */
function rawMessage(type: number, avps: Array<[number, number]>): Buffer {
  const out = Buffer.alloc(6 + 5 * avps.length);
  out.writeUInt16BE(0x4443, 0);
  out[2] = 1;
  out[3] = type;
  out.writeUInt16BE(avps.length, 4);
  avps.forEach(([code, value], i) => {
    out[6 + 5 * i] = code;
    out.writeUInt32BE(value, 7 + 5 * i);
  });
  return out;
}

describe('the authenticated TOPOLOGY_UPDATE of SPEC.md §5', () => {
  it('decodes, and its MAC verifies with the cluster key', () => {
    const result = verifyControlMessage(VECTOR, CLUSTER_KEY);
    expect(result).toMatchObject({
      ok: true,
      macValid: true,
      message: { type: MessageType.TOPOLOGY_UPDATE, ...STAMP },
    });
    if (!result.ok) return;
    expect(readTopologyUpdate(result.message)).toEqual(VECTOR_FIELDS);
  });

  it('is exactly what the encoder writes for the same fields', () => {
    expect(
      encodeControlMessage({ ...topologyUpdate(VECTOR_FIELDS), ...STAMP }, CLUSTER_KEY).toString('hex'),
    ).toBe(TOPOLOGY_UPDATE_HEX);
  });

  it('fails the MAC under another key', () => {
    expect(decodeControlMessage(VECTOR, Buffer.from('00', 'hex'))).toMatchObject({
      ok: true,
      macValid: false,
    });
    expect(verifyControlMessage(VECTOR, null)).toMatchObject({ ok: false, error: { code: 'BAD_HMAC' } });
  });
});

describe('round trips of every message type', () => {
  const bodies: Record<keyof typeof MessageType, ControlBody> = {
    JOIN: join({ nodeId: 5, role: 'analyzer', endpoint: { ip: '198.18.0.7', port: 9999 } }),
    ACCEPT: accept({
      nodeId: 5,
      term: 3,
      coordinator: { ip: '198.18.0.1', port: 7400 },
      selection: 'round-robin',
      analyzers: [
        { ip: '198.18.0.100', port: 9999 },
        { ip: '198.18.0.101', port: 9998 },
      ],
    }),
    TOPOLOGY_UPDATE: topologyUpdate(VECTOR_FIELDS),
    HEARTBEAT: heartbeat({ nodeId: 0xffffffff, epoch: 9 }),
    LEDGER: ledger({
      nodeId: 5,
      epoch: 9,
      seen: 0x1_0000_0002n,
      owned: 2n ** 64n - 1n,
      exported: 0n,
      dropped: 12345678901234n,
    }),
    LEAVE: leave({ nodeId: 5 }),
    ANNOUNCE: announce({ term: 4, coordinator: { ip: '198.18.0.2', port: 7400 } }),
    SYNC: sync({
      term: 4,
      epoch: 10,
      members: [
        { nodeId: 11, role: 'capture', endpoint: { ip: '198.18.0.11', port: 7401 } },
        { nodeId: 90, role: 'analyzer', endpoint: { ip: '198.18.0.90', port: 9999 } },
      ],
    }),
    VOTE_REQUEST: voteRequest({ term: 0x0203, coordinatorId: 3, epoch: 10, preVote: true }),
    VOTE: vote({ term: 0x0203, coordinatorId: 2 }),
    SYNC_ACK: syncAck({ term: 0x0203, coordinatorId: 1 }),
    IPID_HISTOGRAM: ipidHistogram({
      nodeId: 11,
      frames: 2n ** 40n + 255n,
      bins: Array.from({ length: IPID_HISTOGRAM_BINS }, (_, i) => i * 0x0100_0001),
    }),
    ANALYZER_REPORT: analyzerReport({
      nodeId: 90,
      sourceNodeId: 11,
      records: 2n ** 63n,
      datagrams: 12345678901n,
      lostDatagrams: 7n,
    }),
  };

  for (const [name, body] of Object.entries(bodies)) {
    it(`${name}: encode → decode gives back the message and its fields`, () => {
      for (const key of [CLUSTER_KEY, null]) {
        const message = stamped(body, 77);
        const result = verifyControlMessage(encodeControlMessage(message, key), key);
        expect(result).toEqual({ ok: true, macValid: true, message });
        if (!result.ok) return;
        expect(readControlMessage(result.message)).toEqual(readControlMessage(body));
      }
    });
  }

  it('carries 64-bit ledger counters exactly', () => {
    const result = verifyControlMessage(
      encodeControlMessage(stamped(bodies.LEDGER), CLUSTER_KEY),
      CLUSTER_KEY,
    );
    expect(result.ok && readLedger(result.message)).toMatchObject({
      seen: 0x1_0000_0002n,
      owned: 2n ** 64n - 1n,
      dropped: 12345678901234n,
    });
  });

  it('reads a JOIN without an endpoint, and an ACCEPT without analyzers', () => {
    expect(readControlMessage(join({ nodeId: 1, role: 'capture' }))).toEqual({
      type: 'JOIN',
      nodeId: 1,
      role: 'capture',
    });
    const body = accept({
      nodeId: 1,
      term: 1,
      coordinator: { ip: '198.18.0.1', port: 1 },
      selection: 'ipid',
      analyzers: [],
    });
    expect(readControlMessage(body)).toMatchObject({ type: 'ACCEPT', analyzers: [] });
  });

  it('writes insecure mode with the all-zero key, so the layout never changes', () => {
    const message = stamped(bodies.HEARTBEAT);
    const insecure = encodeControlMessage(message, null);
    expect(insecure).toEqual(encodeControlMessage(message, INSECURE_KEY));
    expect(insecure.length).toBe(encodeControlMessage(message, CLUSTER_KEY).length);
  });
});

describe('rejections carry a stable code', () => {
  const trailer = (ts = 1, seq = 1): Array<[number, number]> => [
    [AvpCode.TIMESTAMP, ts],
    [AvpCode.SENDER_SEQ, seq],
    ...Array.from({ length: 8 }, (_, i): [number, number] => [AvpCode.HMAC_0 + i, 0]),
  ];
  /** Decodes without a MAC verdict standing in the way of the structural checks. */
  const codeOf = (bytes: Buffer) => {
    const result = decodeControlMessage(bytes, null);
    return result.ok ? 'OK' : result.error.code;
  };
  const cases: Array<[string, Buffer, string]> = [
    ['five bytes', Buffer.from('4443010100', 'hex'), 'SHORT'],
    ['a wrong magic', Buffer.from('4444010100000000', 'hex'), 'BAD_MAGIC'],
    ['version 2', Buffer.from('4443020100000000', 'hex'), 'BAD_VERSION'],
    ['reserved type 14', rawMessage(14, trailer()), 'UNKNOWN_TYPE'],
    ['LEN 8193', Buffer.from('444301012001', 'hex'), 'TOO_MANY_AVPS'],
    [
      'a datagram one byte too long',
      Buffer.concat([rawMessage(6, [[1, 5], ...trailer()]), Buffer.alloc(1)]),
      'LENGTH_MISMATCH',
    ],
    ['no HMAC AVPs', rawMessage(6, [[1, 5]]), 'MISSING_HMAC'],
    [
      'HMAC_7 before HMAC_6',
      rawMessage(6, [[1, 5], ...trailer().slice(0, 8), [AvpCode.HMAC_7, 0], [AvpCode.HMAC_6, 0]]),
      'MISSING_HMAC',
    ],
    [
      'no SENDER_SEQ',
      rawMessage(6, [[1, 5], ...trailer().filter(([c]) => c !== AvpCode.SENDER_SEQ)]),
      'MISSING_AVP',
    ],
    ['a LEAVE without NODE_ID', rawMessage(6, trailer()), 'MISSING_AVP'],
    ['a LEAVE with two NODE_IDs', rawMessage(6, [[1, 5], [1, 6], ...trailer()]), 'REPEATED_AVP'],
    [
      'a TIMESTAMP before the trailer',
      rawMessage(6, [[1, 5], [AvpCode.TIMESTAMP, 1], ...trailer()]),
      'REPEATED_AVP',
    ],
    [
      'an analyzer JOIN without NODE_PORT',
      rawMessage(1, [[1, 5], [18, 2], [24, 1], ...trailer()]),
      'MISSING_AVP',
    ],
    [
      'an ANALYZER_IP without its port',
      rawMessage(2, [[1, 5], [16, 1], [2, 1], [3, 1], [6, 1], [4, 1], ...trailer()]),
      'MISSING_AVP',
    ],
    [
      'a SYNC member without ROLE',
      rawMessage(8, [[16, 1], [17, 1], [1, 5], [24, 1], [25, 1], ...trailer()]),
      'MISSING_AVP',
    ],
    ['SELECTION_TYPE 4', rawMessage(2, [[1, 5], [16, 1], [2, 1], [3, 1], [6, 4], ...trailer()]), 'BAD_VALUE'],
    ['a port of 0', rawMessage(7, [[16, 1], [2, 1], [3, 0], ...trailer()]), 'BAD_VALUE'],
    [
      'a LEAVE with an unknown extension AVP',
      rawMessage(6, [[1, 5], [127, 1], [127, 2], ...trailer()]),
      'OK',
    ],
  ];
  for (const [what, bytes, code] of cases) {
    it(`${what} → ${code}`, () => expect(codeOf(bytes)).toBe(code));
  }

  it('a TOPOLOGY_UPDATE listing a node twice, or none → BAD_VALUE / MISSING_AVP', () => {
    const twice = { ...VECTOR_FIELDS, nodeIds: [11, 11] };
    expect(() => encodeControlMessage(stamped(topologyUpdate(twice)), null)).toThrow(/NODE_ID 11 twice/);
    expect(() =>
      encodeControlMessage(stamped(topologyUpdate({ ...VECTOR_FIELDS, nodeIds: [] })), null),
    ).toThrow(/NODE_ID/);
  });

  it('every code is one the module lists, with a one-line reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const result = verifyControlMessage(bytes, CLUSTER_KEY);
        if (result.ok) return;
        expect(CONTROL_ERROR_CODES).toContain(result.error.code);
        expect(result.error.reason).not.toMatch(/\n/);
      }),
    );
  });
});

describe('the encoder refuses what it would not accept', () => {
  it('throws RangeError on bad values and misplaced trailer AVPs', () => {
    expect(() => encodeControlMessage(stamped(heartbeat({ nodeId: -1, epoch: 0 })), null)).toThrow(
      RangeError,
    );
    expect(() =>
      encodeControlMessage({ ...stamped(leave({ nodeId: 1 })), timestamp: 2 ** 32 }, null),
    ).toThrow(/u32/);
    const withHmac = {
      type: MessageType.LEAVE,
      avps: [
        { code: 1, value: 1 },
        { code: AvpCode.HMAC_0, value: 0 },
      ],
    } as const;
    expect(() => encodeControlMessage(stamped(withHmac), null)).toThrow(/trailer/);
    expect(() => join({ nodeId: 1, role: 'analyzer', endpoint: { ip: '198.18.0.256', port: 1 } })).toThrow(
      /IPv4/,
    );
  });
});

describe('bad bytes never throw (property)', () => {
  const valid = [
    VECTOR,
    encodeControlMessage(
      stamped(ledger({ nodeId: 1, epoch: 2, seen: 3n, owned: 4n, exported: 5n, dropped: 6n })),
      CLUSTER_KEY,
    ),
  ];

  it('random bytes are rejected with a code', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(verifyControlMessage(bytes, CLUSTER_KEY).ok).toBe(false);
        expect(() => decodeControlMessage(bytes, null)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  it('a random header with a well-sized AVP list is rejected with a code', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 255 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 255 })),
        (count, type, stream) => {
          const bytes = Buffer.alloc(6 + 5 * count);
          bytes.writeUInt16BE(0x4443, 0);
          bytes[2] = 1;
          bytes[3] = type;
          bytes.writeUInt16BE(count, 4);
          const it = stream[Symbol.iterator]();
          for (let i = 6; i < bytes.length; i++) bytes[i] = it.next().value as number;
          expect(verifyControlMessage(bytes, CLUSTER_KEY).ok).toBe(false);
        },
      ),
    );
  });

  it('every single-byte change of an authenticated message is rejected; past the header, by the MAC', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, at, flip) => {
          const offset = at % bytes.length;
          const mutated = Buffer.from(bytes);
          mutated[offset]! ^= flip;
          const result = verifyControlMessage(mutated, CLUSTER_KEY);
          expect(result.ok).toBe(false);
          if (result.ok || offset < 6) return; // header bytes: magic, version, type or LEN codes
          const hmacCodeByte = offset >= bytes.length - 40 && (offset - 6) % 5 === 0;
          expect(result.error.code).toBe(hmacCodeByte ? 'MISSING_HMAC' : 'BAD_HMAC');
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('every truncation or extension of a valid message is rejected', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 10 }),
        (bytes, cut, extra) => {
          expect(verifyControlMessage(bytes.subarray(0, cut % bytes.length), CLUSTER_KEY).ok).toBe(false);
          expect(verifyControlMessage(Buffer.concat([bytes, extra]), CLUSTER_KEY).ok).toBe(false);
        },
      ),
    );
  });
});
