// `dicap agent`: runs the capture engine on a passive interface or a capture file with a
// static topology, reports a status line (and rewrites --summary FILE) every
// --status-interval, serves metrics, and on SIGINT/SIGTERM (or the end of the file)
// flushes every batch and prints its final counters.
import { badConfig, errorMessage } from '../common/errors.js';
import { resolveSnaplen } from '../common/cluster-options.js';
import { deriveBatchKey } from '../protocol/header-batch.js';
import { clusterKeyOf, readClusterKeyFile } from '../common/cluster-key.js';
import { runCommand, type OptionValues } from '../common/options.js';
import { statusTicks } from '../common/rate.js';
import { createLogger, type Logger } from '../common/logger.js';
import { handlerFaults } from '../common/fault-guard.js';
import { memberTiming, type ControlTiming } from '../common/timing.js';
import { CaptureEngine, type CaptureEngineOptions } from '../native/engine.js';
import { createAgentMetrics } from './metrics.js';
import { AGENT_OPTIONS } from './options.js';
import { resolveEndpoint } from '../common/endpoint.js';
import { staticTopology } from './static-topology.js';
import { CoordinatorFollower } from './coordinator-follower.js';
import { SummaryFile } from '../common/summary-file.js';
import type { AgentSummary } from './summary.js';
import { finalFields, formatFinalCounters, formatStatusLine, statusFields } from './status-line.js';
import { Startup } from '../common/startup.js';
import { serveMetrics, type MetricsServer } from '../common/metrics-server.js';
import { KernelSelection } from '../native/kernel-selection.js';
import { chooseSelectionStage, type ChosenStage } from './selection-stage.js';

/** A graceful stop waits at most this long for the topology without this node. */
const LEAVE_TIMEOUT_MS = 3000;

type AgentValues = OptionValues<typeof AGENT_OPTIONS>;

/** The engine's options from the agent's flags: the common part, then the live or file source. */
function engineOptions(
  values: AgentValues,
  clusterKey: Buffer | undefined,
  selection: ChosenStage,
): CaptureEngineOptions {
  const common = {
    kernelSelection: selection.kernel,
    kernelSocketFilter: selection.stage === 'socket',
    nodeId: values.nodeId,
    clusterKey,
    // With a cluster key every header batch is signed, so the analyzer can tell ours from forgeries.
    batchKey: clusterKey ? deriveBatchKey(clusterKey) : undefined,
    workers: values.workers,
    snaplen: resolveSnaplen(values.snaplen),
    payloadSize: values.payloadSize,
    flushUs: values.flushMs * 1000,
    exportMode: values.exportMode,
    queueSlots: values.queueSlots,
    gso: values.exportGso,
    ...(values.filter !== undefined ? { filter: values.filter } : {}),
    ...(values.cpus !== undefined ? { cpus: values.cpus.map(Number) } : {}),
  };
  if (values.interface !== undefined) {
    return {
      ...common,
      interface: values.interface,
      blockSize: values.ringBlockSize,
      blockCount: values.ringBlocks,
      retireMs: values.ringRetireMs,
      captureThreads: values.captureThreads,
      fanoutRollover: values.fanoutRollover,
    };
  }
  return { ...common, file: values.pcap as string, realtime: values.realtime };
}

/** A dicap XDP program a killed agent left on `iface` would go on dropping frames: remove it (needs root; silent without). */
function removeStaleProgram(iface: string, log: Logger): void {
  try {
    if (KernelSelection.removeStaleXdp(iface))
      log.warn(`removed the dicap XDP program an earlier run left on ${iface}`);
  } catch {
    // No BPF here (not root, or no such interface: the engine names that problem).
  }
}

export function main(argv: string[]): Promise<number> {
  return runCommand(AGENT_OPTIONS, argv, checkOptions, capture);
}

