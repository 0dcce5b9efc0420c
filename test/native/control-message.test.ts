// The C++ in-band TOPOLOGY_UPDATE decoder (native/src/control_message.h) through the addon:
// the SPEC §5 authenticated TOPOLOGY_UPDATE, every rejection code of SPEC §6.4 in its
// order, and agreement with the TypeScript decoder (verifyControlMessage in
// protocol/control-message.ts) on valid and damaged messages. The native decoder reads
// TOPOLOGY_UPDATE only: an authentic message of another type is NOT_TOPOLOGY_UPDATE, where
// the TypeScript decoder goes on to judge its body (OK or a body code).
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCode } from '../../common/errors.js';
import { native } from '../../native/addon.js';
import { SELECTION_TYPE } from '../../protocol/avp.js';
import { INSECURE_KEY, encodeControlMessage, verifyControlMessage } from '../../protocol/control-message.js';
import * as views from '../../protocol/control-views.js';
import { thrownBy } from '../helpers/thrown.js';
import {
  CLUSTER_KEY,
  TOPOLOGY_UPDATE_FIELDS,
  TOPOLOGY_UPDATE_HEX,
  TOPOLOGY_UPDATE_TIMESTAMP_S,
} from '../protocol/vectors.js';

interface NativeTopology {
  term: number;
  epoch: number;
  selectionType: number;
  validityStartMs: number;
  nodeIds: number[];
  analyzers: { ip: string; port: number }[];
  k0: number;
  k1: number;
  snaplen: number;
  timestamp: number;
  senderSeq: number;
}
type NativeDecode =
  | { ok: true; timestamp: number; senderSeq: number; topology: NativeTopology }
  | { ok: false; code: string; reason: string };

const decode = (bytes: Buffer, key: Buffer): NativeDecode =>
  native.decodeInbandTopology(bytes, key) as NativeDecode;
const codeOf = (result: NativeDecode): string => (result.ok ? 'OK' : result.code);

/** The codes of body rules, which the native decoder applies to TOPOLOGY_UPDATE only. */
const BODY_CODES = ['OK', 'MISSING_AVP', 'REPEATED_AVP', 'BAD_VALUE'];
/**
 * What the native decoder says of bytes the TypeScript decoder judged `code`: the same,
 * except that an authentic message of another type than TOPOLOGY_UPDATE, whose trailer is in
 * place, is NOT_TOPOLOGY_UPDATE whatever its body.
 */
function nativeCodeFor(bytes: Buffer, code: string): string {
  const trailerInPlace = code !== 'MISSING_AVP' || hasTrailer(bytes);
  return bytes[3] !== 3 && BODY_CODES.includes(code) && trailerInPlace ? 'NOT_TOPOLOGY_UPDATE' : code;
}
/** TIMESTAMP and SENDER_SEQ right before the eight HMAC AVPs (SPEC §1.1). */
function hasTrailer(bytes: Buffer): boolean {
  const avps = (bytes.length - 6) / 5;
  if (avps < 10) return false;
  return bytes[6 + 5 * (avps - 10)] === 239 && bytes[6 + 5 * (avps - 9)] === 240;
}

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

// ---- §5: the authenticated TOPOLOGY_UPDATE ----

const VECTOR_KEY = CLUSTER_KEY;
const VECTOR = hex(TOPOLOGY_UPDATE_HEX);

/** What the native decoder gives for a TOPOLOGY_UPDATE of `fields`: the mode as its SELECTION_TYPE number, and the header's timestamp and sequence. */
function nativeTopologyOf(fields: views.TopologyUpdateFields, timestamp: number, senderSeq: number) {
  const { selection, ...sameNames } = fields;
  return { ...sameNames, selectionType: SELECTION_TYPE[selection], timestamp, senderSeq };
}

