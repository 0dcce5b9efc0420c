// The real option tables of every component, through the real parser (test/common/options.test.ts
// covers the parser's machinery with a made-up table): the example configs in docs/examples
// load and describe one consistent cluster; every kind of bad config gives one line naming
// the key and the fix, for each component; every command's --help explains every option.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { ANALYZER_OPTIONS } from '../../analyzer/options.js';
import { GEN_OPTIONS } from '../../bin/gen.js';
import { OWNER_OPTIONS } from '../../bin/owner.js';
import { errorCode } from '../../common/errors.js';
import { formatHelp, parseOptions, type OptionsSpec } from '../../common/options.js';
import { COORDINATOR_OPTIONS, parsePeer } from '../../coordinator/options.js';
import { runDicap } from '../../lab/dicap-command.js';
import { DEMO_OPTIONS, DOWN_OPTIONS, REPLAY_OPTIONS, STATUS_OPTIONS, UP_OPTIONS } from '../../lab/options.js';
import { AGENT_OPTIONS } from '../../node-agent/options.js';
import { thrownBy } from '../helpers/thrown.js';

const EXAMPLES = path.resolve('docs', 'examples');
const tmp = tempDir('component-options');

function parsed<S extends OptionsSpec>(spec: S, argv: string[], env: Record<string, string> = {}) {
  const result = parseOptions(spec, argv, env);
  if (result.help) throw new Error('unexpected help');
  return result.values;
}

function exampleOf<S extends OptionsSpec>(spec: S, name: string) {
  return parsed(spec, ['--config', path.join(EXAMPLES, `${name}.json`)]);
}

describe('the example configs in docs/examples', () => {
  const coordinator = exampleOf(COORDINATOR_OPTIONS, 'coordinator');
  const agent = exampleOf(AGENT_OPTIONS, 'agent');
  const analyzer = exampleOf(ANALYZER_OPTIONS, 'analyzer');
  const endpoint = (hp: { host: string; port: number }): string => `${hp.host}:${hp.port}`;
  const peers = coordinator.peer.map((p) => parsePeer(p)!);
  const cluster = [
    `${coordinator.listen.host}:${coordinator.listen.port}`,
    ...peers.map((p) => `${p.endpoint.ip}:${p.endpoint.port}`),
  ];

  it('are three coordinators, each listening on a concrete address, with distinct IDs', () => {
    expect(peers.map((p) => p.id).sort()).toEqual([2, 3]);
    expect(coordinator.coordinatorId).toBe(1);
    expect(new Set(cluster).size).toBe(3);
    expect(coordinator.listen.host).not.toBe('0.0.0.0');
    expect(coordinator.http).toBeDefined();
    expect(coordinator.insecure).toBe(false);
  });

  it('have the agent and the analyzer follow all three coordinators, with the same key file and heartbeat', () => {
    expect(agent.coordinator.map(endpoint)).toEqual(cluster);
    expect(analyzer.coordinator.map(endpoint)).toEqual(cluster);
    expect(new Set([coordinator.clusterKeyFile, agent.clusterKeyFile, analyzer.clusterKeyFile])).toEqual(
      new Set(['/etc/dicap/cluster.key']),
    );
    const heartbeatMs = coordinator.heartbeatIntervalMs ?? 0;
    expect(heartbeatMs).toBeGreaterThan(0);
    expect(agent.heartbeatIntervalMs).toBe(heartbeatMs);
    expect(analyzer.heartbeatIntervalMs).toBe(heartbeatMs);
    // A node is removed only after several heartbeats went missing.
    expect(coordinator.nodeTimeoutMs).toBeGreaterThanOrEqual(3 * heartbeatMs);
  });

  it('give the agent a live interface, no static topology, and metrics', () => {
    expect(agent.interface).toBe('eth1');
    expect(agent.pcap).toBeUndefined();
    expect(agent.nodes).toBeUndefined();
    expect(agent.analyzer).toEqual([]); // the topology names the analyzers
    expect(agent.metrics).toBeDefined();
    expect(agent.ringBlockSize * agent.ringBlocks).toBeGreaterThanOrEqual(64 << 20);
    expect(agent.snaplen).toBe(coordinator.snaplen);
  });

  it("give the analyzer a concrete address, an ID apart from the agent's, a pcap file and metrics", () => {
    expect(analyzer.listen.host).not.toBe('0.0.0.0');
    expect(analyzer.nodeId).not.toBe(agent.nodeId);
    expect(analyzer.write).toMatch(/\.pcap$/);
    expect(analyzer.metrics).toBeDefined();
  });

  it('can be overridden per machine by environment variables and flags', () => {
    const second = parsed(
      COORDINATOR_OPTIONS,
      ['--config', path.join(EXAMPLES, 'coordinator.json'), '--http', '198.18.0.202:8400'],
      {
        DICAP_COORDINATOR_COORDINATOR_ID: '2',
        DICAP_COORDINATOR_LISTEN: '198.18.0.202:7400',
        DICAP_COORDINATOR_PEER: '1@198.18.0.201:7400,3@198.18.0.203:7400',
      },
    );
    expect(second).toMatchObject({
      coordinatorId: 2,
      listen: { host: '198.18.0.202', port: 7400 },
      peer: ['1@198.18.0.201:7400', '3@198.18.0.203:7400'],
      http: { host: '198.18.0.202', port: 8400 },
    });
    expect(second.mode).toBe(coordinator.mode); // the rest still from the file
  });
});

