// `dicap analyzer`: receives header batches over UDP in the native sink, which writes them
// to capture files, a FIFO, stdout or TAP interfaces; reports a status line (and rewrites
// --summary FILE) every --status-interval, serves metrics, says once when an output changes
// state (a FIFO reader left or came back), reopens files on SIGHUP, and on SIGINT/SIGTERM
// (or when the reader of its stdout goes away) stops the sink, which writes what it has,
// prints its final counters and exits. Exit codes: 0 normal end, 1 runtime failure (port in
// use, output cannot be opened or fails), 2 bad configuration.
import { snaplenMismatchWarning } from '../common/cluster-options.js';
import net from 'node:net';
import tty from 'node:tty';
import { clusterKeyOf, readClusterKeyFile } from '../common/cluster-key.js';
import { deriveBatchKey } from '../protocol/header-batch.js';
import { CoordinatorLink } from '../common/coordinator-link.js';
import { SummaryFile } from '../common/summary-file.js';
import type { AnalyzerSummary } from './summary.js';
import { resolveEndpoint, resolveIpv4 } from '../common/endpoint.js';
import { badConfig, DicapError, errorCode, errorMessage } from '../common/errors.js';
import { formatHostPort } from '../common/host-port.js';
import { Startup } from '../common/startup.js';
import { serveMetrics, type MetricsServer } from '../common/metrics-server.js';
import { runCommand, type OptionValues } from '../common/options.js';
import { statusTicks } from '../common/rate.js';
import { createLogger, type Logger } from '../common/logger.js';
import { handlerFaults } from '../common/fault-guard.js';
import { memberTiming } from '../common/timing.js';
import { AnalyzerSink } from '../native/analyzer-sink.js';
import { AnalyzerReports } from './coordinator-reports.js';
import { createAnalyzerMetrics } from './metrics.js';
import { ANALYZER_OPTIONS } from './options.js';
import { outputTarget, type OutputTargetOptions } from './output-target.js';
import { finalFields, formatFinalCounters, formatStatusLine, statusFields } from './status.js';
import { describeFailed, OutputWatcher } from './output-watcher.js';

/** The options, with the heartbeat interval resolved from --timing (common/timing.ts) and the outputs checked together. */
type AnalyzerValues = OptionValues<typeof ANALYZER_OPTIONS> & {
  heartbeatIntervalMs: number;
  target: OutputTargetOptions;
};

/** How often the output state is checked, so a closed pipe ends the analyzer promptly. */
const OUTPUT_CHECK_MS = 250;

// Every message goes to stderr (the log too): with `--write -`, stdout is the pcap stream.

/** The options checked together; refuses pcap on a terminal. */
function checkOptions(options: OptionValues<typeof ANALYZER_OPTIONS>): AnalyzerValues {
  if (options.write === '-' && tty.isatty(1)) {
    throw badConfig(
      '--write - would send binary pcap to a terminal; pipe it (| tcpdump -r -) or give a file',
    );
  }
  return {
    ...options,
    heartbeatIntervalMs: memberTiming(options).heartbeatIntervalMs,
    target: outputTarget(options),
  };
}

/** Whether the coordinator's topologies say which nodes may send (a static --nodes list wins). */
function followsTopology(values: AnalyzerValues): boolean {
  return values.nodes === undefined && (values.coordinator.length > 0 || values.discover);
}

/** The cluster key, when the analyzer has one: it authenticates control messages and header batches. */
function clusterKey(values: AnalyzerValues): Buffer | null {
  const following = values.coordinator.length > 0 || values.discover;
  if (following) return clusterKeyOf(values, 'joining a coordinator');
  return values.clusterKeyFile !== undefined ? readClusterKeyFile(values.clusterKeyFile) : null;
}