describe('SPEC.md §5 authenticated TOPOLOGY_UPDATE', () => {
  it('decodes with a valid MAC and the right fields', () => {
    const result = decode(VECTOR, VECTOR_KEY);
    expect(result).toEqual({
      ok: true,
      timestamp: TOPOLOGY_UPDATE_TIMESTAMP_S,
      senderSeq: 1,
      topology: nativeTopologyOf(TOPOLOGY_UPDATE_FIELDS, TOPOLOGY_UPDATE_TIMESTAMP_S, 1),
    });
  });

  it('is then rejected as stale by a live receiver, whose clock is far past its TIMESTAMP', () => {
    const nowS = Math.floor(Date.now() / 1000);
    expect(nowS - 1795000000).toBeGreaterThan(30);
    expect(native.isControlTimestampFresh(1795000000, nowS)).toBe(false);
    // The §1.1 window is 30 s either way.
    expect(native.isControlTimestampFresh(1795000000, 1795000030)).toBe(true);
    expect(native.isControlTimestampFresh(1795000000, 1795000031)).toBe(false);
    expect(native.isControlTimestampFresh(1795000000, 1794999970)).toBe(true);
    expect(native.isControlTimestampFresh(1795000000, 1794999969)).toBe(false);
  });

  it('fails with BAD_HMAC when one byte of a value or of the MAC is flipped', () => {
    const valueBytes = [7, 8, 9, 10, 38, 40, 45, 70]; // TERM, HASH_KEY_0, SNAPLEN, ANALYZER_PORT
    const macBytes = [VECTOR.length - 39, VECTOR.length - 1]; // first and last byte of the MAC
    for (const offset of [...valueBytes, ...macBytes]) {
      const forged = Buffer.from(VECTOR);
      forged[offset]! ^= 0x01;
      expect({ offset, code: codeOf(decode(forged, VECTOR_KEY)) }).toEqual({ offset, code: 'BAD_HMAC' });
    }
  });

  it('is never accepted with any single bit flipped anywhere', () => {
    for (let offset = 0; offset < VECTOR.length; offset++) {
      for (let bit = 0; bit < 8; bit++) {
        const forged = Buffer.from(VECTOR);
        forged[offset]! ^= 1 << bit;
        expect(decode(forged, VECTOR_KEY).ok).toBe(false);
      }
    }
  });

  it('fails with BAD_HMAC under another key, an empty key or the insecure all-zero key', () => {
    for (const key of [hex('000102030405060708090a0b0c0d0e0e'), Buffer.alloc(0), INSECURE_KEY]) {
      expect(decode(VECTOR, key)).toEqual({
        ok: false,
        code: 'BAD_HMAC',
        reason: expect.stringContaining('HMAC'),
      });
    }
  });
});

// ---- hand-made messages, signed like a coordinator would (but with any body) ----

type AvpList = [number, number][];

function message(
  type: number,
  avps: AvpList,
  options: { magic?: number; version?: number; len?: number } = {},
): Buffer {
  const bytes = Buffer.alloc(6 + 5 * avps.length);
  bytes.writeUInt16BE(options.magic ?? 0x4443, 0);
  bytes[2] = options.version ?? 1;
  bytes[3] = type;
  bytes.writeUInt16BE(options.len ?? avps.length, 4);
  avps.forEach(([code, value], i) => {
    bytes[6 + 5 * i] = code;
    bytes.writeUInt32BE(value >>> 0, 7 + 5 * i);
  });
  return bytes;
}

/** `body`, then TIMESTAMP, SENDER_SEQ and the HMAC over all of it under `key`. */
function signed(
  type: number,
  body: AvpList,
  key: Buffer = VECTOR_KEY,
  trailer: AvpList = [
    [239, 1795000000],
    [240, 9],
  ],
): Buffer {
  const unsigned = message(type, [...body, ...trailer], { len: body.length + trailer.length + 8 });
  const mac = createHmac('sha256', key).update(unsigned).digest();
  const hmacs: AvpList = Array.from({ length: 8 }, (_, i) => [241 + i, mac.readUInt32BE(4 * i)]);
  return Buffer.concat([unsigned, message(0, hmacs).subarray(6)]);
}