/** The options with the control plane's timing; throws DicapError for a bad combination. */
function checkOptions(values: AgentValues): { values: AgentValues; timing: ControlTiming } {
  if ((values.interface === undefined) === (values.pcap === undefined)) {
    throw badConfig('give exactly one source: --interface IF (live) or --pcap FILE');
  }
  if (values.captureThreads > 1 && values.interface === undefined) {
    throw badConfig('--capture-threads applies to live capture (--interface); a file is read by one thread');
  }
  if (values.captureThreads > 1 && values.nodes !== undefined && values.mode === 'round-robin') {
    throw badConfig(
      'round-robin counts frames in wire order, which --capture-threads splits between rings; use --capture-threads 1 with round-robin',
    );
  }
  return { values, timing: memberTiming(values) };
}

async function capture({ values, timing }: { values: AgentValues; timing: ControlTiming }): Promise<number> {
  const log = createLogger('agent', values.logFormat);
  handlerFaults.log = (line) => log.error(line);

  const startup = new Startup(log);
  let engine: CaptureEngine;
  let follower: CoordinatorFollower | undefined;
  let capturing: string;
  let selection: ChosenStage | undefined;
  try {
    const following = values.coordinator.length > 0 || values.discover;
    if (!following && values.nodes === undefined) {
      throw badConfig(
        'give a static topology with --nodes ID,ID,… or follow a coordinator with --coordinator HOST:PORT or --discover',
      );
    }
    const clusterKey = following
      ? (clusterKeyOf(values, 'following a coordinator') ?? undefined)
      : values.clusterKeyFile !== undefined
        ? readClusterKeyFile(values.clusterKeyFile)
        : undefined;
    const topology =
      values.nodes === undefined
        ? undefined
        : await staticTopology({
            nodeId: values.nodeId,
            nodes: values.nodes,
            mode: values.mode,
            key: values.key,
            analyzers: values.analyzer,
            snaplen: resolveSnaplen(values.snaplen),
          });
    if (topology && topology.analyzers.length === 0) {
      log.warn('no --analyzer given; owned frames are counted as no-analyzer drops');
    }
    if (values.interface !== undefined) removeStaleProgram(values.interface, log);
    selection = chooseSelectionStage({
      choice: values.selection,
      distribute: values.distribute,
      interface: values.interface,
      nodeId: values.nodeId,
      snaplen: values.snaplen,
      filter: values.filter !== undefined,
    });
    // A file has one stage only: nothing to say.
    if (values.interface !== undefined) log.info({ selectionStage: selection.stage }, selection.reason);
    engine = new CaptureEngine(engineOptions(values, clusterKey, selection));
    if (topology) {
      // The kernel first: it must hold the topology before the first frame arrives.
      selection.kernel?.stage(topology);
      engine.offerTopology(topology);
    }
    engine.start();
    if (following) {
      const capturing = engine;
      follower = await CoordinatorFollower.start({
        engine,
        kernel: selection.kernel,
        selection: selection.report,
        nodeId: values.nodeId,
        coordinators: await Promise.all(values.coordinator.map((c) => resolveEndpoint(c, '--coordinator'))),
        bindIp: values.controlAddress,
        discoverGroup: values.discover
          ? { ip: values.discoverGroup.host, port: values.discoverGroup.port }
          : undefined,
        key: clusterKey ?? null,
        heartbeatIntervalMs: timing.heartbeatIntervalMs,
        leaveTimeoutMs: LEAVE_TIMEOUT_MS,
        snaplen: resolveSnaplen(values.snaplen),
        log,
      }).catch((error: unknown) => {
        capturing.stop();
        throw error;
      });
    }
    const source = values.interface !== undefined ? `interface ${values.interface}` : `file ${values.pcap}`;
    const plan = topology
      ? `${values.mode}, position ${topology.nodeIds.indexOf(values.nodeId)} of ${topology.nodeIds.length}`
      : `topology from the coordinator${values.coordinator.length > 0 ? ` ${values.coordinator.map((c) => `${c.host}:${c.port}`).join(', ')}` : ' (discovering)'}`;
    const threads =
      values.captureThreads > 1
        ? `${values.captureThreads} capture threads${values.fanoutRollover ? ' with rollover' : ''}, `
        : '';
    const exporters =
      values.workers === 0
        ? 'exporting on the capture thread' + (values.captureThreads > 1 ? 's' : '')
        : `${Math.max(values.workers, values.captureThreads)} workers`;
    capturing = `node ${values.nodeId} capturing from ${source} (${plan}, ${threads}${exporters})`;
    if (values.filter !== undefined) {
      // Each node counts what it filters, but the cluster's ledger compares what nodes saw:
      // it holds only when every node has the same filter.
      log.warn(
        `capture filter "${values.filter}": frames it rejects are counted (filtered) and left out of the cluster's exactly-once accounting; every node must use the same filter`,
      );
    }
  } catch (error) {
    selection?.kernel?.close();
    log.error(errorMessage(error));
    return 2;
  }
  const kernel = selection.kernel;
  startup.opened(() => {
    engine.stop();
    // Detach from XDP: local consumers see the whole link again.
    kernel?.close();
  });
  startup.opened(() => follower?.stop());
  const stage = selection.stage;

  // The summary exists as soon as the agent captures (readers may take that as "ready"),
  // and is rewritten with the status line: the lab reads live counters from it.
  const summary = new SummaryFile<AgentSummary>(values.summary, (line) => log.warn(line));
  // One counters() per status tick serves the line and the file: each call reads the
  // kernel program's per-CPU maps.
  const summaryOf = (final: boolean, counters = engine.counters()): AgentSummary => ({
    nodeId: values.nodeId,
    final,
    selectionStage: stage,
    ...counters,
    ...(follower ? { control: follower.controlCounters() } : {}),
  });
  try {
    summary.write(summaryOf(false));
  } catch (error) {
    return startup.failed(error, 2);
  }
  // Said once the summary exists: whoever waits for this line finds the file.
  log.info(capturing);

  let metrics: MetricsServer | undefined;
  try {
    if (values.metrics)
      metrics = await serveMetrics(
        values.metrics,
        createAgentMetrics({
          nodeId: values.nodeId,
          interface: values.interface,
          counters: () => engine.counters(),
          selectionStage: stage,
          controlRejections: follower ? () => follower!.link.channel.rejected : undefined,
          lateTopologies: follower ? () => follower!.controlCounters().lateTopologies : undefined,
        }),
      );
  } catch (error) {
    return startup.failed(error, 1);
  }
  startup.opened(() => metrics?.close());
  // The ring (or file), the control socket and the metrics port are open: keep no privilege.
  const refused = await startup.dropPrivileges(values.user, [], 2);
  if (refused !== undefined) return refused;

  return new Promise<number>((resolve) => {
    let exitCode = 0;
    const stopStatus = statusTicks(
      values.statusInterval,
      () => engine.counters(),
      (counters) => counters.seen,
      (counters, rate) => {
        log.info(statusFields(counters, rate), formatStatusLine(values.nodeId, counters, rate));
        summary.writeOrWarn(summaryOf(false, counters));
      },
    );

    let finishing = false;
    const finish = async (): Promise<void> => {
      if (finishing) return;
      finishing = true;
      stopStatus();
      // Leave the cluster first: capture goes on until the others cover our share.
      if (follower && values.interface !== undefined) await follower.leave();
      engine.stop();
      // Detach from XDP: local consumers see the whole link again.
      selection?.kernel?.close();
      await follower?.stop();
      const counters = engine.counters();
      log.info({ final: finalFields(counters) }, formatFinalCounters(values.nodeId, counters));
      try {
        summary.write(summaryOf(true, counters));
      } catch (error) {
        log.error(errorMessage(error));
        exitCode = 1;
      }
      void (metrics ? metrics.close() : Promise.resolve()).then(() => resolve(exitCode));
    };
    engine.on('warning', (line) => log.warn(line));
    engine.on('error', (error) => {
      log.error(error.message);
      exitCode = 1;
      if (values.interface !== undefined) void finish();
    });
    const onStop = (): void => void finish();
    engine.on('end', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
  });
}
