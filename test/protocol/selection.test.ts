import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FLOW_BUCKET_MASK,
  RoundRobinOwner,
  flowHash,
  flowOwner,
  fmix32,
  ipidHash,
  ownerPosition,
  parseFrame,
} from '../../protocol/index.js';
import { FRAME_VECTORS, K0, K1, NODE_IDS } from './vectors.js';

describe('selection hashes match the SPEC.md §5 vectors', () => {
  for (const v of FRAME_VECTORS) {
    const frame = Buffer.from(v.hex, 'hex');
    it(`${v.name}: flow hash, bucket and flow owner`, () => {
      expect(flowHash(frame, K0)).toBe(v.flowHash);
      expect(flowHash(frame, K0) & FLOW_BUCKET_MASK).toBe(v.bucket);
      expect(flowOwner(v.bucket, NODE_IDS, K1)).toBe(v.flowOwner);
      expect(ownerPosition('flow', frame, NODE_IDS, K0, K1)).toBe(v.flowOwner);
    });
    it(`${v.name}: IPv4 ID hash and ipid owner`, () => {
      const { ipv4Id } = parseFrame(frame);
      expect(ipv4Id === undefined ? undefined : ipidHash(ipv4Id, K0)).toBe(v.ipidHash);
      expect(ownerPosition('ipid', frame, NODE_IDS, K0, K1)).toBe(v.ipidOwner);
    });
  }
});

describe('fmix32', () => {
  it('is the MurmurHash3 finalizer on u32', () => {
    expect(fmix32(0)).toBe(0);
    // Reference values computed with 64-bit BigInt arithmetic mod 2^32.
    const reference = (x: bigint) => {
      const m = (v: bigint) => v & 0xffffffffn;
      x ^= x >> 16n;
      x = m(x * 0x85ebca6bn);
      x ^= x >> 13n;
      x = m(x * 0xc2b2ae35n);
      return Number(x ^ (x >> 16n));
    };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (x) => fmix32(x) === reference(BigInt(x))),
    );
  });
});

describe('frame parsing edge cases', () => {
  const ipv6Udp = Buffer.from(FRAME_VECTORS.find((v) => v.name === 'ipv6-udp')!.hex, 'hex');

  it('walks an IPv6 hop-by-hop header to the UDP ports', () => {
    // Insert an 8-byte hop-by-hop header (next header 17) between the fixed header and UDP.
    const frame = Buffer.concat([
      ipv6Udp.subarray(0, 54),
      Buffer.from('1100000000000000', 'hex'),
      ipv6Udp.subarray(54),
    ]);
    frame[20] = 0; // fixed header's next header: hop-by-hop
    expect(parseFrame(frame)).toEqual(parseFrame(ipv6Udp));
  });

  it('stops at a cut-off extension header with its type as proto and no ports', () => {
    const frame = Buffer.from(ipv6Udp.subarray(0, 54 + 4));
    frame[20] = 60; // destination options, but only 4 of its 8 bytes are present
    expect(parseFrame(frame)).toMatchObject({ p: 0, proto: 60 });
  });

  it('gives an IPv6 fragment no ports', () => {
    const frame = Buffer.concat([
      ipv6Udp.subarray(0, 54),
      Buffer.from('1100000100000001', 'hex'),
      ipv6Udp.subarray(54),
    ]);
    frame[20] = 44;
    expect(parseFrame(frame)).toMatchObject({ p: 0, proto: 17 });
  });

  it('treats a cut-off VLAN tag as a non-IP frame keyed by the TPID', () => {
    const frame = Buffer.from('02000000000202000000000181000064', 'hex'); // tag present, inner EtherType missing
    expect(parseFrame(frame)).toMatchObject({ p: 0, proto: 0x8100 });
  });

  it('treats an IPv4 header with IHL < 5 as a non-IP frame with no IPv4 ID', () => {
    const frame = Buffer.from(FRAME_VECTORS[0]!.hex, 'hex');
    frame[14] = 0x44;
    expect(parseFrame(frame)).toEqual({ a: expect.any(Number), p: 0, proto: 0x0800 });
  });

  it('gives frames shorter than 14 bytes position 0 in every mode', () => {
    const runt = Buffer.from('ffffffffffff0200', 'hex');
    expect(ownerPosition('flow', runt, NODE_IDS, K0, K1)).toBe(0);
    expect(ownerPosition('ipid', runt, NODE_IDS, K0, K1)).toBe(0);
    expect(ownerPosition('round-robin', runt, NODE_IDS, K0, K1, 5)).toBe(0);
  });
});