function startSink(
  values: AnalyzerValues,
  host: string,
  key: Buffer | null,
): { sink: AnalyzerSink; notices: string[] } {
  const sink = new AnalyzerSink({
    host,
    port: values.listen.port,
    ...values.target,
    receiveBufferBytes: values.receiveBuffer,
    flushIntervalMs: values.flushMs,
    batchKey: key ? deriveBatchKey(key) : undefined,
  });
  // Which nodes may send: the static list, or (following a coordinator of a keyed cluster,
  // whose topology is authentic) the nodes of the last topology it sent us. Until then, and
  // otherwise, any node, in a bounded table.
  if (values.nodes !== undefined) sink.setTopologyNodes(values.nodes.map(Number));
  let notices: string[];
  try {
    notices = sink.start().notices;
  } catch (error) {
    if (errorCode(error) === 'DICAP_ERR_ADDRESS_IN_USE') {
      throw new DicapError(
        'DICAP_ERR_ADDRESS_IN_USE',
        `--listen ${formatHostPort(values.listen)} is already in use; choose another port or stop the process holding it`,
      );
    }
    throw error;
  }
  return { sink, notices };
}

/** What the status lines call the outputs: the file, standard output, or the TAP(s). */
function describeOutput(target: OutputTargetOptions, sink: AnalyzerSink): string {
  const names = sink.counters().outputs.map((o) => o.name);
  const what = target.outputKind === 'tap' ? 'TAP' : target.format!;
  if (target.output === '-') return `writing ${what} to standard output`;
  return `writing ${what} to ${names.join(', ')}`;
}

export function main(argv: string[]): Promise<number> {
  return runCommand(ANALYZER_OPTIONS, argv, prepare, analyze);
}

interface Prepared {
  values: AnalyzerValues;
  host: string;
  key: Buffer | null;
}

/** The options, the address to listen on and the cluster key; throws DicapError for a bad one. */
async function prepare(options: OptionValues<typeof ANALYZER_OPTIONS>): Promise<Prepared> {
  const values = checkOptions(options);
  return { values, host: await resolveIpv4(values.listen.host, '--listen'), key: clusterKey(values) };
}

async function analyze({ values, host, key }: Prepared): Promise<number> {
  const log = createLogger('analyzer', values.logFormat);
  handlerFaults.log = (line) => log.error(line);

  const startup = new Startup(log);
  let sink: AnalyzerSink;
  let metrics: MetricsServer | undefined;
  try {
    const started = startSink(values, host, key);
    sink = started.sink;
    for (const notice of started.notices) log.info(notice);
  } catch (error) {
    return startup.failed(error, 1);
  }
  startup.opened(() => sink.stop());
  try {
    if (values.metrics)
      metrics = await serveMetrics(
        values.metrics,
        createAnalyzerMetrics(() => sink.counters()),
      );
  } catch (error) {
    return startup.failed(error, 1);
  }
  startup.opened(() => metrics?.close());

  // The summary exists as soon as the analyzer listens (readers may take that as "ready"),
  // and is rewritten with the status line: the lab reads live counters from it.
  const summary = new SummaryFile<AnalyzerSummary>(values.summary, (line) => log.warn(line));
  try {
    summary.write({ final: false, ...sink.counters() });
  } catch (error) {
    return startup.failed(error, 1);
  }

  let link: CoordinatorLink | undefined;
  try {
    link = await joinCoordinator(values, host, sink.port ?? values.listen.port, key);
    if (key && followsTopology(values))
      link?.on('topology', (topology) => sink.setTopologyNodes(topology.nodeIds));
    link?.on(
      'topology',
      snaplenMismatchWarning(
        'analyzer',
        values.snaplen,
        "every file header claims the analyzer's and longer records are cut to it",
        (line) => log.warn(line),
      ),
    );
  } catch (error) {
    return startup.failed(error, errorCode(error) === 'DICAP_ERR_BAD_CONFIG' ? 2 : 1);
  }
  startup.opened(() => link?.stop());
  // Sockets, files and TAPs are open. TAPs are removed at exit, which needs CAP_NET_ADMIN.
  const refused = await startup.dropPrivileges(
    values.user,
    values.output !== undefined ? ['NET_ADMIN'] : [],
    2,
  );
  if (refused !== undefined) return refused;

  const granted = sink.counters().receiveBufferBytes;
  // Before "listening", which readers take as ready.
  if (!key) {
    log.warn(
      'no --cluster-key-file: header batches are not authenticated, so anyone who can reach this port can write frames into the output; give every agent and this analyzer the cluster key',
    );
  }
  log.info(
    `listening on udp ${host}:${sink.port}, ${describeOutput(values.target, sink)}` +
      (metrics && values.metrics ? `, metrics at http://${formatHostPort(values.metrics)}/metrics` : ''),
  );
  if (granted < values.receiveBuffer) {
    log.warn(
      `receive buffer is ${granted} bytes, not the ${values.receiveBuffer} asked; run as root or raise net.core.rmem_max, or bursts will be dropped`,
    );
  }
  return run(values, log, sink, metrics, link, summary);
}