const ENGINE_COUNTERS: AvpList = Array.from({ length: 16 }, (_, i) => [68 + i, i]);
const IPID_BINS: AvpList = Array.from({ length: 256 }, (_, i) => [86, i * 1000]);
const TOPOLOGY: AvpList = [
  [16, 7],
  [17, 42],
  [6, 3],
  [7, 1795000000],
  [8, 250],
  [20, 0x1234],
  [21, 0x5678],
  [19, 128],
  [1, 11],
];

describe('rejection codes', () => {
  it('reproduces the §5 vector byte for byte with the test signer', () => {
    expect(
      signed(3, [...TOPOLOGY, [1, 22], [1, 33], [4, 0xc6120064], [5, 9999]], VECTOR_KEY, [
        [239, 1795000000],
        [240, 1],
      ]),
    ).toEqual(VECTOR);
  });

  it.each<[string, string, Buffer]>([
    ['empty datagram', 'SHORT', Buffer.alloc(0)],
    ['5 bytes', 'SHORT', VECTOR.subarray(0, 5)],
    ['wrong magic', 'BAD_MAGIC', message(3, [], { magic: 0x4344 })],
    ['version 2', 'BAD_VERSION', message(3, [], { version: 2 })],
    ['version 0', 'BAD_VERSION', message(3, [], { version: 0 })],
    ['LEN 8193', 'TOO_MANY_AVPS', message(3, [], { len: 8193 })],
    ['LEN 65535', 'TOO_MANY_AVPS', message(3, [], { len: 65535 })],
    ['one byte missing', 'LENGTH_MISMATCH', VECTOR.subarray(0, VECTOR.length - 1)],
    ['one byte extra', 'LENGTH_MISMATCH', Buffer.concat([VECTOR, Buffer.alloc(1)])],
    ['LEN one too high', 'LENGTH_MISMATCH', message(3, [[1, 1]], { len: 2 })],
    ['TYP 0', 'UNKNOWN_TYPE', signed(0, [[1, 1]])],
    ['TYP 14 (reserved)', 'UNKNOWN_TYPE', signed(14, [[1, 1]])],
    ['TYP 255', 'UNKNOWN_TYPE', signed(255, [[1, 1]])],
    ['TYP 14 with a wrong size (the type is checked first)', 'UNKNOWN_TYPE', message(14, [], { len: 8193 })],
    ['no AVPs', 'MISSING_HMAC', message(6, [])],
    [
      'no HMAC AVPs',
      'MISSING_HMAC',
      message(6, [
        [1, 1],
        [239, 0],
        [240, 0],
      ]),
    ],
    [
      'HMAC AVPs out of order',
      'MISSING_HMAC',
      (() => {
        const m = signed(6, [[1, 1]]);
        m[6 + 5 * 3] = 242;
        m[6 + 5 * 4] = 241;
        return m;
      })(),
    ],
    ['HMAC without TIMESTAMP and SENDER_SEQ', 'MISSING_AVP', signed(6, [[1, 1]], VECTOR_KEY, [])],
    [
      'SENDER_SEQ and TIMESTAMP swapped',
      'MISSING_AVP',
      signed(6, [[1, 1]], VECTOR_KEY, [
        [240, 1],
        [239, 1],
      ]),
    ],
    [
      'TOPOLOGY_UPDATE without SNAPLEN',
      'MISSING_AVP',
      signed(
        3,
        TOPOLOGY.filter(([code]) => code !== 19),
      ),
    ],
    ['LEAVE without NODE_ID', 'MISSING_AVP', signed(6, [])],
    [
      'JOIN of an analyzer without NODE_IP/NODE_PORT',
      'MISSING_AVP',
      signed(1, [
        [1, 5],
        [18, 2],
      ]),
    ],
    [
      'JOIN with NODE_IP but no NODE_PORT',
      'MISSING_AVP',
      signed(1, [
        [1, 5],
        [18, 1],
        [24, 0xc6120001],
      ]),
    ],
    [
      'TIMESTAMP inside the body',
      'REPEATED_AVP',
      signed(6, [
        [1, 1],
        [239, 5],
      ]),
    ],
    [
      'HMAC_3 inside the body',
      'REPEATED_AVP',
      signed(6, [
        [244, 5],
        [1, 1],
      ]),
    ],
    ['TERM twice', 'REPEATED_AVP', signed(3, [...TOPOLOGY, [16, 8]])],
    [
      'NODE_ID twice in a HEARTBEAT',
      'REPEATED_AVP',
      signed(4, [
        [1, 1],
        [17, 1],
        [1, 2],
      ]),
    ],
    [
      'SELECTION_TYPE 4',
      'BAD_VALUE',
      signed(
        3,
        TOPOLOGY.map(([c, v]): [number, number] => [c, c === 6 ? 4 : v]),
      ),
    ],
    [
      'VALIDITY_START_MS 1000',
      'BAD_VALUE',
      signed(
        3,
        TOPOLOGY.map(([c, v]): [number, number] => [c, c === 8 ? 1000 : v]),
      ),
    ],
    [
      'SNAPLEN 0',
      'BAD_VALUE',
      signed(
        3,
        TOPOLOGY.map(([c, v]): [number, number] => [c, c === 19 ? 0 : v]),
      ),
    ],
    ['ANALYZER_PORT 0', 'BAD_VALUE', signed(3, [...TOPOLOGY, [4, 1], [5, 0]])],
    ['ANALYZER_PORT 65536', 'BAD_VALUE', signed(3, [...TOPOLOGY, [4, 1], [5, 65536]])],
    [
      'ROLE 4',
      'BAD_VALUE',
      signed(1, [
        [1, 5],
        [18, 4],
      ]),
    ],
    ['a node ID listed twice', 'BAD_VALUE', signed(3, [...TOPOLOGY, [1, 22], [1, 11]])],
    ['ANALYZER_IP without its port', 'MISSING_AVP', signed(3, [...TOPOLOGY, [4, 1], [1, 12], [5, 9]])],
    ['ANALYZER_PORT before its IP', 'MISSING_AVP', signed(3, [...TOPOLOGY, [5, 9], [4, 1]])],
    [
      'a SYNC member group cut short',
      'MISSING_AVP',
      signed(8, [
        [16, 1],
        [17, 1],
        [1, 5],
        [18, 1],
        [24, 1],
      ]),
    ],
    [
      'TOPOLOGY_UPDATE without NODE_ID',
      'MISSING_AVP',
      signed(
        3,
        TOPOLOGY.filter(([code]) => code !== 1),
      ),
    ],
    ['a MAC made with another key', 'BAD_HMAC', signed(3, TOPOLOGY, hex('ff'))],
    [
      'a broken body under a MAC made with another key (the MAC is checked first)',
      'BAD_HMAC',
      signed(
        3,
        [
          [16, 1],
          [16, 1],
          [6, 9],
        ],
        hex('ff'),
      ),
    ],
    ['8 AVPs, all HMAC, correct MAC', 'MISSING_AVP', signed(6, [], VECTOR_KEY, [])],
    [
      'a HEARTBEAT with half of its engine counters',
      'MISSING_AVP',
      signed(4, [[1, 5], [17, 9], ...ENGINE_COUNTERS.slice(0, 8)]),
    ],
    ['a HEARTBEAT with all engine counters', 'OK', signed(4, [[1, 5], [17, 9], ...ENGINE_COUNTERS])],
    ['an engine counter twice', 'REPEATED_AVP', signed(4, [[1, 5], [17, 9], ...ENGINE_COUNTERS, [70, 1]])],
    [
      'a SYNC with DASHBOARD_IP but no DASHBOARD_PORT',
      'MISSING_AVP',
      signed(8, [
        [16, 1],
        [17, 1],
        [94, 0xc6120001],
      ]),
    ],
    [
      'DASHBOARD_PORT 0',
      'BAD_VALUE',
      signed(8, [
        [16, 1],
        [17, 1],
        [94, 0xc6120001],
        [95, 0],
      ]),
    ],
    [
      'an IPID_HISTOGRAM of 255 bins',
      'BAD_VALUE',
      signed(12, [[1, 5], [84, 0], [85, 9], ...IPID_BINS.slice(1)]),
    ],
    [
      'an IPID_HISTOGRAM of 257 bins',
      'BAD_VALUE',
      signed(12, [[1, 5], [84, 0], [85, 9], ...IPID_BINS, [86, 1]]),
    ],
    ['an IPID_HISTOGRAM without IPID_FRAMES_LO', 'MISSING_AVP', signed(12, [[1, 5], [84, 0], ...IPID_BINS])],
    [
      'an ANALYZER_REPORT without SOURCE_NODE_ID',
      'MISSING_AVP',
      signed(13, [
        [1, 5],
        [88, 0],
        [89, 1],
        [90, 0],
        [91, 1],
        [92, 0],
        [93, 0],
      ]),
    ],
  ])('%s → %s', (_name, code, bytes) => {
    // The TypeScript decoder gives the code; the native one the same for TOPOLOGY_UPDATE and
    // for every rule before the type's body.
    const theirs = verifyControlMessage(bytes, VECTOR_KEY);
    expect(theirs.ok ? 'OK' : theirs.error.code).toBe(code);
    const result = decode(bytes, VECTOR_KEY);
    expect(codeOf(result)).toBe(nativeCodeFor(bytes, code));
    if (!result.ok) expect(result.reason.length).toBeGreaterThan(10);
  });
});

