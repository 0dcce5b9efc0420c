// A sink nobody stops: when its JavaScript environment ends (the process runs out of work,
// or a worker thread exits), the environment's cleanup (hook or finalizer) stops the thread
// and flushes the output, and the process exits instead of hanging on a running thread.
// Runs the compiled dist/ code in a child process and in a worker thread.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { expectedPcapRecords, readPcap } from './helpers.js';

const tmp = tempDir('sink-cleanup');

const distUrl = (file: string): string => pathToFileURL(path.resolve('dist', file)).href;

/**
 * ESM source that starts a sink writing to `output` with a 60 s flush interval (so only a
 * stop flushes), sends it `count` one-record batches, and returns without stopping it.
 */
function unstoppedSinkScript(output: string, count: number): string {
  return `
    const { AnalyzerSink } = await import(${JSON.stringify(distUrl('native/analyzer-sink.js'))});
    const { encodeHeaderBatch } = await import(${JSON.stringify(distUrl('protocol/header-batch.js'))});
    const dgram = await import('node:dgram');
    const sink = new AnalyzerSink({ host: '127.0.0.1', port: 0, output: ${JSON.stringify(output)}, flushIntervalMs: 60000 });
    const { port } = sink.start();
    const socket = dgram.createSocket('udp4');
    for (let seq = 0; seq < ${count}; seq++) {
      const records = [{ tsSec: 1700000000 + seq, tsNsec: seq, wireLen: 64, data: Buffer.alloc(54, seq) }];
      await new Promise((resolve) => socket.send(encodeHeaderBatch({ nodeId: 1, epoch: 1, stream: 0, seq: BigInt(seq), records }), port, '127.0.0.1', resolve));
    }
    socket.close();
  `;
}

function expectedRecords(count: number) {
  return Array.from({ length: count }, (_, seq) => ({
    tsSec: 1700000000 + seq,
    tsNsec: seq,
    wireLen: 64,
    data: Buffer.alloc(54, seq),
  }));
}

describe('AnalyzerSink cleanup hook', () => {
  it('stops and flushes when the process ends without stop()', async () => {
    const output = path.join(tmp, 'process.pcap');
    const child = spawn(process.execPath, ['--input-type=module', '-e', unstoppedSinkScript(output, 25)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = Date.now();
    const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? signal)));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(readPcap(fs.readFileSync(output))).toEqual(expectedPcapRecords(expectedRecords(25)));
  });

  it('stops and flushes when a worker thread that owns it exits', async () => {
    const output = path.join(tmp, 'worker.pcap');
    const worker = new Worker(
      `import(${JSON.stringify('data:text/javascript,' + encodeURIComponent(unstoppedSinkScript(output, 10)))})`,
      { eval: true },
    );
    const code = await new Promise((resolve, reject) => {
      worker.on('error', reject);
      worker.on('exit', resolve);
    });
    expect(code).toBe(0);
    expect(readPcap(fs.readFileSync(output))).toEqual(expectedPcapRecords(expectedRecords(10)));
  });
});
