// The report messages of SPEC.md §6.9: engine counters in HEARTBEAT, IPID_HISTOGRAM,
// ANALYZER_REPORT, the dashboard address in SYNC and the selection stage in JOIN and
// HEARTBEAT (§6.10) — round trips, 64-bit values, the
// all-or-none sets, the bin count, and what the constructors refuse.
import { describe, expect, it } from 'vitest';
import {
  AvpCode,
  IPID_HISTOGRAM_BINS,
  analyzerReport,
  decodeControlMessage,
  encodeControlMessage,
  heartbeat,
  ipidHistogram,
  join,
  readControlMessage,
  sync,
  verifyControlMessage,
  type ControlBody,
} from '../../protocol/index.js';
import { CLUSTER_KEY } from './vectors.js';

const STAMP = { timestamp: 1795000000, senderSeq: 3 };
const roundTrip = (body: ControlBody) => {
  const result = verifyControlMessage(encodeControlMessage({ ...body, ...STAMP }, CLUSTER_KEY), CLUSTER_KEY);
  if (!result.ok) throw new Error(result.error.reason);
  return readControlMessage(result.message);
};
const codeOf = (body: ControlBody) => {
  const bytes = Buffer.alloc(6 + 5 * (body.avps.length + 10));
  bytes.writeUInt16BE(0x4443, 0);
  bytes[2] = 1;
  bytes[3] = body.type;
  bytes.writeUInt16BE(body.avps.length + 10, 4);
  const trailer = [
    [AvpCode.TIMESTAMP, 1],
    [AvpCode.SENDER_SEQ, 1],
    ...Array.from({ length: 8 }, (_, i) => [AvpCode.HMAC_0 + i, 0]),
  ];
  [...body.avps.map((a) => [a.code, a.value]), ...trailer].forEach(([code, value], i) => {
    bytes[6 + 5 * i] = code!;
    bytes.writeUInt32BE(value!, 7 + 5 * i);
  });
  const result = decodeControlMessage(bytes, null);
  return result.ok ? 'OK' : result.error.code;
};

const COUNTERS = {
  ringPackets: 2n ** 64n - 1n,
  ringDrops: 3n,
  seen: 0x1_2345_6789n,
  owned: 7n,
  exported: 6n,
  queueDrops: 0n,
  sendFailed: 2n ** 32n,
  noAnalyzer: 1n,
};

describe('engine counters in HEARTBEAT', () => {
  it('travel as sixteen AVPs 68..83 and come back exactly, 64-bit', () => {
    const body = heartbeat({ nodeId: 11, epoch: 4, role: 'capture', term: 257, counters: COUNTERS });
    expect(body.avps.slice(-16).map((a) => a.code)).toEqual(Array.from({ length: 16 }, (_, i) => 68 + i));
    expect(roundTrip(body)).toEqual({
      type: 'HEARTBEAT',
      nodeId: 11,
      epoch: 4,
      role: 'capture',
      term: 257,
      counters: COUNTERS,
    });
  });

  it('are absent from a plain heartbeat, which reads without them', () => {
    expect(roundTrip(heartbeat({ nodeId: 11, epoch: 4 }))).toEqual({
      type: 'HEARTBEAT',
      nodeId: 11,
      epoch: 4,
    });
  });

  it('come all together or not at all', () => {
    const whole = heartbeat({ nodeId: 11, epoch: 4, counters: COUNTERS });
    for (const drop of [68, 75, 83]) {
      expect(codeOf({ ...whole, avps: whole.avps.filter((a) => a.code !== drop) }), `without ${drop}`).toBe(
        'MISSING_AVP',
      );
    }
    expect(codeOf({ ...whole, avps: [...whole.avps, { code: AvpCode.RING_DROPS_LO, value: 1 }] })).toBe(
      'REPEATED_AVP',
    );
  });

  it('refuse a negative or over-64-bit value', () => {
    expect(() => heartbeat({ nodeId: 1, epoch: 1, counters: { ...COUNTERS, owned: -1n } })).toThrow(
      RangeError,
    );
    expect(() => heartbeat({ nodeId: 1, epoch: 1, counters: { ...COUNTERS, seen: 2n ** 64n } })).toThrow(
      /64 bits/,
    );
  });
});

describe('IPID_HISTOGRAM', () => {
  const bins = Array.from({ length: IPID_HISTOGRAM_BINS }, (_, i) => i * 1000);

  it('carries 256 bins in order and the 64-bit frame count', () => {
    const body = ipidHistogram({ nodeId: 12, frames: 2n ** 40n + 5n, bins });
    expect(encodeControlMessage({ ...body, ...STAMP }, null).length).toBe(1351);
    expect(roundTrip(body)).toEqual({ type: 'IPID_HISTOGRAM', nodeId: 12, frames: 2n ** 40n + 5n, bins });
  });

  it('writes each bin mod 2^32, for the receiver to take differences', () => {
    const big = [...bins];
    big[0] = 2 ** 32 + 17;
    big[255] = 2 ** 45;
    const read = roundTrip(ipidHistogram({ nodeId: 12, frames: 1n, bins: big }));
    expect(read.type === 'IPID_HISTOGRAM' && [read.bins[0], read.bins[255]]).toEqual([17, 0]);
  });

  it('has exactly 256 bins: fewer or more is BAD_VALUE, none is MISSING_AVP', () => {
    const body = ipidHistogram({ nodeId: 12, frames: 1n, bins });
    expect(codeOf({ ...body, avps: body.avps.slice(0, -1) })).toBe('BAD_VALUE');
    expect(codeOf({ ...body, avps: [...body.avps, { code: AvpCode.IPID_BIN, value: 0 }] })).toBe('BAD_VALUE');
    expect(codeOf({ ...body, avps: body.avps.filter((a) => a.code !== AvpCode.IPID_BIN) })).toBe(
      'MISSING_AVP',
    );
    expect(() => ipidHistogram({ nodeId: 12, frames: 1n, bins: bins.slice(1) })).toThrow(/256 bins/);
    expect(() => ipidHistogram({ nodeId: 12, frames: 1n, bins: [...bins.slice(1), -1] })).toThrow(
      /non-negative/,
    );
  });
});

