import { afterEach, describe, expect, it } from 'vitest';
import { Counter, Registry } from 'prom-client';
import { errorCode } from '../../common/errors.js';
import { MetricsServer, serveMetrics } from '../../common/metrics-server.js';

const servers: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function registryWithCounter(value: () => number): Registry {
  const registry = new Registry();
  new Counter({
    name: 'dicap_test_frames_total',
    help: 'Frames counted somewhere else',
    labelNames: ['node'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ node: '7' }, value());
    },
  });
  return registry;
}

describe('MetricsServer', () => {
  it('serves the registry at /metrics, reading counters at scrape time, and ok at /healthz', async () => {
    let frames = 5;
    const server = await serveMetrics(
      { host: '127.0.0.1', port: 0 },
      registryWithCounter(() => frames),
    );
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    let response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toContain('dicap_test_frames_total{node="7"} 5');
    frames = 9;
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('dicap_test_frames_total{node="7"} 9');
    response = await fetch(`${base}/healthz`);
    expect([response.status, await response.text()]).toEqual([200, 'ok\n']);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('on [::] serves IPv6 and, dual-stack, IPv4 clients', async () => {
    const server = await serveMetrics(
      { host: '::', port: 0 },
      registryWithCounter(() => 3),
    );
    servers.push(server);
    for (const base of [`http://[::1]:${server.port}`, `http://127.0.0.1:${server.port}`])
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('dicap_test_frames_total{node="7"} 3');
  });

  it('answers 500 and keeps serving when a collect() throws', async () => {
    let fail = true;
    const server = await serveMetrics(
      { host: '127.0.0.1', port: 0 },
      registryWithCounter(() => {
        if (fail) throw new Error('native counters gone');
        return 1;
      }),
    );
    servers.push(server);
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('native counters gone');
    fail = false;
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(200);
  });

  it('rejects with a one-line error naming the address when the port is taken', async () => {
    const first = await serveMetrics({ host: '127.0.0.1', port: 0 }, new Registry());
    servers.push(first);
    const second = new MetricsServer({ host: '127.0.0.1', port: first.port }, new Registry());
    const error = await second.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(errorCode(error)).toBe('DICAP_ERR_ADDRESS_IN_USE');
    expect((error as Error).message).toBe(
      `metrics 127.0.0.1:${first.port} is already in use; choose another --metrics port`,
    );
    await second.close(); // never started: a no-op
  });

  it('closes promptly even with a keep-alive connection open, and twice', async () => {
    const server = await serveMetrics({ host: '127.0.0.1', port: 0 }, new Registry());
    const port = server.port;
    await fetch(`http://127.0.0.1:${port}/healthz`, { keepalive: true });
    await server.close();
    await server.close();
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});
