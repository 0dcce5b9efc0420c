import { describe, expect, it } from 'vitest';
import { parseProgressLine, parseTcpreplayOutput, tcpreplayArguments } from '../../lab/replay.js';
import { formatReplaySummary } from '../../lab/report.js';
import type { PassiveCounters } from '../../lab/lab.js';

// What tcpreplay 4.4.3 printed for modbusBig.pcap + bigtcp-ipv6.pcap at --pps 5000 --stats=1.
const STDOUT = `Test start: 2026-11-21 23:58:48.188501 ...
Actual: 5002 packets (356414 bytes) sent in 1.00 seconds
Rated: 356342.7 Bps, 2.85 Mbps, 5000.99 pps
Actual: 10002 packets (712893 bytes) sent in 2.00 seconds
Rated: 356410.8 Bps, 2.85 Mbps, 5000.49 pps
Test complete: 2026-11-21 23:58:50.913045
Actual: 13622 packets (970680 bytes) sent in 2.72 seconds
Rated: 356272.4 Bps, 2.85 Mbps, 4999.73 pps
Statistics for network device: dcl0-src-eth
	Successful packets:        13622
	Failed packets:            1
	Truncated packets:         0
	Retried packets (ENOBUFS): 3
	Retried packets (EAGAIN):  2
`;
const STDERR = `
Warning in send_packets.c:send_packets() line 489:
Unable to send packet: Error with PF_PACKET send() [13623]: Message too long (errno = 90)
Warning in replay.c:replay_file() line 137:
/corpus/tcpdump__802.1ad_QinQ.pcap was captured using a snaplen of 10000 bytes.  This may mean you have truncated packets.
Warning in tcpreplay_api.c:tcpreplay_prepare() line 1150:
File Cache is enabled
`;

describe('tcpreplay output', () => {
  it('reads the final report, the refused frames and the other warnings', () => {
    expect(parseTcpreplayOutput(STDOUT, STDERR)).toEqual({
      attempted: 13623,
      sent: 13622,
      failed: 1,
      truncated: 0,
      retried: 5,
      bytes: 970680,
      seconds: 2.72,
      pps: 13622 / 2.72,
      refused: [{ index: 13623, reason: 'Message too long (errno = 90)' }],
      warnings: [
        '/corpus/tcpdump__802.1ad_QinQ.pcap was captured using a snaplen of 10000 bytes.  This may mean you have truncated packets.',
      ],
    });
  });

  it('turns the periodic statistics into progress', () => {
    expect(parseProgressLine('Actual: 5002 packets (356414 bytes) sent in 1.00 seconds')).toEqual({
      sent: 5002,
      bytes: 356414,
      seconds: 1,
    });
    expect(parseProgressLine('Rated: 356342.7 Bps, 2.85 Mbps, 5000.99 pps')).toBeUndefined();
  });

  it('refuses a report without its counters instead of guessing', () => {
    expect(() => parseTcpreplayOutput('Actual: 1 packets (60 bytes) sent in 0.01 seconds\n', '')).toThrow(
      /no "Successful packets" line/,
    );
  });
});

describe('tcpreplay arguments', () => {
  it('asks for statistics every second, preloads the files and passes one rate', () => {
    expect(tcpreplayArguments('dcl0-src-eth', ['a.pcap', 'b.pcap'], { pps: 5000, loop: 3 })).toEqual([
      '--intf1=dcl0-src-eth',
      '--stats=1',
      '--no-flow-stats',
      '--preload-pcap',
      '--pps=5000',
      '--loop=3',
      'a.pcap',
      'b.pcap',
    ]);
    expect(tcpreplayArguments('x', ['a.pcap'], { topspeed: true, preload: false })).toEqual([
      '--intf1=x',
      '--stats=1',
      '--no-flow-stats',
      '--topspeed',
      'a.pcap',
    ]);
  });

  it.each([
    [{ pps: 10, topspeed: true }, 'give at most one of --pps, --mbps and --topspeed'],
    [{ pps: 0 }, '--pps 0 must be a positive number of frames per second'],
    [{ loop: 0 }, '--loop 0 must be a whole number of 1 or more'],
  ])('refuses %j', (options, message) => {
    expect(() => tcpreplayArguments('x', ['a.pcap'], options)).toThrow(message);
  });
});

describe('replay summary', () => {
  const counters = (host: string, rxPackets: number): PassiveCounters => ({
    host,
    namespace: `dcl0-${host}`,
    interface: `dcl0-${host}-pas`,
    rxPackets,
    rxBytes: rxPackets * 60,
    rxDropped: 0,
    mirrorTxDropped: 0,
  });

  it('names refused frames by file and position and says per capture host whether every sent frame arrived', () => {
    const result = {
      interface: 'dcl0-src-eth',
      files: ['/c/a.pcap', '/c/b.pcap'],
      attempted: 11,
      sent: 10,
      failed: 1,
      truncated: 0,
      retried: 0,
      bytes: 600,
      seconds: 0.5,
      pps: 20,
      refused: [{ index: 11, file: '/c/b.pcap', frameInFile: 1, reason: 'Message too long (errno = 90)' }],
      warnings: [],
    };
    expect(formatReplaySummary(result, [counters('capture1', 10), counters('capture2', 7)])).toEqual([
      'replay: sent 10 of 11 frames (600 bytes) in 0.50 s, 20 frames/s, from dcl0-src-eth',
      'replay: tcpreplay could not send 1 frame:',
      '  b.pcap frame 1: Message too long (errno = 90)',
      '  capture1 dcl0-capture1-pas: +10 frames (+600 bytes), rx_dropped +0, mirror tx_dropped +0: every sent frame arrived',
      '  capture2 dcl0-capture2-pas: +7 frames (+420 bytes), rx_dropped +0, mirror tx_dropped +0: 3 frames missing',
    ]);
  });
});