// ---- bad configs ----------------------------------------------------------------------------

/** Each kind of mistake, for each component: [spec, config file content, the message after "config file FILE: "]. */
const BAD_CONFIGS: Array<[string, OptionsSpec, string, string]> = [
  [
    'agent: unknown key',
    AGENT_OPTIONS,
    '{"node-id": 11, "snaplength": 96}',
    'unknown key "snaplength"; did you mean "snaplen"?',
  ],
  [
    'agent: wrong type',
    AGENT_OPTIONS,
    '{"node-id": 11, "snaplen": "96 bytes"}',
    'snaplen "96 bytes" is not an integer; give a number of bytes 14-65535, or 0 for whole frames',
  ],
  [
    'agent: bad enum',
    AGENT_OPTIONS,
    '{"node-id": 11, "mode": "hash"}',
    'mode "hash" is not one of round-robin, ipid, flow; give one of them',
  ],
  [
    'agent: bad host:port',
    AGENT_OPTIONS,
    '{"node-id": 11, "coordinator": ["198.18.0.201"]}',
    'coordinator "198.18.0.201" has no port; give HOST:PORT such as 127.0.0.1:9999',
  ],
  [
    'agent: out-of-range integer',
    AGENT_OPTIONS,
    '{"node-id": 11, "snaplen": 70000}',
    'snaplen 70000 is above the maximum 65535; give a number of bytes 14-65535, or 0 for whole frames',
  ],
  [
    'agent: geometry',
    AGENT_OPTIONS,
    '{"node-id": 11, "ring-block-size": 5000}',
    'ring-block-size 5000 must be a multiple of the page size 4096, such as 1048576',
  ],
  [
    'agent: bad list item',
    AGENT_OPTIONS,
    '{"node-id": 11, "key": "0x1234"}',
    'key "0x1234" must be two 32-bit words k0,k1 such as 0x1234,0x5678',
  ],
  [
    'analyzer: unknown key',
    ANALYZER_OPTIONS,
    '{"listen": "127.0.0.1:9999", "write": "-", "colour": "x"}',
    'unknown key "colour"; known: "listen", "write", "output", "split", "format", "snaplen", "rotate-seconds", "rotate-mb", "rotate-count", "reorder-ms", "metrics", "status-interval", "log-format", "receive-buffer", "flush-ms", "nodes", "coordinator", "discover", "discover-group", "control-address", "user", "node-id", "advertise", "timing", "heartbeat-interval-ms", "cluster-key-file", "insecure", "summary"',
  ],
  [
    'analyzer: wrong type',
    ANALYZER_OPTIONS,
    '{"listen": 9999, "write": "-"}',
    'listen 9999 is not a string; give HOST:PORT such as 127.0.0.1:9999',
  ],
  [
    'analyzer: bad host:port',
    ANALYZER_OPTIONS,
    '{"listen": "127.0.0.1:99999", "write": "-"}',
    'listen "127.0.0.1:99999" has port 99999, outside 1..65535; give a port 1..65535, such as 127.0.0.1:9999',
  ],
  [
    'analyzer: out-of-range integer',
    ANALYZER_OPTIONS,
    '{"listen": "127.0.0.1:9999", "write": "-", "receive-buffer": 1024}',
    'receive-buffer 1024 is below the minimum 4096; give a number of bytes such as 33554432',
  ],
  [
    'analyzer: wrong boolean',
    ANALYZER_OPTIONS,
    '{"listen": "127.0.0.1:9999", "write": "-", "insecure": "maybe"}',
    'insecure "maybe" is not a boolean; give true or false',
  ],
  [
    'coordinator: unknown key',
    COORDINATOR_OPTIONS,
    '{"peers": ["2@198.18.0.202:7400"]}',
    'unknown key "peers"; did you mean "peer"?',
  ],
  [
    'coordinator: wrong type',
    COORDINATOR_OPTIONS,
    '{"coordinator-id": "one"}',
    'coordinator-id "one" is not an integer; give a whole number such as 1',
  ],
  [
    'coordinator: bad enum',
    COORDINATOR_OPTIONS,
    '{"insecure": true, "mode": "Flow"}',
    'mode "Flow" is not one of round-robin, ipid, flow; give one of them',
  ],
  [
    'coordinator: bad host:port',
    COORDINATOR_OPTIONS,
    '{"http": ":8400"}',
    'http ":8400" has no host; give an IPv4 address or host name before the colon, such as 127.0.0.1:9999',
  ],
  [
    'coordinator: out-of-range integer',
    COORDINATOR_OPTIONS,
    '{"coordinator-id": 256}',
    'coordinator-id 256 is above the maximum 255; give a whole number such as 1',
  ],
  [
    'coordinator: bad peer',
    COORDINATOR_OPTIONS,
    '{"peer": ["2@198.18.0.202"]}',
    'peer "2@198.18.0.202" is not ID@IP:PORT with ID 1..255; give the other coordinators such as 2@198.18.0.202:7400',
  ],
  [
    'gen: out-of-range integer',
    GEN_OPTIONS,
    '{"flows": 0}',
    'flows 0 is below the minimum 1; give a whole number such as 1000',
  ],
  [
    'gen: bad value',
    GEN_OPTIONS,
    '{"rate": "fast"}',
    'rate "fast" is not a rate; give frames per second such as 100000, or max',
  ],
  [
    'owner: bad enum',
    OWNER_OPTIONS,
    '{"nodes": "1,2", "mode": "rr"}',
    'mode "rr" is not one of round-robin, ipid, flow; give one of them',
  ],
  [
    'lab up: out-of-range integer',
    UP_OPTIONS,
    '{"nodes": 65}',
    'nodes 65 is above the maximum 64; give a whole number such as 3',
  ],
];

