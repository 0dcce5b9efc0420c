// tcpdump on a capture host's passive interface, writing every frame whole to a pcap file:
// what a local consumer sees (the mirror test; `lab replay --distribute`, where each capture
// host keeps the frames its XDP program passes; the generator's veth test, in a namespace).
import type { ChildProcess } from 'node:child_process';
import { DicapError } from '../common/errors.js';
import type { Lab } from './lab.js';

/** tcpdump's packet-buffer timeout, after which the kernel hands over a partly filled ring block. */
const BLOCK_TIMEOUT_MS = 1000;

export interface TcpdumpResult {
  file: string;
  /** "N packets captured" */
  captured: number;
  /** "N packets dropped by kernel" (its socket buffer overflowed) */
  droppedByKernel: number;
}

export interface Tcpdump {
  file: string;
  /** Stops tcpdump (SIGINT, so it flushes the file) and reads its closing statistics. */
  stop(): Promise<TcpdumpResult>;
}

/** A tcpdump process started somewhere (a lab host, a network namespace), and how to signal it. */
export interface TcpdumpProcess {
  child: ChildProcess;
  /** Sends `signal` and resolves when tcpdump has exited. */
  stop(signal: NodeJS.Signals): Promise<unknown>;
}

/** Starts tcpdump on `host`'s passive interface, writing to `file`; resolves once it listens. */
export function startTcpdumpFile(lab: Lab, host: string, file: string): Promise<Tcpdump> {
  return tcpdumpToFile(`on ${host}`, lab.host(host).passive!.interface, file, (args) => {
    const process = lab.spawn(host, 'tcpdump', args);
    return { child: process.child, stop: (signal) => process.stop(signal) };
  });
}

/**
 * tcpdump on `iface`, writing to `file`, started by `spawn` with the arguments below;
 * resolves once it listens. `where` names the place in errors ("on HOST").
 */
export async function tcpdumpToFile(
  where: string,
  iface: string,
  file: string,
  spawn: (args: string[]) => TcpdumpProcess,
): Promise<Tcpdump> {
  // -B 65536: a 64 MiB ring, so bursts wait there while tcpdump writes. No --immediate-mode:
  // libpcap would then use TPACKET_V2 with one 256 KiB slot per frame (a few hundred
  // frames in all); TPACKET_V3 packs frames into blocks, which the kernel hands over when
  // full or after tcpdump's 1 s timeout (stop() waits for that).
  // -Z root: stay root, so the file can be written in a private temporary directory.
  const tcpdump = spawn(['-i', iface, '-w', file, '-s', '0', '-B', '65536', '-n', '-Z', 'root']);
  let stderr = '';
  tcpdump.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const deadline = Date.now() + 10_000;
  while (!/listening on/.test(stderr)) {
    const running = tcpdump.child.exitCode === null && tcpdump.child.signalCode === null;
    if (!running || Date.now() > deadline)
      throw new DicapError('DICAP_ERR_LAB_COMMAND', `tcpdump ${where} did not start: ${stderr.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    file,
    async stop() {
      await new Promise((resolve) => setTimeout(resolve, BLOCK_TIMEOUT_MS + 300));
      await tcpdump.stop('SIGINT');
      const number = (label: string): number => {
        const m = stderr.match(new RegExp(`(\\d+) packets? ${label}`));
        if (!m)
          throw new DicapError(
            'DICAP_ERR_LAB_COMMAND',
            `tcpdump ${where} printed no "${label}" line: ${stderr.trim()}`,
          );
        return Number(m[1]);
      };
      return { file, captured: number('captured'), droppedByKernel: number('dropped by kernel') };
    },
  };
}
