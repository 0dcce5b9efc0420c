// Issue 11 case 1: the dashboard's HTTP/WebSocket listener survives any bytes. Raw TCP
// clients complete the WebSocket handshake on /live and then send what no browser sends (an
// unmasked frame, a reserved opcode, bad UTF-8, RSV1 without compression, an oversized
// payload): each ends that connection only, is counted, and the coordinator goes on
// serving; a crowd of 500 clients is held to the page limit, the rest refused and counted.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serveMetrics } from '../../common/metrics-server.js';
import { startCoordinator } from '../../coordinator/runtime.js';
import { DEFAULT_MAX_PAGES, Dashboard } from '../../coordinator/dashboard/server.js';
import { createCoordinatorMetrics } from '../../coordinator/metrics.js';
import { fastCoordinatorConfig } from '../helpers/coordinator-config.js';
import { freePort } from '../helpers/free-port.js';

const open: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function dashboardServer(): Promise<{ dashboard: Dashboard; port: number }> {
  const coordinator = await startCoordinator(fastCoordinatorConfig(await freePort('udp')));
  open.push(() => coordinator.stop());
  const dashboard = new Dashboard(coordinator, { pushIntervalMs: 50 });
  const server = await serveMetrics(
    { host: '127.0.0.1', port: 0 },
    createCoordinatorMetrics(coordinator, dashboard),
    {},
    '--http',
    dashboard,
  );
  open.push(() => server.close());
  return { dashboard, port: server.port };
}

/** A raw client that completes the handshake on /live; resolves once upgraded. */
function rawPage(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined); // the server may reset us; that is the point
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (head.startsWith('HTTP/1.1 101')) resolve(socket);
      else reject(new Error(head.split('\r\n')[0]));
    };
    socket.on('data', onData);
    socket.write(
      'GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

/** A client frame: FIN + opcode, masked unless told otherwise. */
function frame(firstByte: number, payload: Buffer, masked = true): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const length =
    payload.length < 126
      ? Buffer.from([(masked ? 0x80 : 0) | payload.length])
      : Buffer.from([(masked ? 0x80 : 0) | 126, payload.length >> 8, payload.length & 0xff]);
  const body = masked ? Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!)) : payload;
  return Buffer.concat([Buffer.from([firstByte]), length, masked ? mask : Buffer.alloc(0), body]);
}

const closed = (socket: net.Socket): Promise<void> =>
  new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

function healthz(port: number): Promise<number> {
  return new Promise((resolve, reject) =>
    http
      .get(`http://127.0.0.1:${port}/healthz`, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      })
      .on('error', reject),
  );
}

describe('the dashboard survives hostile WebSocket clients', () => {
  it('closes each bad connection, counts it, and keeps serving', async () => {
    const { dashboard, port } = await dashboardServer();
    const hostile: Record<string, Buffer> = {
      'unmasked frame (82 01 41)': Buffer.from([0x82, 0x01, 0x41]),
      'reserved opcode 3': frame(0x83, Buffer.from('A')),
      'bad UTF-8 in a text frame': frame(0x81, Buffer.from([0xc3, 0x28])),
      'RSV1 without compression': frame(0xc1, Buffer.from('A')),
      'a payload over 1024 bytes': frame(0x82, Buffer.alloc(2000, 0x41)),
    };
    for (const [what, bytes] of Object.entries(hostile)) {
      const socket = await rawPage(port);
      socket.write(bytes);
      await closed(socket);
      expect(await healthz(port), `after ${what}`).toBe(200);
    }
    expect(dashboard.refused.protocol).toBe(Object.keys(hostile).length);
    expect(dashboard.connections).toBe(0);
  });

  it('holds 500 clients to the page limit and refuses the rest with a count', async () => {
    const { dashboard, port } = await dashboardServer();
    const outcomes = await Promise.allSettled(Array.from({ length: 500 }, () => rawPage(port)));
    const pages = outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value);
    open.push(() => pages.forEach((s) => s.destroy()));
    expect(pages.length).toBe(DEFAULT_MAX_PAGES);
    expect(dashboard.connections).toBe(DEFAULT_MAX_PAGES);
    expect(dashboard.refused.limit).toBe(500 - DEFAULT_MAX_PAGES);
    expect(await healthz(port)).toBe(200);
  });
});