/** A valid body of every message type, built by the TypeScript views. */
const VALID_BODIES = [
  views.join({ nodeId: 5, role: 'capture' }),
  views.join({ nodeId: 6, role: 'analyzer', endpoint: { ip: '198.18.0.7', port: 4000 } }),
  views.accept({
    nodeId: 5,
    term: 2,
    coordinator: { ip: '198.18.0.1', port: 7000 },
    selection: 'ipid',
    analyzers: [{ ip: '198.18.0.7', port: 4000 }],
  }),
  views.topologyUpdate({
    term: 2,
    epoch: 9,
    selection: 'round-robin',
    validityStartMs: 1795000000999,
    nodeIds: [5, 3, 4],
    analyzers: [],
    k0: 0xffffffff,
    k1: 0,
    snaplen: 65535,
  }),
  views.topologyUpdate({
    term: 2,
    epoch: 9,
    selection: 'flow',
    validityStartMs: 0,
    nodeIds: [7],
    analyzers: [
      { ip: '198.18.0.7', port: 4000 },
      { ip: '198.18.0.8', port: 4001 },
    ],
    k0: 1,
    k1: 2,
    snaplen: 1,
  }),
  views.heartbeat({ nodeId: 5, epoch: 9 }),
  views.heartbeat({ nodeId: 5, epoch: 9, selection: { stage: 'xdp-native', reason: 'distribute' } }),
  views.ledger({ nodeId: 5, epoch: 9, seen: 2n ** 40n + 7n, owned: 3n, exported: 3n, dropped: 0n }),
  views.leave({ nodeId: 5 }),
  views.announce({ term: 2, coordinator: { ip: '198.18.0.1', port: 7000 } }),
  views.sync({
    term: 2,
    epoch: 9,
    members: [{ nodeId: 5, role: 'capture', endpoint: { ip: '198.18.0.5', port: 1 } }],
  }),
  views.sync({ term: 2, epoch: 9, members: [] }),
  views.sync({
    term: 2,
    epoch: 9,
    members: [],
    coordinatorId: 3,
    dashboard: { ip: '198.18.0.200', port: 8080 },
  }),
  views.heartbeat({
    nodeId: 5,
    epoch: 9,
    role: 'capture',
    term: 2,
    counters: {
      ringPackets: 2n ** 33n + 1n,
      ringDrops: 1n,
      seen: 2n ** 40n,
      owned: 7n,
      exported: 6n,
      queueDrops: 0n,
      sendFailed: 1n,
      noAnalyzer: 0n,
    },
  }),
  views.ipidHistogram({
    nodeId: 5,
    frames: 2n ** 35n,
    bins: Array.from({ length: 256 }, (_, i) => i * 2 ** 24),
  }),
  views.analyzerReport({
    nodeId: 90,
    sourceNodeId: 5,
    records: 2n ** 40n,
    datagrams: 12n,
    lostDatagrams: 1n,
  }),
  views.sync({
    term: 2,
    epoch: 9,
    members: [
      { nodeId: 5, role: 'capture', endpoint: { ip: '198.18.0.5', port: 1 } },
      { nodeId: 6, role: 'analyzer', endpoint: { ip: '198.18.0.6', port: 2 } },
    ],
  }),
];

