import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { once } from 'node:events';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { errorCode } from '../../common/errors.js';
import { readCaptureFile, type CapturedFrame } from '../../native/capture-file.js';
import {
  TrafficGenerator,
  type IpIdMix,
  type TrafficGeneratorOptions,
} from '../../native/traffic-generator.js';
import { flowHash } from '../../protocol/index.js';
import { main as genMain, parseIpIdMix } from '../../bin/gen.js';

const tmp = tempDir('gen-test');

const FRAMES = 30_000;
const RATE = 250_000; // frames per second: 4000 ns between time stamps
const MIX: IpIdMix = { counter: 50, random: 30, zeroDf: 20 };
const SHARE_TOLERANCE = 0.06;

async function generate(
  name: string,
  options: Partial<TrafficGeneratorOptions> = {},
): Promise<CapturedFrame[]> {
  const file = path.join(tmp, name);
  const generator = new TrafficGenerator({
    write: file,
    count: FRAMES,
    rate: RATE,
    seed: 42,
    flows: 500,
    ipidMix: MIX,
    ...options,
  } as TrafficGeneratorOptions);
  const ended = once(generator, 'end');
  generator.start();
  await ended;
  const contents = readCaptureFile(file);
  expect(contents.error).toBeNull();
  expect(generator.counters().frames).toBe(contents.frames.length);
  return contents.frames;
}

// ---- a small dissector for what the generator writes ------------------------------------

interface Dissected {
  vlanTags: number;
  ethertypes: number[]; // every EtherType/TPID field in order
  ipVersion: 4 | 6 | 0;
  src: string;
  dst: string;
  proto: number; // transport protocol (after IPv6 extension headers)
  extensionHeaders: number[];
  ipv4Id?: number;
  dontFragment?: boolean;
  fragmentOffset: number; // bytes
  moreFragments: boolean;
  fragment: boolean;
  fragmentIdent?: number; // IPv6 Fragment header
  l3: number; // offset of the IP header
  l4: number; // offset of the transport header (or fragment data)
  ipPayloadEnd: number; // end of the IP datagram in the frame (before padding)
  sport?: number;
  dport?: number;
}

function dissect(frame: Buffer): Dissected {
  let offset = 12;
  const ethertypes: number[] = [];
  let type = frame.readUInt16BE(offset);
  ethertypes.push(type);
  let vlanTags = 0;
  while (type === 0x8100 || type === 0x88a8) {
    vlanTags++;
    offset += 4;
    type = frame.readUInt16BE(offset);
    ethertypes.push(type);
  }
  const l3 = offset + 2;
  const d: Dissected = {
    vlanTags,
    ethertypes,
    ipVersion: 0,
    src: '',
    dst: '',
    proto: -1,
    extensionHeaders: [],
    fragmentOffset: 0,
    moreFragments: false,
    fragment: false,
    l3,
    l4: l3,
    ipPayloadEnd: l3,
  };
  if (type === 0x0800) {
    d.ipVersion = 4;
    d.src = [...frame.subarray(l3 + 12, l3 + 16)].join('.');
    d.dst = [...frame.subarray(l3 + 16, l3 + 20)].join('.');
    d.proto = frame[l3 + 9]!;
    d.ipv4Id = frame.readUInt16BE(l3 + 4);
    const flags = frame.readUInt16BE(l3 + 6);
    d.dontFragment = (flags & 0x4000) !== 0;
    d.moreFragments = (flags & 0x2000) !== 0;
    d.fragmentOffset = (flags & 0x1fff) * 8;
    d.fragment = d.moreFragments || d.fragmentOffset !== 0;
    d.l4 = l3 + (frame[l3]! & 0x0f) * 4;
    d.ipPayloadEnd = l3 + frame.readUInt16BE(l3 + 2);
  } else if (type === 0x86dd) {
    d.ipVersion = 6;
    d.src = frame.subarray(l3 + 8, l3 + 24).toString('hex');
    d.dst = frame.subarray(l3 + 24, l3 + 40).toString('hex');
    d.ipPayloadEnd = l3 + 40 + frame.readUInt16BE(l3 + 4);
    let next = frame[l3 + 6]!;
    let at = l3 + 40;
    while (next === 60 || next === 44 || next === 0) {
      d.extensionHeaders.push(next);
      if (next === 44) {
        const field = frame.readUInt16BE(at + 2);
        d.fragmentOffset = field & 0xfff8;
        d.moreFragments = (field & 1) !== 0;
        d.fragment = true;
        d.fragmentIdent = frame.readUInt32BE(at + 4);
        next = frame[at]!;
        at += 8;
      } else {
        next = frame[at]!;
        at += (frame[at + 1]! + 1) * 8;
      }
    }
    d.proto = next;
    d.l4 = at;
  }
  if (d.ipVersion !== 0 && d.fragmentOffset === 0 && (d.proto === 6 || d.proto === 17)) {
    d.sport = frame.readUInt16BE(d.l4);
    d.dport = frame.readUInt16BE(d.l4 + 2);
  }
  return d;
}

