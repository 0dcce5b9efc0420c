// The dashboard's server over real sockets on loopback: a coordinator with members played by
// ControlChannels that send heartbeats with engine counters, IPv4 ID histograms and analyzer
// reports; the page's files, /dashboard.json and the WebSocket at /live on the same server
// as /metrics; rates, shares, the summed histogram, a timed-out node, and a standby that
// names the active coordinator and its dashboard.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ControlChannel } from '../../common/control-channel.js';
import { serveMetrics, type MetricsServer } from '../../common/metrics-server.js';
import type { Coordinator, CoordinatorConfig } from '../../coordinator/coordinator.js';
import { startCoordinator } from '../../coordinator/runtime.js';
import { DEFAULT_PUSH_INTERVAL_MS, Dashboard } from '../../coordinator/dashboard/server.js';
import type { DashboardSnapshot } from '../../coordinator/dashboard/snapshot.js';
import { createCoordinatorMetrics } from '../../coordinator/metrics.js';
import { fastCoordinatorConfig, TEST_CLUSTER_KEY } from '../helpers/coordinator-config.js';
import { analyzerReport, heartbeat, ipidHistogram, join, type EngineTotals } from '../../protocol/index.js';

const KEY = TEST_CLUSTER_KEY;
let port = 18400 + (process.pid % 500);

function config(overrides: Partial<CoordinatorConfig> = {}): CoordinatorConfig {
  port += 1;
  return fastCoordinatorConfig(port, { mode: 'ipid', ...overrides });
}

const open: Array<{ stop?(): unknown; close?(): unknown }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await (thing.stop ? thing.stop() : thing.close!());
});

const until = async (
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 4000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            type: String(response.headers['content-type'] ?? ''),
            body,
          }),
        );
      })
      .on('error', reject);
  });
}

async function coordinatorWithDashboard(
  overrides: Partial<CoordinatorConfig> = {},
  pushIntervalMs = 100,
): Promise<{ coordinator: Coordinator; dashboard: Dashboard; server: MetricsServer; base: string }> {
  const coordinator = await startCoordinator(config(overrides));
  open.push(coordinator);
  const dashboard = new Dashboard(coordinator, { pushIntervalMs });
  const server = await serveMetrics(
    { host: '127.0.0.1', port: 0 },
    createCoordinatorMetrics(coordinator),
    {},
    '--http',
    dashboard,
  );
  open.push(server);
  return { coordinator, dashboard, server, base: `http://127.0.0.1:${server.port}` };
}

/** A member over loopback that sends what it is told, every 50 ms. */
async function member(
  coordinatorPort: number,
  send: (tick: number) => Parameters<ControlChannel['send']>[0][],
): Promise<{ stop(): Promise<void> }> {
  const channel = await ControlChannel.open({ bind: { ip: '127.0.0.1', port: 0 }, key: KEY });
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    for (const body of send(tick)) channel.send(body, { ip: '127.0.0.1', port: coordinatorPort });
  }, 50);
  let closed: Promise<void> | undefined;
  const stopped = {
    stop: () => {
      clearInterval(timer);
      closed ??= channel.close();
      return closed;
    },
  };
  open.push(stopped);
  return stopped;
}

const totals = (tick: number, share: number): EngineTotals => {
  const seen = BigInt(tick * 1000);
  const owned = BigInt(Math.round(tick * 1000 * share));
  return {
    ringPackets: seen,
    ringDrops: 0n,
    seen,
    owned,
    exported: owned,
    queueDrops: BigInt(tick),
    sendFailed: 0n,
    noAnalyzer: 0n,
  };
};

/** The snapshots a WebSocket client receives. */
async function listen(base: string): Promise<{ messages: DashboardSnapshot[]; close(): void }> {
  const socket = new WebSocket(`${base.replace('http', 'ws')}/live`);
  const messages: DashboardSnapshot[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as DashboardSnapshot));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const client = { messages, close: () => socket.close() };
  open.push(client);
  return client;
}

