// The real `dicap analyzer` process (dist/, built by `npm test`'s pretest step): options,
// pcap to a file and to `| tcpdump -r -`, status line, metrics, signals, a closed pipe.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import {
  DICAP,
  dicapOptions,
  type DicapOptionValue,
  type DicapProcess,
  runDicap,
  startDicap,
} from '../../lab/dicap-command.js';
import { parseLogLine } from '../../common/logger.js';
import { DEFAULT_SNAPLEN } from '../../common/cluster-options.js';
import type { BatchRecord } from '../../protocol/header-batch.js';
import {
  batch,
  expectedPcapRecords,
  readPcap,
  tcpdumpLines,
  tcpdumpTimestamp,
  testRecords,
  UdpSender,
  waitUntil,
  type BatchSpec,
} from './helpers.js';
import { freePort } from '../helpers/free-port.js';

const tmp = tempDir('analyzer');
const processes: ChildProcess[] = [];
const senders: UdpSender[] = [];

beforeAll(() => {
  // Compiled output older than these sources would test yesterday's analyzer.
  const sources = [
    'analyzer/main.ts',
    'analyzer/options.ts',
    'analyzer/metrics.ts',
    'analyzer/status.ts',
    'native/analyzer-sink.ts',
    'common/options.ts',
  ];
  const compiled = path.join('dist', 'analyzer', 'main.js');
  if (!fs.existsSync(compiled))
    throw new Error(`${compiled} is missing; run \`npm run build:ts\` (npm test does it first)`);
  const stale = sources.filter(
    (s) => fs.statSync(s).mtimeMs > fs.statSync(path.join('dist', s.replace(/\.ts$/, '.js'))).mtimeMs,
  );
  if (stale.length > 0) throw new Error(`dist/ is older than ${stale.join(', ')}; run \`npm run build:ts\``);
});
afterEach(async () => {
  for (const p of processes.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(senders.splice(0).map((s) => s.close()));
});

function analyzer(options: Record<string, DicapOptionValue>): DicapProcess {
  const p = startDicap(['analyzer', ...dicapOptions(options)]);
  processes.push(p.child);
  return p;
}

/**
 * An analyzer on `port` writing pcap to its stdout (`--write -`), spawned directly so that
 * its stdout can be another process's stdin.
 */
function analyzerToStdout(port: number, ...args: string[]): ChildProcess {
  const child = spawn(
    process.execPath,
    [DICAP, 'analyzer', '--listen', `127.0.0.1:${port}`, '--write', '-', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  processes.push(child);
  return child;
}

function sender(port: number): UdpSender {
  const s = new UdpSender(port);
  senders.push(s);
  return s;
}

/** Node 11 sends seq 0, 1, 3 (a gap of one) and 3 again; node 22 sends 0, 1 on two streams. */
function scenario(): { datagrams: Buffer[]; written: BatchRecord[] } {
  const specs: BatchSpec[] = [];
  let next = 0;
  const add = (nodeId: number, stream: number, seq: number): BatchSpec => {
    const spec = { nodeId, epoch: 5, stream, seq, records: testRecords(next, 3) };
    next += 3;
    specs.push(spec);
    return spec;
  };
  add(11, 0, 0);
  add(22, 0, 0);
  add(22, 1, 0);
  add(11, 0, 1);
  add(22, 0, 1);
  add(11, 0, 3);
  add(22, 1, 1);
  const duplicate = batch(specs[5]!);
  const datagrams = [
    ...specs.map(batch),
    duplicate,
    Buffer.from('this is not a header batch, though long enough'),
    Buffer.alloc(10),
  ];
  return { datagrams, written: specs.flatMap((s) => s.records) };
}

function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no metric ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

describe('dicap analyzer', () => {
  it('explains every option with --help', async () => {
    const { code, stdout } = await runDicap(['analyzer', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^usage: dicap analyzer --listen HOST:PORT \(--write FILE\|- \| --output tap:NAME\) /,
    );
    for (const flag of [
      '--listen',
      '--write',
      '--metrics',
      '--status-interval',
      '--receive-buffer',
      '--flush-ms',
      '--summary',
      '--config',
      '--output',
      '--split',
      '--format',
      '--snaplen',
      '--rotate-seconds',
      '--rotate-mb',
      '--rotate-count',
      '--reorder-ms',
    ]) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain('DICAP_ANALYZER_LISTEN');
  });

  it.each([
    [
      ['--listen', 'nohost', '--write', 'x.pcap'],
      'dicap analyzer: --listen "nohost" has no port; give HOST:PORT such as 127.0.0.1:9999',
    ],
    [['--listen', '127.0.0.1:9'], 'dicap analyzer: give exactly one of --write FILE|- and --output tap:NAME'],
    [
      ['--listen', '127.0.0.1:9', '--write', '-', '--split', '2'],
      'dicap analyzer: --split needs several outputs; standard output is one: give --write FILE or --output tap:NAME',
    ],
    [
      ['--listen', '127.0.0.1:9', '--output', 'tap:averyveryverylongname'],
      "dicap analyzer: --output tap:averyveryverylongname: the TAP name must be at most 15 letters, digits, '_', '.' or '-'; give a shorter one such as tap:dicap",
    ],
    [
      ['--listen', '127.0.0.1:9', '--write', 'x', '--rotate-count', '3'],
      'dicap analyzer: --rotate-count needs --rotate-seconds or --rotate-mb (it bounds the rotated files)',
    ],
    [
      ['--listen', '127.0.0.1:9', '--write', 'x', '--format', 'erf'],
      /^dicap analyzer: --format "erf" .*pcap.*pcapng/,
    ],
    [
      ['--listen', '127.0.0.1:9', '--write', 'x', '--status-interval', 'soon'],
      'dicap analyzer: --status-interval "soon" is not an integer; give a number of seconds such as 5, or 0 for none',
    ],
    [
      ['--listn', '127.0.0.1:9'],
      'dicap analyzer: unknown option --listn; did you mean --listen? (see dicap analyzer --help)',
    ],
    [
      ['--listen', 'no-such-host.invalid:9', '--write', 'x'],
      /^dicap analyzer: --listen: cannot resolve "no-such-host.invalid" to an IPv4 address \((ENOTFOUND|EAI_AGAIN)\); give an address or a resolvable name$/,
    ],
  ])('refuses bad configuration %j with one line and exit code 2', async (args, message) => {
    const { code, stdout, stderr } = await runDicap(['analyzer', ...args]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    if (typeof message === 'string') expect(stderr.trimEnd()).toBe(message);
    else expect(stderr.trimEnd()).toMatch(message);
  });

  it('names the config file and the unknown key', async () => {
    const config = path.join(tmp, 'analyzer.json');
    fs.writeFileSync(config, JSON.stringify({ listen: '127.0.0.1:9', writ: 'x.pcap' }));
    const { code, stderr } = await runDicap(['analyzer', '--config', config]);
    expect(code).toBe(2);
    expect(stderr.trimEnd()).toBe(
      `dicap analyzer: config file ${config}: unknown key "writ"; did you mean "write"?`,
    );
  });

  it('exits 1 with one line when the UDP port or the metrics port is taken', async () => {
    const udpPort = await freePort('udp');
    const first = analyzer({
      listen: `127.0.0.1:${udpPort}`,
      write: path.join(tmp, 'first.pcap'),
      'status-interval': 0,
    });
    await first.waitForStderr(/listening on udp/);
    const second = await runDicap([
      'analyzer',
      '--listen',
      `127.0.0.1:${udpPort}`,
      '--write',
      path.join(tmp, 'second.pcap'),
    ]);
    expect(second.code).toBe(1);
    // The options were fine: the failure to start is the log's one record, an error.
    expect(second.stderr.trimEnd().split('\n').map(parseLogLine)).toEqual([
      expect.objectContaining({
        level: 'error',
        component: 'analyzer',
        msg: `--listen 127.0.0.1:${udpPort} is already in use; choose another port or stop the process holding it`,
      }),
    ]);

    const tcp = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => tcp.once('listening', r));
    const metricsPort = (tcp.address() as net.AddressInfo).port;
    const third = await runDicap([
      'analyzer',
      ...dicapOptions({
        listen: `127.0.0.1:${await freePort('udp')}`,
        write: path.join(tmp, 'third.pcap'),
        metrics: `127.0.0.1:${metricsPort}`,
      }),
    ]);
    tcp.close();
    expect(third.code).toBe(1);
    expect(third.stderr.trimEnd().split('\n').map(parseLogLine)).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: `metrics 127.0.0.1:${metricsPort} is already in use; choose another --metrics port`,
      }),
    ]);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
  });

  it('writes pcap to a file, reports status and metrics, and on SIGTERM prints its final counters and exits 0', async () => {
    const udpPort = await freePort('udp');
    const metricsPort = await freePort('tcp');
    const file = path.join(tmp, 'run.pcap');
    const summary = path.join(tmp, 'run.json');
    const p = analyzer({
      listen: `127.0.0.1:${udpPort}`,
      write: file,
      'status-interval': 1,
      metrics: `127.0.0.1:${metricsPort}`,
      summary,
    });
    await p.waitForStderr(
      /listening on udp 127\.0\.0\.1:\d+, writing pcap to .*run\.pcap, metrics at http:\/\/127\.0\.0\.1:\d+\/metrics\n/,
    );
    const { datagrams, written } = scenario();
    await sender(udpPort).send(datagrams);

    let text = '';
    const deadline = Date.now() + 5000;
    do {
      text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    } while (
      metricValue(text, 'dicap_analyzer_received_datagrams_total') < datagrams.length &&
      Date.now() < deadline
    );
    expect(metricValue(text, 'dicap_analyzer_received_datagrams_total')).toBe(datagrams.length);
    expect(metricValue(text, 'dicap_analyzer_received_records_total')).toBe(written.length + 3);
    expect(metricValue(text, 'dicap_analyzer_malformed_datagrams_total{reason="bad_magic"}')).toBe(1);
    expect(metricValue(text, 'dicap_analyzer_malformed_datagrams_total{reason="short"}')).toBe(1);
    expect(metricValue(text, 'dicap_analyzer_node_gap_datagrams_total{node="11"}')).toBe(1);
    expect(metricValue(text, 'dicap_analyzer_node_duplicate_datagrams_total{node="11"}')).toBe(1);
    expect(metricValue(text, 'dicap_analyzer_node_gap_datagrams_total{node="22"}')).toBe(0);
    expect(metricValue(text, 'dicap_analyzer_node_streams{node="22"}')).toBe(2);
    expect(metricValue(text, 'dicap_analyzer_node_epoch{node="22"}')).toBe(5);
    expect(metricValue(text, 'dicap_analyzer_output_state{state="open"}')).toBe(1);
    expect(text).toContain('# TYPE dicap_analyzer_written_records_total counter');
    await p.waitForStderr(
      /datagrams 10 \(\d+\/s\) records 24 written 21 \| nodes 2 lost-datagrams 1 late 0 duplicates 1 restarts 0 \| malformed 2 socket-drops 0 unwritten 0 \| output open\n/,
    );

    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.stdout()).toBe('');
    expect(p.stderr()).toMatch(
      /dicap analyzer: final: datagrams 10 bytes \d+ records 24 written 21 unwritten 0 duplicate-records 3 \| nodes 2 lost-datagrams 1 \| malformed 2 \(SHORT 1, BAD_MAGIC 1\) socket-drops 0 write-errors 0 \| output closed \(\d+ bytes, files 1\)\n {2}node 11: datagrams 4 records 12 lost-datagrams 1 \(gaps 1, late 0\) duplicates 1 restarts 0 streams 1 epoch 5\n {2}node 22: datagrams 4 records 12 lost-datagrams 0/,
    );
    expect(readPcap(fs.readFileSync(file), DEFAULT_SNAPLEN)).toEqual(expectedPcapRecords(written));
    expect(tcpdumpLines(file).map((l) => l.split(' ')[0])).toEqual(written.map(tcpdumpTimestamp));
    const counters = JSON.parse(fs.readFileSync(summary, 'utf8'));
    expect(counters).toMatchObject({ datagrams: 10, records: 24, recordsWritten: 21, outputState: 'closed' });
  });

  it('on SIGINT writes what it received even when its flush timer has not fired', async () => {
    const udpPort = await freePort('udp');
    const metricsPort = await freePort('tcp');
    const file = path.join(tmp, 'sigint.pcap');
    const p = analyzer({
      listen: `127.0.0.1:${udpPort}`,
      write: file,
      'flush-ms': 60000,
      'status-interval': 0,
      metrics: `127.0.0.1:${metricsPort}`,
    });
    await p.waitForStderr(/listening on udp/);
    const records = testRecords(0, 40);
    await sender(udpPort).send(
      [0, 1, 2, 3].map((seq) =>
        batch({ nodeId: 1, epoch: 1, stream: 0, seq, records: records.slice(seq * 10, seq * 10 + 10) }),
      ),
    );
    const received = async (): Promise<number> =>
      metricValue(
        await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
        'dicap_analyzer_received_datagrams_total',
      );
    const deadline = Date.now() + 5000;
    while ((await received()) < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Received but still buffered: the file holds the header only (the first flush goes out at once, so allow 10 records).
    expect(readPcap(fs.readFileSync(file), DEFAULT_SNAPLEN).length).toBeLessThanOrEqual(10);
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
    expect(readPcap(fs.readFileSync(file), DEFAULT_SNAPLEN)).toEqual(expectedPcapRecords(records));
  });

  it('streams pcap to stdout for `| tcpdump -r -`, frames arriving before it stops, and only pcap on stdout', async () => {
    const udpPort = await freePort('udp');
    const child = analyzerToStdout(udpPort, '--status-interval', '1');
    const tcpdump = spawn('tcpdump', ['-r', '-', '-l', '-nn', '-tt', '--time-stamp-precision=nano'], {
      stdio: [child.stdout!, 'pipe', 'pipe'],
    });
    processes.push(tcpdump);
    child.stdout!.destroy(); // tcpdump holds the pipe's reading end now; we keep no copy
    let stderr = '';
    let lines = '';
    let tcpdumpErr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    tcpdump.stdout!.on('data', (d: Buffer) => (lines += d.toString()));
    tcpdump.stderr!.on('data', (d: Buffer) => (tcpdumpErr += d.toString()));
    const analyzerExit = new Promise((r) => child.on('exit', (code) => r(code)));
    const tcpdumpExit = new Promise((r) => tcpdump.on('exit', (code) => r(code)));
    await waitUntil(() => stderr.includes('listening on udp'), 'the analyzer to listen');
    expect(stderr).toContain('writing pcap to standard output');

    const { datagrams, written } = scenario();
    await sender(udpPort).send(datagrams);
    // tcpdump prints the frames while the analyzer still runs: the flush timer, not the exit, delivered them.
    await waitUntil(
      () => lines.split('\n').filter(Boolean).length === written.length,
      `${written.length} lines from tcpdump`,
      5000,
    );
    expect(child.exitCode).toBeNull();
    await waitUntil(() => /datagrams 10 \(/.test(stderr), 'a status line on stderr', 3000);

    child.kill('SIGTERM');
    expect(await analyzerExit).toBe(0);
    expect(await tcpdumpExit).toBe(0);
    expect(tcpdumpErr).toContain(
      `reading from file -, link-type EN10MB (Ethernet), snapshot length ${DEFAULT_SNAPLEN}`,
    );
    expect(
      lines
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]),
    ).toEqual(written.map(tcpdumpTimestamp));
    expect(stderr).toMatch(/final: datagrams 10 .* \| output closed/);
  });

  it('ends in order, exit 0, when the reader of its stdout goes away', async () => {
    const udpPort = await freePort('udp');
    const child = analyzerToStdout(udpPort, '--flush-ms', '1');
    const head = spawn('head', ['-c', '100'], { stdio: [child.stdout!, 'ignore', 'ignore'] });
    processes.push(head);
    child.stdout!.destroy(); // only head may hold the reading end, so its exit closes the pipe
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((r) => child.on('exit', (code, signal) => r(code ?? signal)));
    await waitUntil(() => stderr.includes('listening on udp'), 'the analyzer to listen');
    const s = sender(udpPort);
    let seq = 0;
    const sending = setInterval(
      () =>
        void s
          .send([batch({ nodeId: 1, epoch: 1, stream: 0, seq: seq++, records: testRecords(seq, 10) })])
          .catch(() => undefined),
      5,
    );
    try {
      expect(await exited).toBe(0);
    } finally {
      clearInterval(sending);
    }
    expect(stderr).toContain('dicap analyzer: the reader of the output closed it; stopping');
    expect(stderr).toMatch(/final: .* \| output reader-closed \(\d+ bytes, files 1\)/);
    expect(stderr).not.toMatch(/EPIPE|Error|at .*\.js/);
  });

  it('on SIGHUP moves the capture aside to FILE.1 and writes a new FILE, and keeps running', async () => {
    const udpPort = await freePort('udp');
    const file = path.join(tmp, 'hup.pcap');
    const p = analyzer({ listen: `127.0.0.1:${udpPort}`, write: file, 'status-interval': 0 });
    await p.waitForStderr(/listening on udp/);
    const before = testRecords(0, 5);
    await sender(udpPort).send([batch({ nodeId: 1, epoch: 1, stream: 0, seq: 0, records: before })]);
    await waitUntil(() => fs.statSync(file).size > 24, 'the first records on disk');
    p.child.kill('SIGHUP');
    await p.waitForStderr(/SIGHUP: starting new capture files/);
    await waitUntil(() => fs.existsSync(`${file}.1`), `${file}.1`);
    const after = testRecords(100, 3);
    await sender(udpPort).send([batch({ nodeId: 1, epoch: 1, stream: 0, seq: 1, records: after })]);
    await waitUntil(() => fs.existsSync(file) && fs.statSync(file).size > 24, 'records in the new file');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(readPcap(fs.readFileSync(`${file}.1`), DEFAULT_SNAPLEN)).toEqual(expectedPcapRecords(before));
    expect(readPcap(fs.readFileSync(file), DEFAULT_SNAPLEN)).toEqual(expectedPcapRecords(after));
    expect(p.stderr()).toMatch(/files 2\)/);
  });

  it('serves metrics and says so once while its FIFO has no reader', async () => {
    const udpPort = await freePort('udp');
    const metricsPort = await freePort('tcp');
    const fifo = path.join(tmp, 'lonely.fifo');
    execFileSync('mkfifo', [fifo]);
    const p = analyzer({
      listen: `127.0.0.1:${udpPort}`,
      write: fifo,
      metrics: `127.0.0.1:${metricsPort}`,
      'status-interval': 0,
    });
    await p.waitForStderr(/listening on udp/);
    expect(p.stderr()).toContain(
      `the FIFO ${fifo} has no reader yet; records are counted unwritten until one opens it`,
    );
    await sender(udpPort).send([
      batch({ nodeId: 1, epoch: 1, stream: 0, seq: 0, records: testRecords(0, 4) }),
    ]);
    const scrape = async (): Promise<string> =>
      (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    let scraped = await scrape();
    for (let i = 0; i < 100 && metricValue(scraped, 'dicap_analyzer_unwritten_records_total') < 4; i++) {
      await new Promise((r) => setTimeout(r, 50));
      scraped = await scrape();
    }
    expect(metricValue(scraped, 'dicap_analyzer_unwritten_records_total')).toBe(4);
    expect(scraped).toContain('dicap_analyzer_output_state{state="no-reader"} 1');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});
