// Issue 11 case 9: what the coordinator serves without authentication (/status, the dashboard's
// snapshot) holds no key material: not the selection hash keys k0, k1 (whoever knows them can
// steer traffic around a node), not the staging token, not the cluster key.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlChannel } from '../../common/control-channel.js';
import { serveMetrics } from '../../common/metrics-server.js';
import { Dashboard } from '../../coordinator/dashboard/server.js';
import { createCoordinatorMetrics } from '../../coordinator/metrics.js';
import { startCoordinator } from '../../coordinator/runtime.js';
import { coordinatorStatus } from '../../coordinator/status.js';
import { deriveHashKeys, join } from '../../protocol/index.js';
import { fastCoordinatorConfig, TEST_CLUSTER_KEY } from '../helpers/coordinator-config.js';
import { freePort } from '../helpers/free-port.js';

const open: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

const get = (url: string): Promise<string> =>
  new Promise((resolve, reject) =>
    http
      .get(url, (r) => {
        let body = '';
        r.setEncoding('utf8').on('data', (c: string) => (body += c));
        r.on('end', () => resolve(body));
      })
      .on('error', reject),
  );

describe('/status and /dashboard.json publish no key material', () => {
  it('the topology is there, its k0, k1 are not', async () => {
    const port = await freePort('udp');
    const coordinator = await startCoordinator(fastCoordinatorConfig(port));
    open.push(() => coordinator.stop());
    const dashboard = new Dashboard(coordinator);
    const server = await serveMetrics(
      { host: '127.0.0.1', port: 0 },
      createCoordinatorMetrics(coordinator, dashboard),
      { '/status': () => coordinatorStatus(coordinator) },
      '--http',
      dashboard,
    );
    open.push(() => server.close());
    const agent = await ControlChannel.open({ bind: { ip: '127.0.0.1', port: 0 }, key: TEST_CLUSTER_KEY });
    open.push(() => agent.close());
    const deadline = Date.now() + 4000;
    while (!coordinator.current && Date.now() < deadline) {
      agent.send(join({ nodeId: 11, role: 'capture' }), { ip: '127.0.0.1', port });
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(coordinator.current?.nodeIds).toEqual([11]);
    const [k0, k1] = deriveHashKeys(TEST_CLUSTER_KEY);
    for (const path of ['/status', '/dashboard.json']) {
      const body = await get(`http://127.0.0.1:${server.port}${path}`);
      expect(body, path).not.toMatch(/"k0"|"k1"|"token"/);
      expect(body, path).not.toMatch(new RegExp(`\\b(${k0}|${k1})\\b`));
      expect(body, path).not.toContain(TEST_CLUSTER_KEY.toString('hex'));
    }
    const status = JSON.parse(await get(`http://127.0.0.1:${server.port}/status`)) as {
      topology: { nodeIds: number[] };
    };
    expect(status.topology.nodeIds).toEqual([11]);
  });
});