describe('ANALYZER_REPORT', () => {
  it('round-trips one capture node’s counts at an analyzer', () => {
    const fields = {
      nodeId: 100,
      sourceNodeId: 11,
      records: 2n ** 50n,
      datagrams: 123456n,
      lostDatagrams: 4n,
    };
    expect(roundTrip(analyzerReport(fields))).toEqual({ type: 'ANALYZER_REPORT', ...fields });
  });

  it('requires every AVP', () => {
    const body = analyzerReport({
      nodeId: 100,
      sourceNodeId: 11,
      records: 1n,
      datagrams: 1n,
      lostDatagrams: 0n,
    });
    for (const code of [AvpCode.SOURCE_NODE_ID, AvpCode.LOST_DATAGRAMS_LO]) {
      expect(codeOf({ ...body, avps: body.avps.filter((a) => a.code !== code) })).toBe('MISSING_AVP');
    }
  });
});

describe('the dashboard address in SYNC', () => {
  it('round-trips, and is optional', () => {
    const members = [{ nodeId: 11, role: 'capture' as const, endpoint: { ip: '198.18.0.11', port: 7401 } }];
    const dashboard = { ip: '198.18.0.200', port: 8080 };
    expect(roundTrip(sync({ term: 257, epoch: 3, members, coordinatorId: 1, dashboard }))).toEqual({
      type: 'SYNC',
      term: 257,
      epoch: 3,
      members,
      coordinatorId: 1,
      dashboard,
    });
    expect(roundTrip(sync({ term: 257, epoch: 3, members }))).toEqual({
      type: 'SYNC',
      term: 257,
      epoch: 3,
      members,
    });
  });

  it('is both AVPs or neither, with a real port', () => {
    const body = sync({ term: 1, epoch: 1, members: [], dashboard: { ip: '198.18.0.200', port: 8080 } });
    expect(codeOf({ ...body, avps: body.avps.filter((a) => a.code !== AvpCode.DASHBOARD_PORT) })).toBe(
      'MISSING_AVP',
    );
    expect(
      codeOf({
        ...body,
        avps: body.avps.map((a) => (a.code === AvpCode.DASHBOARD_PORT ? { ...a, value: 0 } : a)),
      }),
    ).toBe('BAD_VALUE');
  });
});

describe('SELECTION_STAGE and SELECTION_REASON in JOIN and HEARTBEAT', () => {
  const selection = { stage: 'xdp-generic', reason: 'auto' } as const;

  it('round-trips in both, and is absent when not given', () => {
    expect(roundTrip(join({ nodeId: 4, role: 'capture', selection }))).toEqual({
      type: 'JOIN',
      nodeId: 4,
      role: 'capture',
      selection,
    });
    const fallback = { stage: 'user', reason: 'auto-no-kernel' } as const;
    expect(roundTrip(heartbeat({ nodeId: 4, epoch: 2, selection: fallback }))).toMatchObject({
      type: 'HEARTBEAT',
      selection: fallback,
    });
    expect(roundTrip(heartbeat({ nodeId: 4, epoch: 2 }))).not.toHaveProperty('selection');
  });

  it('is both AVPs or neither, each within its values', () => {
    const body = join({ nodeId: 4, role: 'capture', selection });
    const without = (code: number) => ({ ...body, avps: body.avps.filter((a) => a.code !== code) });
    const valued = (code: number, value: number) => ({
      ...body,
      avps: body.avps.map((a) => (a.code === code ? { ...a, value } : a)),
    });
    expect(codeOf(body)).toBe('OK');
    expect(codeOf(without(AvpCode.SELECTION_REASON))).toBe('MISSING_AVP');
    expect(codeOf(without(AvpCode.SELECTION_STAGE))).toBe('MISSING_AVP');
    expect(codeOf(valued(AvpCode.SELECTION_STAGE, 0))).toBe('BAD_VALUE');
    expect(codeOf(valued(AvpCode.SELECTION_STAGE, 5))).toBe('BAD_VALUE');
    expect(codeOf(valued(AvpCode.SELECTION_REASON, 8))).toBe('BAD_VALUE');
    expect(codeOf(valued(AvpCode.SELECTION_REASON, 7))).toBe('OK');
    const twice = { ...body, avps: [...body.avps, { code: AvpCode.SELECTION_STAGE, value: 1 }] };
    expect(codeOf(twice)).toBe('REPEATED_AVP');
  });
});
