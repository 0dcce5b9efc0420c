// Reaching services inside a lab from the process that runs it. The lab's management
// network has no route from the host's own namespace (lab/README.md), so requests start
// inside a lab host's namespace:
// - HTTP GETs go through one long-lived `node` per host that reads URLs on stdin and writes
//   the responses on stdout, one JSON line each: polling a coordinator's /status ten times a
//   second costs no process start (and needs no curl).
// - UDP datagrams (forged, replayed or random control messages in the tests) are sent by a
//   one-shot `node` in the namespace.
import { badConfig } from '../common/errors.js';
import type { Endpoint } from '../protocol/index.js';
import type { Lab, LabProcess } from './lab.js';

/** Reads {"id","url"} lines, answers {"id","status","body"} or {"id","error"}. CommonJS, for `node -e`. */
const FETCHER = `
const lines = require('node:readline').createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  const { id, url, timeoutMs } = JSON.parse(line);
  let answer;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    answer = { id, status: response.status, body: await response.text() };
  } catch (error) {
    answer = { id, error: String((error && error.message) || error) };
  }
  process.stdout.write(JSON.stringify(answer) + '\\n');
});
lines.on('close', () => process.exit(0));
`;

/** Sends each [ip, port, hex] of argv[1] (JSON) as one UDP datagram, then exits. */
const SENDER = `
const socket = require('node:dgram').createSocket('udp4');
const datagrams = JSON.parse(process.argv[1]);
(async () => {
  for (const [ip, port, hex] of datagrams) await new Promise((resolve) => socket.send(Buffer.from(hex, 'hex'), port, ip, resolve));
  socket.close();
})();
`;

export interface HttpAnswer {
  status: number;
  body: string;
}

/** HTTP GETs from inside one lab host's namespace. */
export class NamespaceHttpClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (answer: HttpAnswer | undefined) => void }>();
  private buffered = '';

  private constructor(
    readonly host: string,
    private readonly process: LabProcess,
  ) {
    process.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.receive(chunk));
    void process.exited.then(() => {
      for (const waiter of this.pending.values()) waiter.resolve(undefined);
      this.pending.clear();
    });
  }

  static start(lab: Lab, host: string): NamespaceHttpClient {
    return new NamespaceHttpClient(
      host,
      lab.spawn(host, globalThis.process.execPath, ['-e', FETCHER], { stdio: ['pipe', 'pipe', 'ignore'] }),
    );
  }

  /** The response, or undefined when nothing answered (refused, timed out, fetcher gone). */
  get(url: string, timeoutMs = 2000): Promise<HttpAnswer | undefined> {
    if (!this.process.running) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
      this.process.child.stdin!.write(`${JSON.stringify({ id, url, timeoutMs })}\n`);
    });
  }

  /** GET and parse JSON; undefined when nothing answered or the status was not 200. */
  async getJson<T>(url: string): Promise<T | undefined> {
    const answer = await this.get(url);
    return answer?.status === 200 ? (JSON.parse(answer.body) as T) : undefined;
  }

  async close(): Promise<void> {
    this.process.child.stdin!.end();
    await this.process.stop('SIGTERM', 1000);
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let newline: number;
    while ((newline = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      const answer = JSON.parse(line) as { id: number; status?: number; body?: string; error?: string };
      const waiter = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      waiter?.resolve(
        answer.status === undefined ? undefined : { status: answer.status, body: answer.body ?? '' },
      );
    }
  }
}

/** Sends `datagrams` (in order, one UDP datagram each) from lab host `host`; resolves once all are sent. */
export async function sendDatagrams(
  lab: Lab,
  host: string,
  datagrams: ReadonlyArray<{ to: Endpoint; bytes: Buffer }>,
): Promise<void> {
  if (datagrams.length === 0) throw badConfig('sendDatagrams: no datagram given');
  const list = datagrams.map((d) => [d.to.ip, d.to.port, d.bytes.toString('hex')]);
  await lab.exec(host, [process.execPath, '-e', SENDER, JSON.stringify(list)]);
}
