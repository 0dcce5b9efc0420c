// The active coordinator's HTTP server (dashboard, /status, /ledger, the WebSocket) on this
// machine's loopback, so a browser here opens it although the coordinators live in the
// lab's namespaces, which the host has no route to. Two halves meet at a Unix socket in the
// lab's directory (a file: it is reachable from every network namespace):
//
//   browser ─TCP─► 127.0.0.1:PORT (this process) ─unix─► relay (node, in a lab host's
//   namespace) ─TCP─► the active coordinator, 198.18.0.20x:8400
//
// The host's own addresses and routes stay untouched, so labs built at the same time never
// collide. Each new connection goes to the coordinator active at that moment (the first line
// this side writes to the relay names it); open ones stay where they went: a page's WebSocket
// closes with a coordinator that dies, and the page reconnects, through here, to the new one.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DicapError } from '../common/errors.js';
import type { Endpoint } from '../protocol/index.js';
import type { Lab, LabProcess } from './lab.js';
import { labDirectory } from './state.js';

/**
 * The relay: listens on the Unix socket argv[1]; per connection reads "IP PORT\n", connects
 * there and copies bytes both ways. CommonJS, for `node -e`.
 */
const RELAY = `
const net = require('node:net');
const socketPath = process.argv[1];
require('node:fs').rmSync(socketPath, { force: true });
net.createServer((client) => {
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const newline = head.indexOf(10);
    if (newline < 0) { if (head.length > 64) client.destroy(); return; }
    client.off('data', onData);
    client.pause();
    const [ip, port] = head.subarray(0, newline).toString().split(' ');
    const rest = head.subarray(newline + 1);
    const upstream = net.connect(Number(port), ip, () => {
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream).pipe(client);
      client.resume();
    });
    const both = () => { client.destroy(); upstream.destroy(); };
    upstream.on('error', both).on('close', both);
    client.on('close', both);
  };
  client.on('data', onData).on('error', () => client.destroy());
}).listen(socketPath);
`;

const RELAY_READY_MS = 10_000;

export class DashboardForwarder {
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    private readonly relay: LabProcess,
    private readonly socketPath: string,
    /** Where new connections go now; undefined: none is active (they get a 503). */
    private readonly target: () => Endpoint | undefined,
  ) {
    server.on('connection', (client) => this.forward(client));
  }

  /**
   * Starts the relay on lab host `relayHost` (any host on the management network) and
   * listens on `host`:`port` here (port 0: any free one).
   */
  static async start(
    lab: Lab,
    relayHost: string,
    host: string,
    port: number,
    target: () => Endpoint | undefined,
  ): Promise<DashboardForwarder> {
    const socketPath = path.join(labDirectory(lab.id), 'dashboard.sock');
    const relay = lab.spawn(relayHost, process.execPath, ['-e', RELAY, socketPath], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const deadline = Date.now() + RELAY_READY_MS;
    while (!fs.existsSync(socketPath)) {
      if (!relay.running || Date.now() > deadline) {
        await relay.stop('SIGKILL');
        throw new DicapError('DICAP_ERR_LAB_PROCESS', `the dashboard relay on ${relayHost} did not start`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const server = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) =>
          reject(
            error.code === 'EADDRINUSE'
              ? new DicapError(
                  'DICAP_ERR_ADDRESS_IN_USE',
                  `${host}:${port} is already in use; give the demo another --http-port`,
                )
              : new DicapError(
                  'DICAP_ERR_LAB_COMMAND',
                  `cannot listen on ${host}:${port} (${error.code ?? error.message})`,
                ),
          ),
        );
        server.listen(port, host, () => resolve());
      });
    } catch (error) {
      await relay.stop('SIGKILL');
      throw error;
    }
    return new DashboardForwarder(server, relay, socketPath, target);
  }

  get url(): string {
    const { address, port } = this.server.address() as net.AddressInfo;
    return `http://${address}:${port}/`;
  }

  private forward(client: net.Socket): void {
    this.track(client);
    client.on('error', () => client.destroy());
    const to = this.target();
    if (!to) {
      const body = 'no coordinator is active now; the page retries\n';
      client.end(
        `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    const relay = this.track(net.connect(this.socketPath));
    relay.write(`${to.ip} ${to.port}\n`);
    // A coordinator that dies mid-request resets its end: close the other, nothing more.
    const both = (): void => {
      client.destroy();
      relay.destroy();
    };
    client.on('error', both).on('close', both);
    relay.on('error', both).on('close', both);
    client.pipe(relay).pipe(client);
  }

  /** Remembers `socket` until it closes, so close() can end every connection (a browser keeps them open). */
  private track(socket: net.Socket): net.Socket {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.relay.stop('SIGTERM', 1000);
  }
}