/** With --coordinator or --discover: join as an analyzer (ROLE 2) at the address batches should come to. */
async function joinCoordinator(
  values: AnalyzerValues,
  host: string,
  port: number,
  key: Buffer | null,
): Promise<CoordinatorLink | undefined> {
  if (values.coordinator.length === 0 && !values.discover) return undefined;
  if (values.nodeId === undefined)
    throw badConfig("joining a coordinator needs --node-id ID (distinct from every capture node's)");
  const advertise = values.advertise ?? host;
  if (!net.isIPv4(advertise) || advertise === '0.0.0.0') {
    throw badConfig(
      `--advertise ${advertise}: capture nodes need a concrete IPv4 address to send batches to; give --advertise IP`,
    );
  }
  return CoordinatorLink.start({
    nodeId: values.nodeId,
    role: 'analyzer',
    dataEndpoint: { ip: advertise, port },
    coordinators: await Promise.all(values.coordinator.map((c) => resolveEndpoint(c, '--coordinator'))),
    bindIp: values.controlAddress,
    discoverGroup: values.discover
      ? { ip: values.discoverGroup.host, port: values.discoverGroup.port }
      : undefined,
    key,
    heartbeatIntervalMs: values.heartbeatIntervalMs,
    appliedEpoch: () => 0,
  });
}

function run(
  values: AnalyzerValues,
  log: Logger,
  sink: AnalyzerSink,
  metrics: MetricsServer | undefined,
  link: CoordinatorLink | undefined,
  summary: SummaryFile<AnalyzerSummary>,
): Promise<number> {
  return new Promise<number>((resolve) => {
    const stopStatus = statusTicks(
      values.statusInterval,
      () => sink.counters(),
      (counters) => counters.datagrams,
      (counters, rate) => {
        log.info(statusFields(counters, rate), formatStatusLine(counters, rate));
        summary.writeOrWarn({ final: false, ...counters });
      },
    );
    // The dashboard's per-node records and export loss, with every heartbeat.
    const reports =
      link && values.nodeId !== undefined
        ? new AnalyzerReports(link, values.nodeId, () => sink.counters())
        : undefined;
    link?.on('heartbeat', () => reports?.send());
    // Also what keeps the process alive: the sink's thread is not an event-loop handle.
    const watcher = new OutputWatcher(log);
    const outputTimer = setInterval(() => {
      const counters = sink.counters();
      watcher.look(counters);
      if (counters.outputState === 'reader-closed') {
        log.info('the reader of the output closed it; stopping');
        finish(0);
      } else if (counters.outputState === 'failed') {
        log.error(
          `writing ${describeFailed(counters)} failed (${counters.outputError ?? 'unknown error'}); stopping`,
        );
        finish(1);
      }
    }, OUTPUT_CHECK_MS);

    const onSignal = (): void => finish(0);
    const onHangup = (): void => {
      log.info('SIGHUP: starting new capture files (the current ones are moved aside to FILE.N)');
      sink.reopen();
    };
    function finish(exitCode: number): void {
      stopStatus();
      link?.removeAllListeners('heartbeat');
      clearInterval(outputTimer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onHangup);
      // Leave first: capture nodes stop sending here once the topology without us is in force.
      reports?.send();
      link?.leave();
      const linkClosed = link?.stop();
      sink.stop();
      const counters = sink.counters();
      log.info({ final: finalFields(counters) }, formatFinalCounters(counters));
      try {
        summary.write({ final: true, ...counters });
      } catch (error) {
        log.error(errorMessage(error));
        exitCode = 1;
      }
      void Promise.all([linkClosed, metrics?.close()]).then(() => resolve(exitCode));
    }
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onHangup);
  });
}
