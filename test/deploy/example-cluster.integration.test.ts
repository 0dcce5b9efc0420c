// Rehearses the README's Deployment section with the example configs as they are shipped
// (docs/examples/*.json), in a network namespace: the management addresses of the examples
// (198.18.0.x) on the namespace's loopback, a passive interface eth1 prepared as the README
// says (no address, promiscuous, offloads off, IPv6 off), one cluster key with mode 0600,
// three coordinators from one coordinator.json (the second and third overridden by
// environment variables, as their systemd units do), an analyzer and an agent. Traffic from
// `dicap gen` on the other end of eth1's veth must arrive exactly once, the ledger must say
// so, and killing the active coordinator must elect another while capture goes on.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DICAP } from '../../lab/dicap-command.js';
import { parseExposition, valueOf, type Exposition } from './prometheus-text.js';

const NS = `dcd${process.pid}`;
const EXAMPLES = path.resolve('docs', 'examples');
const COORDINATORS = [1, 2, 3].map((id) => ({ id, ip: `198.18.0.${200 + id}` }));
const ANALYZER_IP = '198.18.0.100';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-deploy-'));
const keyFile = path.join(tmp, 'cluster.key');
const children = new Map<string, { child: ChildProcess; log: () => string }>();

function inNamespace(command: string[]): string {
  return execFileSync('ip', ['netns', 'exec', NS, ...command], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function start(name: string, args: string[], env: Record<string, string> = {}): void {
  const child = spawn('ip', ['netns', 'exec', NS, process.execPath, DICAP, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  children.set(name, { child, log: () => log });
}

/**
 * The analyzer or agent from its example config, with the test's cluster key file (the
 * example names /etc/dicap/cluster.key) and no periodic status line.
 */
function startFromExample(component: 'analyzer' | 'agent', args: string[]): void {
  start(
    component,
    [component, '--config', path.join(EXAMPLES, `${component}.json`), ...args, '--status-interval', '0'],
    { [`DICAP_${component.toUpperCase()}_CLUSTER_KEY_FILE`]: keyFile },
  );
}

/** `count` generated frames into the mirror port (wire0) at `rate` per second; returns when sent. */
function sendOnWire(rate: number, count: number, args: string[] = []): void {
  inNamespace([
    process.execPath,
    DICAP,
    'gen',
    '--interface',
    'wire0',
    '--rate',
    String(rate),
    '--count',
    String(count),
    ...args,
    '--no-progress',
  ]);
}

async function stop(name: string, signal: NodeJS.Signals): Promise<void> {
  const { child } = children.get(name)!;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

/** GET inside the namespace (its addresses are not reachable from outside); node, so that no curl is needed. */
const FETCH =
  'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) }).then(async (r) => { if (!r.ok) process.exit(1); process.stdout.write(await r.text()); }, () => process.exit(1))';
function get(url: string): string {
  return inNamespace([process.execPath, '-e', FETCH, url]);
}

function metrics(url: string): Exposition | undefined {
  try {
    return parseExposition(get(url));
  } catch {
    return undefined;
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const logs = [...children]
        .map(([name, c]) => `--- ${name}:\n${c.log().split('\n').slice(-6).join('\n')}`)
        .join('\n');
      throw new Error(`timed out waiting for ${what}\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

const coordinatorMetrics = (ip: string): Exposition | undefined => metrics(`http://${ip}:8400/metrics`);
const activeCoordinators = (): number[] =>
  COORDINATORS.filter((c) => children.get(`coordinator${c.id}`)?.child.exitCode === null)
    .filter((c) => {
      const m = coordinatorMetrics(c.ip);
      return m !== undefined && valueOf(m, 'dicap_coordinator_active') === 1;
    })
    .map((c) => c.id);

describe.skipIf(process.getuid?.() !== 0)(
  'the example configs as a cluster in a network namespace (root)',
  () => {
    beforeAll(() => {
      execFileSync('ip', ['netns', 'add', NS]);
      const ip = (...args: string[]): void => void execFileSync('ip', ['-n', NS, ...args]);
      ip('link', 'set', 'lo', 'up');
      for (const address of [...COORDINATORS.map((c) => c.ip), ANALYZER_IP])
        ip('addr', 'add', `${address}/32`, 'dev', 'lo');
      // The passive NIC as the README prepares it; wire0 plays the mirror port.
      ip('link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'wire0');
      inNamespace([
        'sysctl',
        '-qw',
        'net.ipv6.conf.eth1.disable_ipv6=1',
        'net.ipv6.conf.wire0.disable_ipv6=1',
      ]);
      ip('link', 'set', 'eth1', 'promisc', 'on');
      inNamespace(['ethtool', '-K', 'eth1', 'gro', 'off', 'tso', 'off', 'gso', 'off']);
      ip('link', 'set', 'eth1', 'up');
      ip('link', 'set', 'wire0', 'up');
      fs.writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 }); // = openssl rand -hex 32

      // The examples name /etc/dicap/cluster.key and an epoch every 10 s; the test keeps its key
      // in its own directory and closes epochs faster, through the environment.
      const common = {
        DICAP_COORDINATOR_CLUSTER_KEY_FILE: keyFile,
        DICAP_COORDINATOR_EPOCH_INTERVAL_MS: '2500',
        DICAP_COORDINATOR_STATUS_INTERVAL: '0',
      };
      for (const c of COORDINATORS) {
        const others = COORDINATORS.filter((o) => o.id !== c.id)
          .map((o) => `${o.id}@${o.ip}:7400`)
          .join(',');
        start(
          `coordinator${c.id}`,
          ['coordinator', '--config', path.join(EXAMPLES, 'coordinator.json')],
          c.id === 1
            ? common
            : {
                ...common,
                DICAP_COORDINATOR_COORDINATOR_ID: String(c.id),
                DICAP_COORDINATOR_LISTEN: `${c.ip}:7400`,
                DICAP_COORDINATOR_PEER: others,
                DICAP_COORDINATOR_HTTP: `${c.ip}:8400`,
              },
        );
      }
      startFromExample('analyzer', ['--write', path.join(tmp, 'capture.pcap')]);
      startFromExample('agent', ['--summary', path.join(tmp, 'agent.json')]);
    });

    afterAll(async () => {
      await Promise.all([...children.keys()].map((name) => stop(name, 'SIGKILL')));
      try {
        execFileSync('ip', ['netns', 'del', NS]);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });

    it('elects one active coordinator, which knows the agent and the analyzer', async () => {
      const [active] = await waitFor('one active coordinator', () => {
        const a = activeCoordinators();
        return a.length === 1 ? a : undefined;
      });
      const m = coordinatorMetrics(COORDINATORS[active! - 1]!.ip)!;
      await waitFor('both members', () => {
        const now = coordinatorMetrics(COORDINATORS[active! - 1]!.ip);
        return now &&
          valueOf(now, 'dicap_coordinator_members', { role: 'capture' }) === 1 &&
          valueOf(now, 'dicap_coordinator_members', { role: 'analyzer' }) === 1
          ? true
          : undefined;
      });
      expect(valueOf(m, 'dicap_coordinator_role', { role: 'active' })).toBe(1);
      expect(valueOf(m, 'dicap_coordinator_term') % 256).toBe(active);
    }, 30_000);

    it('captures what crosses the passive interface exactly once, and the ledger says so', async () => {
      const agentUrl = 'http://127.0.0.1:9402/metrics';
      // A hash-mode topology comes into force with the first frame at or after its validity
      // start (500 ms after it was issued): on an idle link the agent holds it pending.
      await waitFor('the agent to follow a coordinator', () =>
        /following coordinator/.test(children.get('agent')!.log()) ? true : undefined,
      );
      await new Promise((r) => setTimeout(r, 1500));
      const sent = 3000;
      sendOnWire(2000, sent);
      let last: Exposition | undefined;
      const agent = await waitFor('the agent to export every frame', () => {
        last = metrics(agentUrl) ?? last;
        return last && valueOf(last, 'dicap_agent_exported_records_total') === sent ? last : undefined;
      }).catch((error: Error) => {
        const counts = last?.samples
          .filter((x) => x.name.startsWith('dicap_agent_'))
          .map((x) => `${x.name}${JSON.stringify(x.labels)} ${x.value}`);
        throw new Error(`${error.message}\nagent metrics:\n${counts?.join('\n')}`);
      });
      // IPv6 off and no address: the passive interface carries nothing but the mirrored frames.
      expect(valueOf(agent, 'dicap_agent_seen_frames_total')).toBe(sent);
      expect(valueOf(agent, 'dicap_agent_unassigned_frames_total')).toBe(0);
      expect(valueOf(agent, 'dicap_agent_position')).toBe(0);
      expect(valueOf(agent, 'dicap_agent_interface_received_frames_total')).toBe(sent);
      const analyzer = await waitFor('the analyzer to write every frame', () => {
        const m = metrics('http://127.0.0.1:9401/metrics');
        return m && valueOf(m, 'dicap_analyzer_written_records_total') === sent ? m : undefined;
      });
      expect(valueOf(analyzer, 'dicap_analyzer_node_records_total', { node: '11' })).toBe(sent);
      expect(valueOf(analyzer, 'dicap_analyzer_node_gap_datagrams_total', { node: '11' })).toBe(0);
      const [active] = activeCoordinators();
      const ledger = await waitFor('an epoch with frames judged exactly once', () => {
        const epochs = JSON.parse(get(`http://${COORDINATORS[active! - 1]!.ip}:8400/ledger`)) as Array<{
          status: string;
          frames: number;
        }>;
        return epochs.some((e) => e.frames > 0 && e.status !== 'open') ? epochs : undefined;
      });
      for (const epoch of ledger.filter((e) => e.status !== 'open'))
        expect(epoch.status).toBe('exactly-once');
      expect(ledger.reduce((sum, e) => sum + e.frames, 0)).toBeLessThanOrEqual(sent);
    }, 40_000);

    it('fails over when the active coordinator dies, and the agent keeps capturing', async () => {
      const [old] = activeCoordinators();
      await stop(`coordinator${old}`, 'SIGKILL');
      const [next] = await waitFor(
        'another active coordinator',
        () => {
          const a = activeCoordinators();
          return a.length === 1 && a[0] !== old ? a : undefined;
        },
        30_000,
      );
      const m = coordinatorMetrics(COORDINATORS[next! - 1]!.ip)!;
      expect(valueOf(m, 'dicap_coordinator_failovers_total')).toBeGreaterThanOrEqual(1);
      expect(valueOf(m, 'dicap_coordinator_term') % 256).toBe(next);
      const before = valueOf(
        parseExposition(get('http://127.0.0.1:9402/metrics')),
        'dicap_agent_seen_frames_total',
      );
      sendOnWire(5000, 1000, ['--seed', '2']);
      await waitFor('the agent to see the new frames', () => {
        const now = metrics('http://127.0.0.1:9402/metrics');
        return now && valueOf(now, 'dicap_agent_exported_records_total') === before + 1000 ? true : undefined;
      });
      expect(children.get('agent')!.child.exitCode).toBeNull();
    }, 45_000);
  },
);