function onesComplementSum(bytes: Buffer, sum = 0): number {
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += bytes.readUInt16BE(i);
  if (bytes.length % 2) sum += bytes[bytes.length - 1]! << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** True when the IPv4 header checksum and the transport checksum of an unfragmented datagram verify. */
function checksumsValid(frame: Buffer, d: Dissected): boolean {
  if (d.ipVersion === 4 && fold(onesComplementSum(frame.subarray(d.l3, d.l4))) !== 0xffff) return false;
  if (d.fragment) return true; // the transport checksum covers the whole datagram
  const transport = frame.subarray(d.l4, d.ipPayloadEnd);
  let sum = onesComplementSum(transport);
  if (d.proto !== 1) {
    const addressBytes = d.ipVersion === 4 ? 4 : 16;
    const srcAt = d.ipVersion === 4 ? d.l3 + 12 : d.l3 + 8;
    sum =
      onesComplementSum(frame.subarray(srcAt, srcAt + 2 * addressBytes), sum) + d.proto + transport.length;
  }
  return fold(sum) === 0xffff;
}

// ---------------------------------------------------------------------------------------

describe('dicap gen --write: the synthetic mix', () => {
  let frames: CapturedFrame[];
  let dissected: Dissected[];

  beforeAll(async () => {
    frames = await generate('mix.pcap');
    dissected = frames.map((f) => dissect(f.data));
  });

  it('writes exactly the requested number of frames, stamped 1/rate apart', () => {
    expect(frames).toHaveLength(FRAMES);
    const spacing = frames.slice(1).map((f, i) => Number(f.tsNs - frames[i]!.tsNs));
    expect(Math.min(...spacing)).toBeGreaterThanOrEqual(1e9 / RATE - 1);
    expect(Math.max(...spacing)).toBeLessThanOrEqual(1e9 / RATE + 1);
    for (const f of frames) expect(f.wireLen).toBe(f.data.length);
  });

  it('has IPv4, IPv6 with and without an extension header, 802.1Q, QinQ, and IPv4 and IPv6 fragments', () => {
    const count = (test: (d: Dissected) => boolean): number => dissected.filter(test).length;
    const shares = {
      ipv4: count((d) => d.ipVersion === 4),
      ipv6: count((d) => d.ipVersion === 6),
      ipv6DestinationOptions: count((d) => d.extensionHeaders.includes(60)),
      vlan: count((d) => d.vlanTags === 1 && d.ethertypes[0] === 0x8100),
      qinq: count((d) => d.vlanTags === 2 && d.ethertypes[0] === 0x88a8 && d.ethertypes[1] === 0x8100),
      ipv4Fragments: count((d) => d.ipVersion === 4 && d.fragment),
      ipv6Fragments: count((d) => d.ipVersion === 6 && d.fragment),
      tcp: count((d) => d.proto === 6),
      udp: count((d) => d.proto === 17),
      icmp: count((d) => d.proto === 1 || d.proto === 58),
    };
    for (const [what, n] of Object.entries(shares)) expect(n, what).toBeGreaterThan(50);
    expect(shares.ipv4 + shares.ipv6).toBe(FRAMES);
  });

  it('sends every fragment of a datagram, in order and back to back', () => {
    let datagrams = 0;
    for (let i = 0; i < dissected.length; i++) {
      const first = dissected[i]!;
      if (!first.fragment || first.fragmentOffset !== 0) continue;
      datagrams++;
      let expected = 0;
      let j = i;
      for (;;) {
        const d = dissected[j]!;
        expect(d.fragment && d.src === first.src && d.dst === first.dst).toBe(true);
        expect(
          first.ipVersion === 4 ? d.ipv4Id === first.ipv4Id : d.fragmentIdent === first.fragmentIdent,
        ).toBe(true);
        expect(d.fragmentOffset).toBe(expected);
        expected += d.ipPayloadEnd - d.l4;
        if (!d.moreFragments) break;
        j++;
      }
      i = j;
    }
    expect(datagrams).toBeGreaterThan(20);
    // Every fragment belongs to one of those datagrams: none starts mid-way.
    const fragments = dissected.filter((d) => d.fragment).length;
    expect(fragments).toBeGreaterThan(2 * datagrams);
  });

  it('shows most connections in both directions, with the same flow hash each way', () => {
    const directions = new Map<number, Set<string>>();
    for (let i = 0; i < frames.length; i++) {
      const d = dissected[i]!;
      if (d.fragment) continue; // fragments hash without ports, as SPEC.md §4 says
      const hash = flowHash(frames[i]!.data, 0);
      const set = directions.get(hash) ?? new Set<string>();
      set.add(`${d.src}>${d.dst}`);
      directions.set(hash, set);
    }
    const both = [...directions.values()].filter((s) => s.size === 2).length;
    expect(directions.size).toBeGreaterThan(500);
    expect(both / directions.size).toBeGreaterThan(0.6);
  });

  it('keeps frame sizes within 60..1514 bytes and uses both ends of the range', () => {
    const sizes = frames.map((f) => f.data.length);
    expect(Math.min(...sizes)).toBe(60);
    expect(Math.max(...sizes)).toBe(1514);
    expect(new Set(sizes).size).toBeGreaterThan(500);
  });

  it('uses only 198.18.0.0/15, 2001:db8::/32 and locally administered unicast MACs, and never EtherType 0x88B5', () => {
    const outside = (address: string, version: number): boolean =>
      version === 4 ? !/^198\.(18|19)\./.test(address) : !address.startsWith('20010db8');
    const bad = frames.filter((frame, i) => {
      const f = frame.data;
      const d = dissected[i]!;
      return (
        f[0] !== 0x02 ||
        f[6] !== 0x02 ||
        d.ethertypes.includes(0x88b5) ||
        outside(d.src, d.ipVersion) ||
        outside(d.dst, d.ipVersion)
      );
    });
    expect(bad).toEqual([]);
  });

  it('writes valid IPv4 header checksums and transport checksums', () => {
    const bad = dissected.filter((d, i) => !checksumsValid(frames[i]!.data, d)).length;
    expect(bad).toBe(0);
  });

  it('gives each IPv4 sender one IP-ID behaviour, in the configured shares', () => {
    // One entry per datagram (unfragmented frames and first fragments), per direction.
    const senders = new Map<string, Dissected[]>();
    for (const d of dissected) {
      if (d.ipVersion !== 4 || d.fragmentOffset !== 0) continue;
      const key = `${d.src}:${d.sport ?? d.proto}>${d.dst}:${d.dport ?? d.proto}/${d.proto}`;
      senders.set(key, [...(senders.get(key) ?? []), d]);
    }
    const classes = { counter: 0, random: 0, zeroDf: 0 };
    for (const datagrams of senders.values()) {
      if (datagrams.length < 3) continue;
      const whole = datagrams.filter((d) => !d.fragment);
      const consecutive = datagrams.every(
        (d, i) => i === 0 || d.ipv4Id === ((datagrams[i - 1]!.ipv4Id! + 1) & 0xffff),
      );
      if (whole.length > 0 && whole.every((d) => d.ipv4Id === 0 && d.dontFragment)) classes.zeroDf++;
      else if (consecutive) classes.counter++;
      else classes.random++;
    }
    const total = classes.counter + classes.random + classes.zeroDf;
    expect(total).toBeGreaterThan(300);
    const weights = MIX.counter + MIX.random + MIX.zeroDf;
    expect(Math.abs(classes.counter / total - MIX.counter / weights)).toBeLessThan(SHARE_TOLERANCE);
    expect(Math.abs(classes.random / total - MIX.random / weights)).toBeLessThan(SHARE_TOLERANCE);
    expect(Math.abs(classes.zeroDf / total - MIX.zeroDf / weights)).toBeLessThan(SHARE_TOLERANCE);
    // Fragmented datagrams never carry DF.
    expect(dissected.some((d) => d.ipVersion === 4 && d.fragment && d.dontFragment)).toBe(false);
  });

  it('is read by tcpdump without complaint', () => {
    const result = spawnSync('tcpdump', ['-nn', '-r', path.join(tmp, 'mix.pcap')], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(0);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^reading from file .*, link-type EN10MB/),
    ]);
    expect(result.stdout.trim().split('\n')).toHaveLength(FRAMES);
    expect(result.stdout).not.toMatch(/\[\|/); // tcpdump marks truncated or malformed headers with [|proto]
  });
});

