// Serves a prom-client Registry over HTTP for Prometheus: GET /metrics (text exposition
// format) and GET /healthz ("ok"), plus any JSON routes a component adds (the coordinator's
// /status and /ledger) and at most one add-on with pages of its own (the coordinator's
// dashboard and its WebSocket). Every component uses this one server; what a metric means
// lives in the component's metrics.ts (native counters are read in collect()).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { DicapError } from './errors.js';
import { formatHostPort, type HostPort } from './host-port.js';

/** Open connections at once (WebSocket pages included); more are closed on arrival. */
export const MAX_HTTP_CONNECTIONS = 256;

/** Path → a function returning the JSON body (computed per request). */
export type JsonRoutes = Readonly<Record<string, () => unknown>>;

/** What a component serves beyond metrics and JSON routes, on the same server. */
export interface HttpAddOn {
  /** Paths it serves, for the 404 hint. */
  readonly paths: readonly string[];
  /** Answers a GET or HEAD for `path` that no other route took; false leaves it to the 404. */
  handle(request: http.IncomingMessage, response: http.ServerResponse, path: string): boolean;
  /** Called once with the server before it listens (e.g. to take WebSocket upgrades). */
  attach?(server: http.Server): void;
  /** Called by close() (also before start()): ends what the add-on holds open (upgraded
   * connections are not the server's). Must be safe to call twice. */
  close?(): Promise<void> | void;
}

export class MetricsServer {
  private readonly server: http.Server;
  private listening = false;

  constructor(
    private readonly address: HostPort,
    private readonly registry: Registry,
    private readonly jsonRoutes: JsonRoutes = {},
    /** The option that set the address, for error messages. */
    private readonly flag = '--metrics',
    private readonly addOn?: HttpAddOn,
  ) {
    this.server = http.createServer((request, response) => void this.handle(request, response));
    // Scrapers and pages are few: a crowd of connections is refused rather than grown into.
    this.server.maxConnections = MAX_HTTP_CONNECTIONS;
    addOn?.attach?.(this.server);
  }

  /**
   * Resolves once listening. Rejects with DicapError('DICAP_ERR_ADDRESS_IN_USE', "metrics
   * HOST:PORT is already in use; choose another --metrics port") when the port is taken,
   * or DICAP_ERR_METRICS_LISTEN naming the cause otherwise.
   */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        const where = `${this.flag.replace(/^--/, '')} ${formatHostPort(this.address)}`;
        reject(
          error.code === 'EADDRINUSE'
            ? new DicapError(
                'DICAP_ERR_ADDRESS_IN_USE',
                `${where} is already in use; choose another ${this.flag} port`,
              )
            : new DicapError(
                'DICAP_ERR_METRICS_LISTEN',
                `${where}: cannot listen (${error.code ?? error.message}); check ${this.flag}`,
              ),
        );
      };
      this.server.once('error', onError);
      this.server.listen(this.address.port, this.address.host, () => {
        this.server.off('error', onError);
        this.listening = true;
        resolve();
      });
    });
  }

  /** The port actually bound (useful when asked for port 0 in tests). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops listening and ends open connections. Safe to call twice, or before start(). */
  async close(): Promise<void> {
    await this.addOn?.close?.();
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      try {
        const body = await this.registry.metrics();
        response.writeHead(200, { 'content-type': this.registry.contentType }).end(body);
      } catch (error) {
        // A failing collect() must not take the component down; Prometheus records the failed scrape.
        response
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`collecting metrics failed: ${(error as Error).message}\n`);
      }
    } else if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path !== undefined && this.jsonRoutes[path]) {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(this.jsonRoutes[path]!(), null, 2) + '\n');
    } else if (path !== undefined && this.addOn?.handle(request, response, path)) {
      // answered by the add-on
    } else {
      const known = [
        ...(this.addOn?.paths ?? []),
        '/metrics',
        '/healthz',
        ...Object.keys(this.jsonRoutes),
      ].join(', ');
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; try ${known}\n`);
    }
  }
}

/** Creates and starts a MetricsServer (see MetricsServer.start for the errors). */
export async function serveMetrics(
  address: HostPort,
  registry: Registry,
  jsonRoutes: JsonRoutes = {},
  flag = '--metrics',
  addOn?: HttpAddOn,
): Promise<MetricsServer> {
  const server = new MetricsServer(address, registry, jsonRoutes, flag, addOn);
  await server.start();
  return server;
}