describe('a bad config file', () => {
  it.each(BAD_CONFIGS)('%s: one line naming the key and the fix', (_, spec, content, message) => {
    const file = path.join(tmp, `${spec.component}-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, content);
    const thrown = thrownBy(() => parseOptions(spec, ['--config', file], {}));
    expect(errorCode(thrown)).toBe('DICAP_ERR_BAD_CONFIG');
    expect((thrown as Error).message).toBe(`config file ${file}: ${message}`);
  });

  it.each([AGENT_OPTIONS, ANALYZER_OPTIONS, COORDINATOR_OPTIONS, GEN_OPTIONS, OWNER_OPTIONS])(
    'that is missing, for $component, is named with the fix',
    (spec) => {
      const file = path.join(tmp, 'no-such-dir', `${spec.component}.json`);
      expect(() => parseOptions(spec, ['--config', file], {})).toThrow(
        `config file ${file}: cannot read (ENOENT); check the path and its permissions`,
      );
      // … also when the path comes from the environment.
      expect(() =>
        parseOptions(spec, [], { [`DICAP_${spec.component.toUpperCase()}_CONFIG`]: file }),
      ).toThrow(`config file ${file}: cannot read (ENOENT)`);
    },
  );

  it.each([
    [
      'agent',
      ['--pcap', 'x.pcap', '--nodes', '1', '--analyzer', '127.0.0.1:9'],
      'missing --node-id; give a whole number (as --node-id, DICAP_AGENT_NODE_ID or "node-id" in the config file)',
    ],
    ['analyzer', ['--write', '-'], 'missing --listen; give'],
  ] as const)('%s without a required option says where it can be given', (component, argv, message) => {
    const spec = component === 'agent' ? AGENT_OPTIONS : ANALYZER_OPTIONS;
    expect(() => parseOptions(spec, [...argv], {})).toThrow(message);
  });

  it.each([
    ['agent', { 'node-id': 11, snaplen: 'lots' }, 'snaplen'],
    ['analyzer', { listen: '127.0.0.1:9', write: '-', 'flush-ms': 0 }, 'flush-ms'],
    ['coordinator', { insecure: true, 'node-timeout-ms': 10 }, 'node-timeout-ms'],
  ] as const)(
    'makes the real dicap %s exit 2 with one line on stderr naming the key',
    async (component, config, key) => {
      const file = path.join(tmp, `${component}-process.json`);
      fs.writeFileSync(file, JSON.stringify(config));
      const { code, stdout, stderr } = await runDicap([component, '--config', file]);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(new RegExp(`^dicap ${component}: config file ${file}: ${key} .*; give `));
    },
  );
});

// ---- --help -----------------------------------------------------------------------------

const SPECS: Array<[string, OptionsSpec]> = [
  ['agent', AGENT_OPTIONS],
  ['analyzer', ANALYZER_OPTIONS],
  ['coordinator', COORDINATOR_OPTIONS],
  ['gen', GEN_OPTIONS],
  ['owner', OWNER_OPTIONS],
  ['lab up', UP_OPTIONS],
  ['lab status', STATUS_OPTIONS],
  ['lab down', DOWN_OPTIONS],
  ['lab replay', REPLAY_OPTIONS],
  ['lab demo', DEMO_OPTIONS],
];

describe('--help', () => {
  it.each(SPECS)(
    'of dicap %s explains every option in a sentence and shows its default and variable',
    (command, spec) => {
      const help = formatHelp(spec);
      expect(help.startsWith(`usage: dicap ${command}`)).toBe(true);
      for (const [name, d] of Object.entries(spec.options)) {
        const block = help
          .split('\n  --')
          .find((b) => b.startsWith(`${name} `) || b.startsWith(`${name},`) || b.startsWith(`${name}\n`));
        expect(block, `--${name}`).toBeDefined();
        const text = block!.split('\n').slice(1).join(' ').replace(/\s+/g, ' ');
        expect(d.help.trim().split(/\s+/).length, `help of --${name}`).toBeGreaterThanOrEqual(3);
        expect(text).toContain(
          `Env: DICAP_${spec.component.toUpperCase()}_${name.toUpperCase().replace(/-/g, '_')}.`,
        );
        const hasDefault = d.default !== undefined && !(Array.isArray(d.default) && d.default.length === 0);
        if (hasDefault) expect(text, `default of --${name}`).toMatch(/Default: \S/);
        if (d.type === 'enum') expect(text).toContain(`One of: ${d.values.join(', ')}.`);
      }
      // Everything but the usage line is wrapped to 100 columns.
      for (const line of help.split('\n').slice(1)) expect(line.length).toBeLessThanOrEqual(100);
    },
  );

  it.each([
    'agent',
    'analyzer',
    'coordinator',
    'gen',
    'owner',
    'proto',
    'bench',
    'lab',
    'lab up',
    'lab replay',
    'lab demo',
  ])('dicap %s --help prints its usage and exits 0', async (command) => {
    const words = command.split(' ');
    const { code, stdout, stderr } = await runDicap([...words, '--help']);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(new RegExp(`^usage: dicap ${words.join(' ')}`));
  });
});