describe('flowOwner', () => {
  it('breaks a score tie toward the lower node ID', () => {
    // fmix32 is a bijection, so only equal IDs can tie; the first such position wins.
    expect(flowOwner(7, [5, 5], K1)).toBe(0);
    // Different IDs: the owner must not depend on the order the IDs are listed in.
    for (let bucket = 0; bucket < 64; bucket++) {
      const forward = [11, 22, 33][flowOwner(bucket, [11, 22, 33], K1)];
      const backward = [33, 22, 11][flowOwner(bucket, [33, 22, 11], K1)];
      expect(backward).toBe(forward);
    }
  });

  it('moves only the leaving node’s buckets when a node leaves', () => {
    for (let bucket = 0; bucket <= FLOW_BUCKET_MASK; bucket++) {
      const before = NODE_IDS[flowOwner(bucket, NODE_IDS, K1)];
      const after = [11, 33][flowOwner(bucket, [11, 33], K1)];
      if (before !== 22) expect(after).toBe(before);
    }
  });
});

describe('round-robin', () => {
  it('deals positions C mod N and restarts at 0 after a reset; runts take position 0 and advance C', () => {
    const frame = Buffer.alloc(60);
    const owner = new RoundRobinOwner();
    expect([0, 1, 2, 3].map(() => owner.next(frame, 3))).toEqual([0, 1, 2, 0]);
    expect(owner.next(Buffer.alloc(10), 3)).toBe(0);
    expect(owner.counter).toBe(5);
    expect(owner.next(frame, 3)).toBe(2);
    owner.reset();
    expect(owner.next(frame, 3)).toBe(0);
  });

  it('refuses misuse: no counter, no nodes', () => {
    expect(() => ownerPosition('round-robin', Buffer.alloc(60), NODE_IDS, K0, K1)).toThrow(/counter/);
    expect(() => ownerPosition('flow', Buffer.alloc(60), [], K0, K1)).toThrow(/node/);
  });
});

// ---- property: both directions of a flow hash alike ----

const u8 = fc.integer({ min: 0, max: 255 });
const port = fc.integer({ min: 0, max: 0xffff });

function ethernet(etherType: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(14);
  Buffer.from('020000000002020000000001', 'hex').copy(header);
  header.writeUInt16BE(etherType, 12);
  return Buffer.concat([header, payload]);
}

function ports(proto: number, sport: number, dport: number): Buffer {
  const l4 = Buffer.alloc(proto === 6 ? 20 : 8);
  l4.writeUInt16BE(sport, 0);
  l4.writeUInt16BE(dport, 2);
  return l4;
}

function ipv4Frame(
  proto: number,
  src: number[],
  dst: number[],
  sport: number,
  dport: number,
  id: number,
): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(id, 4);
  ip[8] = 64;
  ip[9] = proto;
  Buffer.from(src).copy(ip, 12);
  Buffer.from(dst).copy(ip, 16);
  return ethernet(0x0800, Buffer.concat([ip, ports(proto, sport, dport)]));
}

function ipv6Frame(proto: number, src: number[], dst: number[], sport: number, dport: number): Buffer {
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip[6] = proto;
  ip[7] = 64;
  Buffer.from(src).copy(ip, 8);
  Buffer.from(dst).copy(ip, 24);
  return ethernet(0x86dd, Buffer.concat([ip, ports(proto, sport, dport)]));
}

describe('flow hash symmetry (property)', () => {
  const proto = fc.constantFrom(6, 17);
  const k0 = fc.integer({ min: 0, max: 0xffffffff });

  it('gives both directions of an IPv4 TCP/UDP flow the same hash and owner', () => {
    const addr = fc.array(u8, { minLength: 4, maxLength: 4 });
    fc.assert(
      fc.property(
        proto,
        addr,
        addr,
        port,
        port,
        fc.integer({ min: 0, max: 0xffff }),
        k0,
        (p, s, d, sp, dp, id, key) => {
          const there = ipv4Frame(p, s, d, sp, dp, id);
          const back = ipv4Frame(p, d, s, dp, sp, id ^ 1); // the reply has its own IPv4 ID
          expect(flowHash(back, key)).toBe(flowHash(there, key));
          expect(ownerPosition('flow', back, NODE_IDS, key, K1)).toBe(
            ownerPosition('flow', there, NODE_IDS, key, K1),
          );
        },
      ),
    );
  });

  it('gives both directions of an IPv6 TCP/UDP flow the same hash', () => {
    const addr = fc.array(u8, { minLength: 16, maxLength: 16 });
    fc.assert(
      fc.property(proto, addr, addr, port, port, k0, (p, s, d, sp, dp, key) => {
        expect(flowHash(ipv6Frame(p, d, s, dp, sp), key)).toBe(flowHash(ipv6Frame(p, s, d, sp, dp), key));
      }),
    );
  });

  it('never throws and always picks a valid position for arbitrary bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 120 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 8 }),
        (bytes, ids) => {
          for (const mode of ['flow', 'ipid'] as const) {
            const position = ownerPosition(mode, bytes, ids, K0, K1);
            expect(position).toBeGreaterThanOrEqual(0);
            expect(position).toBeLessThan(ids.length);
          }
        },
      ),
    );
  });
});
