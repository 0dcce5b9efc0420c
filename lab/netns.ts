// Network-namespace primitives for the lab: run `ip`, `tc`, `sysctl`, … (in the host or
// inside a namespace), create namespaces, veth pairs, bridges and addresses, and spawn a
// long-running process inside a namespace.
//
// Everything goes through the iproute2 tools with child_process: the lab is control
// plane only, it never touches a packet itself. Every failure becomes one line naming the
// command that failed and what it printed (DICAP_ERR_LAB_COMMAND), because a lab is built
// from dozens of commands and "RTNETLINK answers: File exists" alone says nothing.
//
// This file does not remember what it made; state.ts does (and removes it again).
import { execFile, execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import { DicapError } from '../common/errors.js';
import {
  disableOffloads as disableOffloadsIn,
  enableFeatures,
  type OffloadState,
} from '../native/offloads.js';

/** How long one configuration command may take before it is killed, in milliseconds. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/** Linux limit for interface names (IFNAMSIZ - 1), in characters. */
export const MAX_INTERFACE_NAME = 15;

export interface RunOptions {
  /** Kill the command after this many milliseconds (DEFAULT_COMMAND_TIMEOUT_MS). */
  timeoutMs?: number;
}

/** The command line as a person would type it, for messages. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** One line out of a tool's (possibly multi-line) complaint. */
function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}

/** What execFile and execFileSync report about a failed command. */
interface CommandFailure {
  code?: string | number | null;
  stderr?: unknown;
  status?: unknown;
  signal?: unknown;
  killed?: boolean;
}

function commandError(argv: readonly string[], error: CommandFailure): DicapError {
  if (error.code === 'ENOENT') {
    return new DicapError(
      'DICAP_ERR_LAB_TOOL_MISSING',
      `\`${argv[0]}\` is not installed; the lab needs it (apt-get install ${packageOf(argv[0]!)})`,
    );
  }
  const stderr = oneLine(String(error.stderr ?? ''));
  const why = error.killed
    ? `timed out and was killed`
    : stderr ||
      (error.signal
        ? `killed by ${String(error.signal)}`
        : `exit code ${String(error.code ?? error.status)}`);
  return new DicapError('DICAP_ERR_LAB_COMMAND', `\`${formatCommand(argv)}\` failed: ${why}`);
}

function packageOf(tool: string): string {
  const packages: Record<string, string> = { ip: 'iproute2', tc: 'iproute2', taskset: 'util-linux' };
  return packages[tool] ?? tool;
}

/** Runs a command to completion; resolves with its stdout, rejects with a one-line DicapError. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      {
        timeout: options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error) reject(commandError(argv, Object.assign(error, { stderr })));
        else resolve(stdout);
      },
    );
  });
}

/** The synchronous twin of run(), for teardown in exit and signal handlers where nothing async runs. */
export function runSync(argv: readonly string[], options: RunOptions = {}): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), {
      timeout: options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    throw commandError(argv, error as CommandFailure);
  }
}

/** argv prefix that runs a command inside namespace `ns` (`ip netns exec NS …`, which also mounts that namespace's /sys). */
export function inNamespace(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

// ---- privileges -------------------------------------------------------------------------

// Bit numbers in the CapEff mask of /proc/self/status (linux/capability.h).
const CAPABILITIES = { CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_SYS_ADMIN: 21 } as const;

/**
 * The capabilities the lab needs and this process lacks: CAP_NET_ADMIN (links, tc),
 * CAP_NET_RAW (tcpreplay, tcpdump) and CAP_SYS_ADMIN (`ip netns` mounts namespaces).
 * Empty when the lab can run.
 */
export function missingCapabilities(): string[] {
  let mask = 0n;
  try {
    const line = fs.readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*([0-9a-f]+)$/m);
    if (line) mask = BigInt(`0x${line[1]}`);
  } catch {
    // No /proc: treat as no capabilities; the message below says what is needed.
  }
  return Object.entries(CAPABILITIES)
    .filter(([, bit]) => ((mask >> BigInt(bit)) & 1n) === 0n)
    .map(([name]) => name);
}

/** The one line the lab prints when it cannot run, or undefined when it can. */
export function privilegeProblem(): string | undefined {
  const missing = missingCapabilities();
  if (missing.length === 0) return undefined;
  return `dicap lab needs root (it lacks ${missing.join(', ')} for network namespaces, tc and raw sockets): run it as root, e.g. sudo dicap lab …`;
}

// ---- namespaces -------------------------------------------------------------------------

export function addNamespace(name: string): Promise<string> {
  return run(['ip', 'netns', 'add', name]);
}

