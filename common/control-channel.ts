// One UDP socket that speaks dicap control messages (SPEC.md §1): every message it sends
// gets TIMESTAMP, SENDER_SEQ and the HMAC; every datagram it receives is verified, checked
// for freshness and replay (by the sender's identity, SPEC.md §6.4), and only then handed on
// as a typed view. Anything rejected is counted by reason and changes nothing. Used by the
// coordinator, agents and analyzers.
import dgram from 'node:dgram';
import { EventEmitter, once } from 'node:events';
import {
  encodeControlMessage,
  readControlMessage,
  nextSenderSeq,
  ReplayGuard,
  senderIdentity,
  verifyControlMessage,
  type ControlBody,
  type ControlView,
  type Endpoint,
} from '../protocol/index.js';
import { DicapError } from './errors.js';
import { guarded } from './fault-guard.js';

export interface ControlChannelOptions {
  /** Where to bind (port 0: any free port). */
  bind: Endpoint;
  /** The cluster key, or null in insecure mode (SPEC.md §1.1). */
  key: Buffer | null;
  /** Join this multicast group on the bound port (coordinator discovery). */
  multicastGroup?: string;
  /** Multicast sends leave through this local address (default: the bound address). */
  multicastInterface?: string;
  /** Replay state shared with another channel of the same process (a member's discovery socket). */
  guard?: ReplayGuard;
}

export interface ControlChannelEvents {
  message: [view: ControlView, from: Endpoint];
}

/** Rejected datagrams by reason: the decoder's codes, NO_SENDER_ID, then the replay guard's (STALE, REPLAYED, TOO_MANY_SENDERS). */
export type RejectionCounts = Record<string, number>;

/** What a control-plane state machine needs of a channel: a ControlChannel, or a simulated network in tests. */
export type ControlTransport = Pick<
  ControlChannel,
  'send' | 'encode' | 'sendEncoded' | 'close' | 'received' | 'sent' | 'rejected'
>;

/** How long close() waits for queued messages to leave. */
const CLOSE_DRAIN_MS = 1000;

/** The clock SENDER_SEQ follows (SPEC.md §6.7): Unix time in microseconds. */
function nowUs(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

export class ControlChannel extends EventEmitter<ControlChannelEvents> {
  readonly rejected: RejectionCounts = {};
  received = 0;
  sent = 0;
  sendErrors = 0;
  /** Messages that could not be encoded (a value that does not fit the wire): counted, never thrown from a timer. */
  encodeErrors = 0;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private senderSeq: number | undefined;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly key: Buffer | null,
    readonly guard: ReplayGuard,
  ) {
    super();
    socket.on(
      'message',
      guarded('control message handler', (bytes: Buffer, rinfo: dgram.RemoteInfo) =>
        this.receive(bytes, { ip: rinfo.address, port: rinfo.port }),
      ),
    );
    // A send to an unreachable peer surfaces here on Linux; it is counted, not fatal.
    socket.on('error', () => this.sendErrors++);
  }

  static async open(options: ControlChannelOptions): Promise<ControlChannel> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: options.multicastGroup !== undefined });
    const failed = once(socket, 'error');
    socket.bind(options.bind.port, options.multicastGroup ? undefined : options.bind.ip);
    const outcome = await Promise.race([
      once(socket, 'listening').then(() => null),
      failed.then(([e]) => e as NodeJS.ErrnoException),
    ]);
    if (outcome) {
      socket.close();
      const where = `${options.bind.ip}:${options.bind.port}`;
      if (outcome.code === 'EADDRINUSE')
        throw new DicapError(
          'DICAP_ERR_ADDRESS_IN_USE',
          `control port ${where} is already in use; choose another port or stop the other process`,
        );
      if (outcome.code === 'EADDRNOTAVAIL')
        throw new DicapError(
          'DICAP_ERR_BAD_CONFIG',
          `control address ${where} is not an address of this host; give one of its own addresses`,
        );
      throw new DicapError(
        'DICAP_ERR_CONTROL_SOCKET',
        `cannot bind control socket ${where}: ${outcome.message}`,
      );
    }
    if (options.multicastGroup) {
      socket.addMembership(
        options.multicastGroup,
        options.multicastInterface ?? (options.bind.ip === '0.0.0.0' ? undefined : options.bind.ip),
      );
    }
    if (options.multicastInterface) socket.setMulticastInterface(options.multicastInterface);
    socket.setMulticastTTL(1);
    return new ControlChannel(socket, options.key, options.guard ?? new ReplayGuard());
  }

  get address(): Endpoint {
    const a = this.socket.address();
    return { ip: a.address, port: a.port };
  }

  /**
   * The authenticated bytes of `body`, stamped with the time and this sender's next
   * SENDER_SEQ. Throws RangeError for a body that does not fit the wire (see send()).
   */
  encode(body: ControlBody): Buffer {
    const senderSeq = nextSenderSeq(this.senderSeq, nowUs());
    const bytes = encodeControlMessage(
      { ...body, timestamp: Math.floor(Date.now() / 1000), senderSeq },
      this.key,
    );
    this.senderSeq = senderSeq;
    return bytes;
  }

  /** Encodes and sends `body`; false (counted in encodeErrors) when it does not fit the wire. */
  send(body: ControlBody, to: Endpoint): boolean {
    let bytes: Buffer;
    try {
      bytes = this.encode(body);
    } catch {
      this.encodeErrors++;
      return false;
    }
    this.sendEncoded(bytes, to);
    return true;
  }

  /** Sends bytes from encode(): one message to many receivers is encoded once. */
  sendEncoded(bytes: Buffer, to: Endpoint): void {
    this.sent++;
    this.inFlight++;
    this.socket.send(bytes, to.port, to.ip, (error) => {
      if (error) this.sendErrors++;
      if (--this.inFlight === 0) this.drained?.();
    });
  }

  /** Closes once the messages already sent have left (a goodbye must not be cut off). */
  async close(): Promise<void> {
    if (this.inFlight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise((resolve) => setTimeout(resolve, CLOSE_DRAIN_MS)),
      ]);
    }
    this.socket.close();
  }

  private reject(code: string): void {
    this.rejected[code] = (this.rejected[code] ?? 0) + 1;
  }

  private receive(bytes: Buffer, from: Endpoint): void {
    const decoded = verifyControlMessage(bytes, this.key);
    if (!decoded.ok) return this.reject(decoded.error.code);
    const sender = senderIdentity(decoded.message);
    if (sender === undefined) return this.reject('NO_SENDER_ID');
    const fresh = this.guard.check(sender, decoded.message, Date.now());
    if (!fresh.ok) return this.reject(fresh.error.code);
    this.received++;
    this.emit('message', readControlMessage(decoded.message), from);
  }
}