describe('messages of every type', () => {
  const now = 1795000000;

  it.each(VALID_BODIES.filter((body) => body.type !== 3).map((body) => [body.type, body] as const))(
    'an authentic TYP %i is not taken for a topology',
    (_type, body) => {
      const bytes = encodeControlMessage({ ...body, timestamp: now, senderSeq: 77 }, VECTOR_KEY);
      expect(verifyControlMessage(bytes, VECTOR_KEY).ok).toBe(true);
      expect(codeOf(decode(bytes, VECTOR_KEY))).toBe('NOT_TOPOLOGY_UPDATE');
      expect(codeOf(decode(bytes, INSECURE_KEY))).toBe('BAD_HMAC');
    },
  );

  it('reads a TOPOLOGY_UPDATE as the TypeScript view does, also in insecure mode (all-zero key)', () => {
    const fields = {
      term: 3,
      epoch: 10,
      selection: 'ipid' as const,
      validityStartMs: 1795000001001,
      nodeIds: [9, 1],
      analyzers: [
        { ip: '198.19.255.254', port: 65535 },
        { ip: '198.18.0.2', port: 1 },
      ],
      k0: 1,
      k1: 2,
      snaplen: 96,
    };
    const bytes = encodeControlMessage(
      { ...views.topologyUpdate(fields), timestamp: now, senderSeq: 5 },
      null,
    );
    const result = decode(bytes, INSECURE_KEY);
    expect(result.ok && result.topology).toEqual(nativeTopologyOf(fields, now, 5));
    expect(codeOf(decode(bytes, VECTOR_KEY))).toBe('BAD_HMAC');
  });

  it('accepts a TOPOLOGY_UPDATE without analyzers (distribution mode)', () => {
    const result = decode(signed(3, TOPOLOGY), VECTOR_KEY);
    expect(result.ok && result.topology).toMatchObject({ nodeIds: [11], analyzers: [] });
  });

  it('reads past AVPs of unknown (extension) codes, even repeated', () => {
    const result = decode(signed(3, [[127, 1], ...TOPOLOGY, [127, 2], [200, 3]]), VECTOR_KEY);
    expect(result.ok && result.topology).toMatchObject({ nodeIds: [11], term: 7, epoch: 42 });
  });
});