/** Names of all named network namespaces on the machine (`ip netns list`). */
export function listNamespaces(): string[] {
  return runSync(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

/** Pids of the processes that live in namespace `ns` (`ip netns pids`); empty when it does not exist. */
export function namespacePids(ns: string): number[] {
  try {
    return runSync(['ip', 'netns', 'pids', ns]).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Deletes namespace `ns`; returns false when it did not exist. Links inside it go with it. */
export function deleteNamespaceSync(ns: string): boolean {
  if (!fs.existsSync(`/run/netns/${ns}`)) return false;
  runSync(['ip', 'netns', 'del', ns]);
  return true;
}

// ---- links ------------------------------------------------------------------------------

/** One end of a link: an interface name and the namespace it lives in. */
export interface LinkEnd {
  name: string;
  namespace: string;
}

/** Creates a veth pair with each end directly in its namespace (nothing ever appears in the host's namespace). */
export function addVethPair(a: LinkEnd, b: LinkEnd): Promise<string> {
  return run([
    'ip',
    '-n',
    a.namespace,
    'link',
    'add',
    'name',
    a.name,
    'type',
    'veth',
    'peer',
    'name',
    b.name,
    'netns',
    b.namespace,
  ]);
}

export function addBridge(namespace: string, name: string): Promise<string> {
  return run(['ip', '-n', namespace, 'link', 'add', 'name', name, 'type', 'bridge', 'stp_state', '0']);
}

export interface LinkSettings {
  mtu?: number;
  promisc?: boolean;
  /** Enslave to this bridge. */
  master?: string;
  up?: boolean;
}

export function setLink(end: LinkEnd, settings: LinkSettings): Promise<string> {
  const argv = ['ip', '-n', end.namespace, 'link', 'set', 'dev', end.name];
  if (settings.mtu !== undefined) argv.push('mtu', String(settings.mtu));
  if (settings.promisc !== undefined) argv.push('promisc', settings.promisc ? 'on' : 'off');
  if (settings.master !== undefined) argv.push('master', settings.master);
  if (settings.up) argv.push('up');
  return run(argv);
}

/** Adds an IPv4 address in CIDR form (`198.18.0.11/24`). */
export function addAddress(end: LinkEnd, cidr: string): Promise<string> {
  return run(['ip', '-n', end.namespace, 'address', 'add', cidr, 'dev', end.name]);
}

/** Sets sysctls inside a namespace (net.* sysctls are per namespace). */
export function setSysctls(namespace: string, settings: Record<string, string | number>): Promise<string> {
  return run(
    inNamespace(namespace, ['sysctl', '-q', '-w', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)]),
  );
}

/**
 * Turns GRO, LRO, TSO and GSO off where the driver allows it (through the ethtool ioctl, no
 * ethtool program), and returns what each one is afterwards: features the driver keeps on
 * are reported as "on [fixed]".
 */
export async function disableOffloads(end: LinkEnd): Promise<OffloadState> {
  return disableOffloadsIn(end.namespace, end.name);
}

/**
 * Runs the receive processing of a veth end in a kernel thread of its own (threaded NAPI).
 * Without it, what one end sends is received by its peer, and passed on from there, in the
 * sender's own softirq: the lab puts this on the management bridge's ports, so that a
 * host's sends are charged the send path only, and the bridge and the receiving host's
 * stack run as they would on other machines. veth uses NAPI only with GRO on, and takes
 * the NAPI path for a UDP socket's datagrams from a peer with TSO (every host end) only
 * with UDP GRO forwarding on too (veth_skb_is_eligible_for_gro); other frames, such as
 * the coordinator's TCP, are still received in the sender's softirq. Returns what the
 * kernel refused, for the caller to say ("" when all is in place).
 */
export async function receiveInKernelThread(end: LinkEnd): Promise<string> {
  const refused = enableFeatures(end.namespace, end.name, ['rx-gro', 'rx-udp-gro-forwarding']);
  if (refused.length > 0) return `${end.name}: the kernel keeps ${refused.join(', ')} off`;
  await run(inNamespace(end.namespace, ['sh', '-c', `echo 1 > /sys/class/net/${end.name}/threaded`]));
  return '';
}

/**
 * Steers the receive processing of every rx queue of an interface to one CPU (RPS). The lab
 * does this on the wire's ingress interfaces: frames from the traffic source and from
 * in-band injectors then share one CPU's backlog queue, so they are mirrored one after
 * another in a single order, whatever CPU sent them.
 */
export async function steerReceiveToCpu(end: LinkEnd, cpu: number): Promise<void> {
  const mask = (1n << BigInt(cpu)).toString(16);
  const script = `for q in /sys/class/net/${end.name}/queues/rx-*; do echo ${mask} > "$q/rps_cpus" || exit 1; done`;
  await run(inNamespace(end.namespace, ['sh', '-c', script]));
}

/** Reads counters from /sys/class/net/<interface>/statistics inside the interface's namespace, in the order asked. */
export async function readInterfaceStatistics(end: LinkEnd, names: readonly string[]): Promise<number[]> {
  const text = await run(
    inNamespace(end.namespace, ['cat', ...names.map((n) => `/sys/class/net/${end.name}/statistics/${n}`)]),
  );
  return text.trim().split(/\s+/).map(Number);
}

// ---- processes --------------------------------------------------------------------------

/**
 * The start time of process `pid` in clock ticks since boot (/proc/PID/stat field 22), or
 * undefined when there is no such process or it has ended (a zombie waiting for its parent
 * to collect it). A pid plus its start time names one process for good: a recycled pid
 * has another start time, so the lab never kills a stranger.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0]; // field 3 overall
    if (state === 'Z' || state === 'X') return undefined;
    return fields[19]; // field 22 overall
  } catch {
    return undefined;
  }
}

export interface SpawnInNamespaceOptions {
  stdio?: StdioOptions;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Starts `command args…` inside namespace `ns`. `ip netns exec` execs the command in place,
 * so the child's pid is the command's pid. The child leads its own process group
 * (detached), so the lab can stop it and everything it forked with one signal, and a
 * Ctrl-C in the terminal reaches the lab first, which then stops its processes in order.
 */
export function spawnInNamespace(
  ns: string,
  command: string,
  args: readonly string[],
  options: SpawnInNamespaceOptions = {},
): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, command, ...args], {
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    detached: true,
  });
}

/** Blocks the thread for `ms` milliseconds (for synchronous teardown, which must not yield). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
