// Test helper: a UDP socket on 127.0.0.1 that decodes every header batch it receives with
// the TypeScript decoder (protocol/header-batch.ts) and keeps the records by node.
import dgram from 'node:dgram';
import { once } from 'node:events';
import { decodeHeaderBatch, type HeaderBatch } from '../../protocol/index.js';

export class BatchCollector {
  readonly batches: HeaderBatch[] = [];
  rejected = 0;
  private readonly socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 32 << 20 });

  async listen(): Promise<number> {
    this.socket.on('message', (bytes) => {
      const result = decodeHeaderBatch(bytes);
      if (result.ok) this.batches.push(result.batch);
      else this.rejected++;
    });
    this.socket.bind(0, '127.0.0.1');
    await once(this.socket, 'listening');
    return this.socket.address().port;
  }

  records(): number {
    return this.batches.reduce((n, b) => n + b.records.length, 0);
  }

  /** Waits until `count` records arrived (or `timeoutMs` passed). */
  async waitForRecords(count: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.records() < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  close(): void {
    this.socket.close();
  }
}
