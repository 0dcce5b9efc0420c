// The components' log (common/logger.ts): both formats, the one reader of both, and real
// components logging in them (--log-format as a flag and from a config file).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { createLogger, parseLogLine, type LogFormat } from '../../common/logger.js';
import { runDicap, startDicap } from '../../lab/dicap-command.js';
import { formatTopologyInForce, parseTopologyInForce } from '../../node-agent/follower-log.js';
import { freePort } from '../helpers/free-port.js';

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function collect(format: LogFormat) {
  const written: string[] = [];
  const log = createLogger('agent', format, { write: (line) => written.push(line) });
  return { log, written };
}

describe('createLogger', () => {
  it('json: one object per line with level, time, msg, component and the fields', () => {
    const before = Date.now();
    const { log, written } = collect('json');
    log.info({ seen: 12, drops: { ring: 0 } }, 'agent 11 pos 0 epoch 3');
    log.warn('no --analyzer given');
    log.error('two\nlines');
    expect(written.every((line) => line.endsWith('\n') && line.indexOf('\n') === line.length - 1)).toBe(true);
    const records = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toEqual([
      {
        level: 'info',
        time: expect.stringMatching(ISO_TIME),
        component: 'agent',
        msg: 'agent 11 pos 0 epoch 3',
        seen: 12,
        drops: { ring: 0 },
      },
      {
        level: 'warn',
        time: expect.stringMatching(ISO_TIME),
        component: 'agent',
        msg: 'no --analyzer given',
      },
      { level: 'error', time: expect.stringMatching(ISO_TIME), component: 'agent', msg: 'two\nlines' },
    ]);
    const at = Date.parse(records[0]!.time as string);
    expect(at).toBeGreaterThanOrEqual(before - 1);
    expect(at).toBeLessThanOrEqual(Date.now() + 1);
  });

  it('text: an ISO time, the level and the message per line; fields only in json', () => {
    const { log, written } = collect('text');
    log.info({ seen: 12 }, 'listening on udp 127.0.0.1:9999');
    log.warn('receive buffer is 212992 bytes');
    log.error('final: datagrams 1\n  node 11: datagrams 1');
    expect(written[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}dicap agent: listening on udp 127\.0\.0\.1:9999\n$/,
    );
    expect(written[1]).toMatch(/^\S+Z WARN {2}dicap agent: receive buffer is 212992 bytes\n$/);
    // A message of several lines keeps its continuation lines as they were.
    expect(written[2]).toMatch(/^\S+Z ERROR dicap agent: final: datagrams 1\n {2}node 11: datagrams 1\n$/);
    expect(written[0]).not.toContain('seen');
  });

  it('parseLogLine reads both formats to the same record', () => {
    for (const format of ['text', 'json'] as const) {
      const { log, written } = collect(format);
      log.warn({ extra: 1 }, 'heartbeat every 100 ms');
      expect(parseLogLine(written[0]!.trimEnd())).toMatchObject({
        time: expect.stringMatching(ISO_TIME),
        level: 'warn',
        component: 'agent',
        msg: 'heartbeat every 100 ms',
      });
    }
    // Plain refusals (before the logger exists), continuation lines and other JSON are no records.
    expect(parseLogLine('dicap agent: --snaplen "x" is not an integer; give a number')).toBeUndefined();
    expect(parseLogLine('  node 11: datagrams 4 records 12')).toBeUndefined();
    expect(parseLogLine('{"final": true, "seen": 3}')).toBeUndefined();
    expect(parseLogLine('{not json')).toBeUndefined();
  });

  it("keeps the follower's lines readable by their parse functions in text", () => {
    const { log, written } = collect('text');
    const topology = { term: 2, epoch: 7, nodeIds: [11, 12], position: 1, inband: false };
    log.info({ topology }, formatTopologyInForce(topology));
    expect(parseTopologyInForce(written[0]!)).toEqual(topology);
  });
});