describe('the dashboard server', () => {
  it('serves the page and its files on the metrics server, and nothing else from disk', async () => {
    const { base } = await coordinatorWithDashboard();
    const page = await get(`${base}/`);
    expect(page).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
    expect(page.body).toContain('app.js');
    expect(await get(`${base}/app.js`)).toMatchObject({
      status: 200,
      type: 'text/javascript; charset=utf-8',
    });
    expect(await get(`${base}/style.css`)).toMatchObject({ status: 200, type: 'text/css; charset=utf-8' });
    expect((await get(`${base}/metrics`)).body).toContain('dicap_coordinator_epoch');
    for (const bad of [
      '/../server.ts',
      '/%2e%2e/server.ts',
      '/README.md',
      '/../package.json',
      '/index.htm',
    ]) {
      expect((await get(`${base}${bad}`)).status, bad).toBe(404);
    }
    const json = JSON.parse((await get(`${base}/dashboard.json`)).body) as DashboardSnapshot;
    expect(json).toMatchObject({ coordinator: { id: 1, mode: 'ipid' }, nodes: [], analyzers: [] });
    expect(Array.isArray(json.timeline)).toBe(true);
  });

  it('pushes snapshots over /live with rates, shares, the summed IPv4 ID histogram and the analyzers’ reports', async () => {
    const { coordinator, base } = await coordinatorWithDashboard();
    const at = coordinator.config.listen.port;
    const shares: Record<number, number> = { 11: 0.75, 12: 0.25 };
    for (const nodeId of [11, 12]) {
      await member(at, (tick) => [
        ...(tick === 1 ? [join({ nodeId, role: 'capture' })] : []),
        heartbeat({
          nodeId,
          epoch: coordinator.epoch,
          role: 'capture',
          term: coordinator.term,
          counters: totals(tick, shares[nodeId]!),
        }),
        // Node 11 owns IDs of bin 0, node 12 of bin 200: two reports' worth each so far.
        ipidHistogram({
          nodeId,
          frames: BigInt(tick * 10),
          bins: Array.from({ length: 256 }, (_, i) => (i === (nodeId === 11 ? 0 : 200) ? tick * 10 : 0)),
        }),
      ]);
    }
    await member(at, (tick) => [
      ...(tick === 1
        ? [join({ nodeId: 100, role: 'analyzer', endpoint: { ip: '127.0.0.1', port: 9999 } })]
        : []),
      heartbeat({ nodeId: 100, epoch: 0, role: 'analyzer', endpoint: { ip: '127.0.0.1', port: 9999 } }),
      analyzerReport({
        nodeId: 100,
        sourceNodeId: 11,
        records: BigInt(tick * 750),
        datagrams: BigInt(tick * 30),
        lostDatagrams: 2n,
      }),
    ]);
    const client = await listen(base);
    await until('the first message', () => client.messages.length > 0);
    expect(client.messages[0]!.timeline).toBeDefined(); // the whole timeline, once
    await until('both nodes capturing with rates, and the analyzer reporting', () => {
      const s = client.messages.at(-1)!;
      return (
        s.nodes.length === 2 &&
        s.nodes.every((n) => n.state === 'capturing' && n.rates !== null) &&
        s.analyzers[0]?.sources.length === 1 &&
        s.ipid.recent.frames > 0
      );
    });
    const s = client.messages.at(-1)!;
    expect(s.timeline).toBeUndefined();
    // Members send every 50 ms: 1000 frames per report, 20 reports a second (fewer on a busy
    // machine, whose timers run late): a rate per second, not per report or since the start.
    const [n11, n12] = s.nodes;
    expect(n11!.rates!.seen).toBeGreaterThan(2_000);
    expect(n11!.rates!.seen).toBeLessThan(40_000);
    expect(n11!.share! / n12!.share!).toBeCloseTo(3, 0);
    expect(n11!.totals!.queueDrops).toBeGreaterThan(0);
    expect(n11!.received).toMatchObject({ lostDatagrams: 2 });
    expect(n11!.received!.recordsRate).toBeGreaterThan(0);
    expect(s.sample.seen).toBeCloseTo(Math.max(n11!.rates!.seen, n12!.rates!.seen));
    expect(s.sample.owned).toBeCloseTo(n11!.rates!.owned + n12!.rates!.owned);
    // The histogram is the sum of both nodes: bins 0 and 200 only.
    expect(s.ipid.recent.bins.flatMap((n, i) => (n > 0 ? [i] : []))).toEqual([0, 200]);
    expect(s.ipid.sinceStart.bins[0]).toBeGreaterThan(0);
    expect(s.analyzers[0]).toMatchObject({
      nodeId: 100,
      state: 'up',
      data: { ip: '127.0.0.1', port: 9999 },
      sources: [{ nodeId: 11, lostDatagrams: 2 }],
    });
    // At least one update a second (here every 100 ms), each with a newer sample.
    const count = client.messages.length;
    await new Promise((r) => setTimeout(r, 1000));
    expect(client.messages.length - count).toBeGreaterThanOrEqual(5);
    const times = client.messages.map((m) => m.sample.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('updates every page more than once a second, and adds a timeline sample a second', async () => {
    const { base } = await coordinatorWithDashboard({}, DEFAULT_PUSH_INTERVAL_MS);
    const client = await listen(base);
    await until('the first message', () => client.messages.length > 0);
    const start = client.messages.length;
    // Judged on the coordinator's own sample times, not on this (possibly busy) process's clock.
    await until('eight updates', () => client.messages.length - start >= 8, 20_000);
    const times = client.messages.slice(start).map((m) => m.sample.atMs);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps.sort((a, b) => a - b)[Math.floor(gaps.length / 2)]).toBeLessThan(1000);
    const sampled = client.messages
      .slice(start)
      .filter((m) => m.sampled)
      .map((m) => m.sample.atMs);
    expect(sampled.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < sampled.length; i++)
      expect(sampled[i]! - sampled[i - 1]!).toBeGreaterThanOrEqual(900);
  });

  it('shows a node that stopped heartbeating as timed out, with the time, and takes it out of the shares', async () => {
    const { coordinator, base } = await coordinatorWithDashboard();
    const at = coordinator.config.listen.port;
    const nodes = await Promise.all(
      [11, 12].map((nodeId) =>
        member(at, (tick) => [
          ...(tick === 1 ? [join({ nodeId, role: 'capture' })] : []),
          heartbeat({ nodeId, epoch: coordinator.epoch, counters: totals(tick, 0.5) }),
        ]),
      ),
    );
    const client = await listen(base);
    await until(
      'both capturing',
      () => client.messages.at(-1)?.nodes.filter((n) => n.state === 'capturing').length === 2,
    );
    await nodes[1]!.stop();
    const stoppedAt = Date.now();
    await until(
      'node 12 timed out',
      () => client.messages.at(-1)?.nodes.find((n) => n.nodeId === 12)?.state === 'timed out',
      10_000,
    );
    const s = client.messages.at(-1)!;
    const gone = s.nodes.find((n) => n.nodeId === 12)!;
    expect(gone).toMatchObject({ state: 'timed out', control: null, rates: null, share: null });
    expect(gone.departedMs).toBeGreaterThanOrEqual(stoppedAt);
    expect(s.nodes.find((n) => n.nodeId === 11)!.share).toBe(1);
    expect(s.events.some((e) => e.kind === 'timeout' && e.text.includes('capture 12'))).toBe(true);
  });

  it('on a standby names the active coordinator and where its dashboard is', async () => {
    const ports = [port + 1, port + 2];
    port += 2;
    const peers = (self: number) => [{ id: 3 - self, endpoint: { ip: '127.0.0.1', port: ports[2 - self]! } }];
    const coordinators = await Promise.all(
      [1, 2].map(async (id) => {
        const coordinator = await startCoordinator({
          ...config(),
          listen: { ip: '127.0.0.1', port: ports[id - 1]! },
          coordinatorId: id,
          peers: peers(id),
          dashboard: { ip: '127.0.0.1', port: 8000 + id },
        });
        open.push(coordinator);
        return coordinator;
      }),
    );
    await until(
      'one active, one standby following it',
      () =>
        coordinators.some((c) => c.active) &&
        coordinators.some(
          (c) => !c.active && c.election.leaderId !== undefined && c.lastSyncMs !== undefined,
        ),
    );
    const active = coordinators.find((c) => c.active)!;
    const standby = coordinators.find((c) => !c.active)!;
    const s = new Dashboard(standby).snapshot(false);
    expect(s.coordinator).toMatchObject({
      role: 'standby',
      active: {
        id: active.config.coordinatorId,
        self: false,
        control: active.config.listen,
        dashboard: active.config.dashboard,
      },
    });
    expect(s.coordinator.lastSyncMs).not.toBeNull();
    const own = new Dashboard(active).snapshot(false);
    expect(own.coordinator).toMatchObject({
      role: 'active',
      active: { self: true, dashboard: active.config.dashboard },
    });
    expect(own.coordinator.peers[0]!.lastHeardMs).not.toBeNull();
  });
});