describe('dicap gen --write: determinism and options', () => {
  it('gives the same frames for the same seed and different frames for another', async () => {
    const a = await generate('seed-a.pcap', { count: 5000, seed: 7 });
    const b = await generate('seed-b.pcap', { count: 5000, seed: 7 });
    const c = await generate('seed-c.pcap', { count: 5000, seed: 8 });
    expect(b.every((f, i) => f.data.equals(a[i]!.data))).toBe(true);
    expect(c.filter((f, i) => f.data.equals(a[i]!.data)).length).toBeLessThan(50);
  });

  it('with a rate, --duration is the span of the time stamps', async () => {
    const frames = await generate('duration.pcap', { count: undefined, durationMs: 100, rate: 10_000 });
    expect(frames).toHaveLength(1000);
    expect(Number(frames.at(-1)!.tsNs - frames[0]!.tsNs)).toBe(999 * 100_000);
  });

  it('uses zero-df only when the mix says so', async () => {
    const frames = await generate('zero.pcap', {
      count: 3000,
      ipidMix: { counter: 0, random: 0, zeroDf: 1 },
    });
    const whole = frames.map((f) => dissect(f.data)).filter((d) => d.ipVersion === 4 && !d.fragment);
    expect(whole.length).toBeGreaterThan(1000);
    expect(whole.every((d) => d.ipv4Id === 0 && d.dontFragment)).toBe(true);
  });

  it('keeps --flows connections open at once', async () => {
    const frames = await generate('one-flow.pcap', { count: 2000, flows: 1 });
    // One connection at a time: consecutive frames share the address pair unless a connection ended.
    const pairs = frames.map((f) => dissect(f.data)).map((d) => [d.src, d.dst].sort().join('|'));
    const changes = pairs.filter((p, i) => i > 0 && p !== pairs[i - 1]).length;
    expect(changes).toBeLessThan(frames.length / 5);
  });

  it('stops when asked and leaves a valid file with the frames it counted', async () => {
    const file = path.join(tmp, 'stopped.pcap');
    const generator = new TrafficGenerator({ write: file, durationMs: 60_000, seed: 1 });
    let ended = false;
    generator.on('end', () => (ended = true));
    generator.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    generator.stop();
    generator.stop();
    const counters = generator.counters();
    expect(counters.running).toBe(false);
    expect(counters.frames).toBeGreaterThan(0);
    const contents = readCaptureFile(file);
    expect(contents.error).toBeNull();
    expect(contents.frames).toHaveLength(counters.frames);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ended).toBe(false);
  });

  it('refuses bad options with a one-line error', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ count: 1 }, /exactly one output/],
      [{ write: 'x', interface: 'y' }, /exactly one output/],
      [{ write: 'x', flows: 0 }, /flows must be a whole number from 1/],
      [{ write: 'x', rate: 1.5 }, /rate must be a whole number/],
      [{ write: 'x', ipidMix: { counter: 0, random: 0, zeroDf: 0 } }, /non-zero share/],
    ];
    for (const [options, message] of bad) {
      let caught: unknown;
      try {
        new TrafficGenerator(options as TrafficGeneratorOptions);
      } catch (error) {
        caught = error;
      }
      expect(errorCode(caught)).toBe('DICAP_ERR_BAD_CONFIG');
      expect((caught as Error).message).toMatch(message);
    }
  });

  it('says which file it cannot write', () => {
    const generator = new TrafficGenerator({ write: path.join(tmp, 'no-such-dir', 'x.pcap'), count: 1 });
    expect(() => generator.start()).toThrow(/cannot write .*no-such-dir.*No such file or directory/);
  });

  it('parses --ipid-mix and names what is wrong with it', () => {
    expect(parseIpIdMix(['counter:60', 'random:20', 'zero-df:20'])).toEqual({
      counter: 60,
      random: 20,
      zeroDf: 20,
    });
    expect(parseIpIdMix(['random:1'])).toEqual({ counter: 0, random: 1, zeroDf: 0 });
    expect(() => parseIpIdMix(['counter:1', 'bogus:2'])).toThrow(/"bogus:2".*counter, random or zero-df/);
    expect(() => parseIpIdMix(['counter:1', 'counter:2'])).toThrow(/twice/);
    expect(() => parseIpIdMix(['counter:0'])).toThrow(/no non-zero share/);
  });
});