describe('--log-format on a real component', () => {
  const tmp = tempDir('logger');

  /** Runs a coordinator until its first status record, stops it, and returns its stderr lines. */
  async function coordinatorLines(format?: LogFormat): Promise<string[]> {
    const coordinator = startDicap([
      'coordinator',
      '--listen',
      `127.0.0.1:${await freePort('udp')}`,
      '--insecure',
      '--status-interval',
      '1',
      ...(format ? ['--log-format', format] : []),
    ]);
    await coordinator.waitForStderr(/standby term 0/);
    coordinator.child.kill('SIGTERM');
    expect(await coordinator.exited, coordinator.stderr()).toBe(0);
    expect(coordinator.stdout()).toBe('');
    return coordinator.stderr().trimEnd().split('\n');
  }

  it('json: every line of a coordinator is a record with level, time, msg, component and fields', async () => {
    const records = (await coordinatorLines('json')).map(
      (line) => JSON.parse(line) as Record<string, unknown>,
    );
    for (const r of records) {
      expect(r).toMatchObject({
        level: expect.any(String),
        msg: expect.any(String),
        component: 'coordinator',
      });
      expect(r.time).toMatch(ISO_TIME);
    }
    expect(records[0]).toMatchObject({ level: 'warn', msg: expect.stringMatching(/^running --insecure/) });
    expect(records[1]).toMatchObject({
      level: 'info',
      msg: expect.stringMatching(/^listening on 127\.0\.0\.1:/),
    });
    // The status line's numbers are fields as well.
    expect(records.at(-1)).toMatchObject({
      level: 'info',
      role: 'standby',
      term: 0,
      epoch: 1,
      capture: 0,
      msg: expect.stringMatching(/^coordinator 1 standby term 0 epoch 1 flow \|/),
    });
  }, 20_000);

  it('text (the default): every line carries an ISO time and the level', async () => {
    const lines = await coordinatorLines();
    expect(lines.map((l) => parseLogLine(l)?.level)).toEqual([
      'warn',
      'info',
      ...lines.slice(2).map(() => 'info'),
    ]);
    expect(lines[1]).toMatch(/^\S+Z INFO {2}dicap coordinator: listening on 127\.0\.0\.1:/);
  }, 20_000);

  it('json from the config file: the analyzer logs its start and final counters as records', async () => {
    const config = path.join(tmp, 'analyzer.json');
    fs.writeFileSync(config, JSON.stringify({ 'log-format': 'json', 'status-interval': 0 }));
    const analyzer = startDicap([
      'analyzer',
      '--config',
      config,
      '--listen',
      `127.0.0.1:${await freePort('udp')}`,
      '--write',
      path.join(tmp, 'out.pcap'),
    ]);
    await analyzer.waitForStderr(/listening on udp/);
    analyzer.child.kill('SIGTERM');
    expect(await analyzer.exited, analyzer.stderr()).toBe(0);
    const records = analyzer
      .stderr()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((r) => [r.component, r.level])).toEqual([
      ['analyzer', 'warn'], // no --cluster-key-file
      ['analyzer', 'info'], // listening
      ['analyzer', 'info'], // final counters
    ]);
    expect(records[2]).toMatchObject({
      msg: expect.stringMatching(/^final: datagrams 0 /),
      final: { datagrams: 0, records: 0, written: 0, output: 'closed' },
    });
  }, 20_000);

  it('refuses --log-format xml in one line naming the option and the valid values', async () => {
    // Each with its required options, which are checked before --log-format.
    for (const [component, ...required] of [
      ['agent', '--node-id', '1'],
      ['analyzer', '--listen', '127.0.0.1:9'],
      ['coordinator'],
    ]) {
      const result = await runDicap([component!, ...required, '--log-format', 'xml']);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `dicap ${component}: --log-format "xml" is not one of text, json; give one of them\n`,
      );
    }
  }, 20_000);
});