describe('agreement with the TypeScript decoder on random messages', () => {
  // Valid messages of every type, then AVP-level edits (drop, duplicate, insert, revalue,
  // swap) to break one rule at a time, and sometimes a wrong key, a damaged byte or a cut.
  const codes = [
    1, 2, 3, 4, 5, 6, 7, 8, 16, 17, 18, 19, 20, 21, 24, 25, 32, 33, 39, 64, 66, 68, 75, 83, 84, 86, 87, 93,
    94, 95, 112, 113, 114, 127, 200, 239, 240, 241, 248,
  ];
  const value = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 999, 1000, 65535, 65536, 0xffffffff), fc.nat());
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), code: fc.constantFrom(...codes), value }),
    fc.record({ kind: fc.constant('revalue' as const), at: fc.nat(), value }),
    fc.record({ kind: fc.constant('swap' as const), at: fc.nat() }),
  );
  const rarely = <T>(arbitrary: fc.Arbitrary<T>) =>
    fc.oneof({ arbitrary: fc.constant(null), weight: 8 }, { arbitrary, weight: 1 });
  const candidate = fc
    .record({
      base: fc.integer({ min: 0, max: VALID_BODIES.length - 1 }),
      type: rarely(fc.integer({ min: 0, max: 14 })),
      edits: fc.array(edit, { maxLength: 3 }),
      wrongKey: rarely(fc.constant(true)),
      damage: rarely(fc.record({ offset: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) })),
      cut: rarely(fc.nat()),
    })
    .map(({ base, type, edits, wrongKey, damage, cut }) => {
      const body: AvpList = VALID_BODIES[base]!.avps.map(({ code, value }) => [code, value]);
      for (const e of edits) {
        const at = body.length === 0 ? 0 : e.at % body.length;
        if (e.kind === 'insert') body.splice(e.at % (body.length + 1), 0, [e.code, e.value]);
        else if (body.length === 0) continue;
        else if (e.kind === 'drop') body.splice(at, 1);
        else if (e.kind === 'duplicate') body.splice(at, 0, [...body[at]!]);
        else if (e.kind === 'revalue') body[at] = [body[at]![0], e.value];
        else if (at + 1 < body.length) [body[at], body[at + 1]] = [body[at + 1]!, body[at]!];
      }
      let bytes = signed(type ?? VALID_BODIES[base]!.type, body, wrongKey ? INSECURE_KEY : VECTOR_KEY);
      if (damage) bytes[damage.offset % bytes.length]! ^= damage.xor;
      if (cut !== null) bytes = bytes.subarray(0, cut % (bytes.length + 1));
      return bytes;
    });

  it('gives the same verdict, and the same contents when both accept', () => {
    fc.assert(
      fc.property(candidate, (bytes) => {
        const ours = decode(bytes, VECTOR_KEY);
        const theirs = verifyControlMessage(bytes, VECTOR_KEY);
        expect(codeOf(ours)).toBe(nativeCodeFor(bytes, theirs.ok ? 'OK' : theirs.error.code));
        if (ours.ok && theirs.ok) {
          const nodeIds = theirs.message.avps.filter(({ code }) => code === 1).map(({ value }) => value);
          expect(ours.topology.nodeIds).toEqual(nodeIds);
          expect([ours.timestamp, ours.senderSeq]).toEqual([
            theirs.message.timestamp,
            theirs.message.senderSeq,
          ]);
        }
      }),
      { numRuns: 4000 },
    );
  });

  it('never faults on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 40 }), (bytes, key) => {
        const result = decode(Buffer.from(bytes), Buffer.from(key));
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });
});

describe('control-message bindings reject misuse with DICAP_ERR_ARGUMENT', () => {
  it.each([
    ['bytes as a string', () => native.decodeInbandTopology('4443', VECTOR_KEY)],
    ['no key', () => native.decodeInbandTopology(VECTOR)],
    ['a negative timestamp', () => native.isControlTimestampFresh(-1, 0)],
    ['a fractional clock', () => native.isControlTimestampFresh(1, 0.5)],
  ])('%s', (_name, call) => {
    expect(errorCode(thrownBy(call))).toBe('DICAP_ERR_ARGUMENT');
  });
});