describe('dicap gen command', () => {
  it('writes a file and reports it as JSON', async () => {
    const file = path.join(tmp, 'cli.pcap');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const code = await genMain([
        '--write',
        file,
        '--count',
        '1234',
        '--rate',
        '1000',
        '--seed',
        '3',
        '--json',
        '--no-progress',
      ]);
      expect(code).toBe(0);
      const report = JSON.parse(String(log.mock.calls.at(-1)?.[0])) as Record<string, unknown>;
      expect(report).toMatchObject({
        output: { file },
        frames: 1234,
        requestedRate: 1000,
        seed: 3,
        sendRefusals: 0,
        framesFailed: 0,
        error: null,
      });
      expect(report.bytes).toBe(readCaptureFile(file).frames.reduce((sum, f) => sum + f.data.length, 0));
    } finally {
      log.mockRestore();
    }
  });

  it('refuses a file without a limit, and a missing interface, with exit code 2', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await genMain(['--write', path.join(tmp, 'endless.pcap')])).toBe(2);
      expect(String(error.mock.calls.at(-1)?.[0])).toMatch(/--write needs --count N or --duration S/);
      expect(await genMain(['--interface', 'dicap-no-such-if', '--count', '1'])).toBe(2);
      expect(String(error.mock.calls.at(-1)?.[0])).toMatch(
        /interface "dicap-no-such-if" does not exist|permission denied/,
      );
    } finally {
      error.mockRestore();
    }
  });
});
