// tcpdump (libpcap) on a lab host's passive interface: the baseline the live benchmark
// compares dicap with. `tcpdump -i IF -s SNAPLEN -w /dev/null -B KIB` captures every frame
// into a TPACKET_V3 ring of KIB KiB and writes it nowhere; on SIGINT it prints its own
// account: packets captured (handed to tcpdump), received by filter, dropped by kernel
// (the ring's tp_drops).
//
// With `exportTo`, tcpdump writes its pcap stream into a FIFO that socat reads and sends on
// as UDP datagrams: `tcpdump -w - FILTER | socat - UDP4-SENDTO:…`, the share filter plus an
// export, which is what an admin would build instead of dicap. A FIFO rather than a shell
// pipeline, so both processes are children of the bench and their CPU is measured apart.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { DicapError } from '../common/errors.js';
import type { Lab, LabProcess } from '../lab/lab.js';

/**
 * libpcap hands a partly filled ring block over after its read timeout, which tcpdump sets
 * to 1000 ms; frames in that last block are neither captured nor dropped until then. Wait
 * this long after the last frame before stopping tcpdump.
 */
export const TCPDUMP_BLOCK_TIMEOUT_MS = 1000;
const READY_TIMEOUT_MS = 10_000;

export interface TcpdumpReport {
  /** Frames tcpdump took off the ring (and wrote). */
  captured: number;
  /** Frames the socket received (the kernel's tp_packets, drops included). */
  receivedByFilter: number;
  /** Frames the ring had no room for (tp_drops). */
  droppedByKernel: number;
}

export interface RunningTcpdump {
  process: LabProcess;
  /** With exportTo: the socat that sends tcpdump's output on. */
  exporter?: LabProcess;
  /** Stops it (SIGINT) and resolves with its account. */
  stop(): Promise<TcpdumpReport>;
}

/** Parses tcpdump's closing lines ("N packets captured" …); throws naming what is missing. */
export function parseTcpdumpReport(stderr: string): TcpdumpReport {
  const count = (what: string): number => {
    const match = new RegExp(`^(\\d+) packets? ${what}$`, 'm').exec(stderr);
    if (!match)
      throw new DicapError(
        'DICAP_ERR_LAB_COMMAND',
        `tcpdump did not report "packets ${what}": ${stderr.trim().split('\n').slice(-3).join(' | ') || 'nothing on stderr'}`,
      );
    return Number(match[1]);
  };
  return {
    captured: count('captured'),
    receivedByFilter: count('received by filter'),
    droppedByKernel: count('dropped by kernel'),
  };
}

export interface TcpdumpOptions {
  snaplen: number;
  /** Ring size (-B), KiB. */
  bufferKiB: number;
  /** Run on this CPU only (taskset). */
  cpu?: number;
  /** A capture filter expression (libpcap's, compiled into the socket's classic BPF filter). */
  filter?: string;
  /** Send the pcap stream over UDP to this address (socat, in datagrams of up to 1472 bytes). */
  exportTo?: { ip: string; port: number };
}

/** `socat -u UDP4-RECV:PORT /dev/null` on `host`: the receiving end of tcpdump's export. */
export function startExportReceiver(lab: Lab, host: string, port: number): LabProcess {
  return lab.spawn(host, 'socat', ['-u', `UDP4-RECV:${port},rcvbuf=33554432`, '/dev/null'], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
}

/** Starts tcpdump on `host`'s passive interface and resolves once it is listening. */
export async function startTcpdump(lab: Lab, host: string, options: TcpdumpOptions): Promise<RunningTcpdump> {
  const passive = lab.host(host).passive;
  if (!passive)
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `lab host ${host} has no passive interface; run tcpdump on a capture host`,
    );
  let fifo: string | undefined;
  let exporter: LabProcess | undefined;
  if (options.exportTo) {
    fifo = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dicap-tcpdump-export-')), 'pcap');
    execFileSync('mkfifo', ['-m', '0600', fifo]);
    const sender = [
      'socat',
      '-u',
      '-b',
      '1472',
      `OPEN:${fifo}`,
      `UDP4-SENDTO:${options.exportTo.ip}:${options.exportTo.port}`,
    ];
    const argv = options.cpu === undefined ? sender : ['taskset', '-c', String(options.cpu), ...sender];
    exporter = lab.spawn(host, argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'ignore'] });
  }
  const tcpdump = [
    'tcpdump',
    '-i',
    passive.interface,
    '-s',
    String(options.snaplen),
    '-w',
    fifo ?? '/dev/null',
    '-B',
    String(options.bufferKiB),
    ...(options.filter ? [options.filter] : []),
  ];
  // taskset execs tcpdump: the pid stays tcpdump's.
  const argv = options.cpu === undefined ? tcpdump : ['taskset', '-c', String(options.cpu), ...tcpdump];
  const child = lab.spawn(host, argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const removeFifo = (): void => {
    if (fifo) fs.rmSync(path.dirname(fifo), { recursive: true, force: true });
  };
  while (!stderr.includes('listening on')) {
    if (!child.running || Date.now() > deadline) {
      await child.stop('SIGKILL');
      await exporter?.stop('SIGKILL');
      removeFifo();
      throw new DicapError(
        'DICAP_ERR_LAB_COMMAND',
        `tcpdump on ${host} did not start listening: ${stderr.trim() || 'nothing on stderr (are tcpdump and socat installed?)'}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    process: child,
    ...(exporter ? { exporter } : {}),
    async stop() {
      await child.stop('SIGINT', 5000);
      if (exporter) {
        // tcpdump's end closes the FIFO: socat sends what is left and exits by itself.
        await Promise.race([exporter.exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
        await exporter.stop('SIGKILL');
      }
      removeFifo();
      return parseTcpdumpReport(stderr);
    },
  };
}
