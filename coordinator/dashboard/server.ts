// The coordinator's live dashboard on its --http server (an HttpAddOn of
// common/metrics-server.ts, so /metrics, /status and the page share one server): serves the
// page's files from coordinator/dashboard/public, /dashboard.json, and pushes a snapshot to
// every page over a WebSocket at /live twice a second. A page gets the whole rate timeline
// (a sample a second) when it connects, then each new sample with the update that brings it.
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import type { HttpAddOn } from '../../common/metrics-server.js';
import type { Coordinator } from '../coordinator.js';
import { dashboardSnapshot, type DashboardSnapshot } from './snapshot.js';
import { Timeline } from './timeline.js';

/** How often every page gets a new snapshot: more than once a second, so no second goes without one. */
export const DEFAULT_PUSH_INTERVAL_MS = 500;
export const LIVE_PATH = '/live';
export const SNAPSHOT_PATH = '/dashboard.json';
/** A page that has this much unsent skips updates until it catches up (a slow link must not grow our memory). */
const MAX_BUFFERED_BYTES = 1 << 20;
/** Pages connected at once; more are refused (503), so a crowd of clients cannot grow our memory. */
export const DEFAULT_MAX_PAGES = 64;
/** Pages send nothing: a frame larger than this ends the connection (ws closes it with 1009). */
const MAX_PAYLOAD_BYTES = 1024;

/** The page's files: coordinator/dashboard/public in the repository, found from this module in the sources or in dist/. */
export const PUBLIC_DIRECTORY = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return path.join(dir, 'coordinator', 'dashboard', 'public');
})();

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** URL path → file, for every file of the page (nothing else is ever read from disk). */
function listFiles(directory: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (CONTENT_TYPES[path.extname(entry.name)])
        files.set('/' + path.relative(directory, file).split(path.sep).join('/'), file);
    }
  };
  walk(directory);
  files.set('/', path.join(directory, 'index.html'));
  return files;
}

export type DashboardRefusal = 'limit' | 'protocol' | 'socket';

export interface DashboardOptions {
  pushIntervalMs?: number;
  /** Pages connected at once (default DEFAULT_MAX_PAGES). */
  maxPages?: number;
  /** The page's files (default PUBLIC_DIRECTORY). */
  publicDirectory?: string;
}

export class Dashboard implements HttpAddOn {
  readonly timeline = new Timeline();
  readonly paths = ['/', SNAPSHOT_PATH, LIVE_PATH];
  private readonly files: Map<string, string>;
  /** Connections refused or ended, by why: `limit` (DEFAULT_MAX_PAGES pages already), `protocol` (bad WebSocket bytes), `socket` (a TCP error). */
  readonly refused: Record<DashboardRefusal, number> = { limit: 0, protocol: 0, socket: 0 };
  private readonly sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD_BYTES });
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly options: DashboardOptions = {},
  ) {
    this.files = listFiles(options.publicDirectory ?? PUBLIC_DIRECTORY);
    this.sockets.on('connection', (socket) => {
      // Pages only listen; anything they send is ignored, and bad bytes (an unmasked frame,
      // a reserved opcode, bad UTF-8, an oversized payload) end that connection only: ws
      // reports them here and closes the socket.
      socket.on('error', () => this.refused.protocol++);
      this.send(socket, this.snapshot(true));
    });
  }

  /** The snapshot now; with the timeline for a page that has none yet. */
  snapshot(withTimeline: boolean): DashboardSnapshot {
    const snapshot = dashboardSnapshot(this.coordinator, Date.now());
    return withTimeline ? { ...snapshot, timeline: this.timeline.list() } : snapshot;
  }

  /** Pages connected now. */
  get connections(): number {
    return this.sockets.clients.size;
  }

  handle(request: http.IncomingMessage, response: http.ServerResponse, urlPath: string): boolean {
    if (urlPath === SNAPSHOT_PATH) {
      response
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(this.snapshot(true)));
      return true;
    }
    const file = this.files.get(urlPath);
    if (!file) return false;
    let body: Buffer;
    try {
      body = fs.readFileSync(file);
    } catch (error) {
      response
        .writeHead(500, { 'content-type': 'text/plain' })
        .end(`reading ${urlPath} failed: ${(error as Error).message}\n`);
      return true;
    }
    // Read per request and never cached: what the repository holds is what the page runs.
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[path.extname(file)]!,
      'cache-control': 'no-store',
    });
    response.end(request.method === 'HEAD' ? undefined : body);
    return true;
  }

  attach(server: http.Server): void {
    server.on('upgrade', (request: http.IncomingMessage, socket, head) => {
      // A reset or a write to a closed peer must not become an unhandled 'error' (a crash).
      socket.on('error', () => this.refused.socket++);
      if ((request.url ?? '').split('?')[0] !== LIVE_PATH || this.closed) {
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
        return;
      }
      if (this.sockets.clients.size >= (this.options.maxPages ?? DEFAULT_MAX_PAGES)) {
        this.refused.limit++;
        socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\r\ntoo many dashboard pages\n');
        return;
      }
      this.sockets.handleUpgrade(request, socket, head, (ws) => this.sockets.emit('connection', ws, request));
    });
    this.tick();
    // Samples are taken with or without pages, so a page opened later sees the last minutes;
    // the timer alone never keeps the coordinator running.
    this.timer = setInterval(
      () => this.tick(),
      this.options.pushIntervalMs ?? DEFAULT_PUSH_INTERVAL_MS,
    ).unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const socket of this.sockets.clients) socket.terminate();
    this.sockets.close();
  }

  private tick(): void {
    const snapshot = this.snapshot(false);
    const sampled = this.timeline.add(snapshot.sample);
    if (this.sockets.clients.size === 0) return;
    const text = JSON.stringify({ ...snapshot, sampled });
    for (const socket of this.sockets.clients) this.send(socket, text);
  }

  private send(socket: WebSocket, message: DashboardSnapshot | string): void {
    if (socket.readyState !== socket.OPEN || socket.bufferedAmount > MAX_BUFFERED_BYTES) return;
    socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }
}
