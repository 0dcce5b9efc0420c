// `dicap coordinator`: validates its options, starts the Coordinator, serves the dashboard
// (/), /status, /ledger, /events and /metrics, prints a status line, and stops cleanly on
// SIGINT/SIGTERM.
import net from 'node:net';
import { clusterKeyOf } from '../common/cluster-key.js';
import { resolveSnaplen } from '../common/cluster-options.js';
import { badConfig } from '../common/errors.js';
import { formatHostPort } from '../common/host-port.js';
import { Startup } from '../common/startup.js';
import { serveMetrics } from '../common/metrics-server.js';
import { runCommand, type OptionValues } from '../common/options.js';
import { createLogger, type Logger } from '../common/logger.js';
import { handlerFaults } from '../common/fault-guard.js';
import { resolveTiming } from '../common/timing.js';
import type { Coordinator, CoordinatorConfig } from './coordinator.js';
import type { ClusterEvent } from './event-log.js';
import { Dashboard } from './dashboard/server.js';
import { HistoryFollower } from './history.js';
import { createCoordinatorMetrics } from './metrics.js';
import { COORDINATOR_OPTIONS, parsePeer } from './options.js';
import { coordinatorStatus, formatCoordinatorLine, statusFields } from './status.js';
import { startCoordinator } from './runtime.js';

type Values = OptionValues<typeof COORDINATOR_OPTIONS>;

function configOf(values: Values, onEvent: (event: ClusterEvent) => void): CoordinatorConfig {
  const key = clusterKeyOf(values, 'dicap coordinator');
  if (!net.isIPv4(values.listen.host)) {
    throw badConfig(
      `--listen ${values.listen.host}: give an IPv4 address of this host (or 0.0.0.0 with --advertise)`,
    );
  }
  const advertise = values.advertise ?? values.listen.host;
  if (!net.isIPv4(advertise) || advertise === '0.0.0.0') {
    throw badConfig(
      `--advertise ${advertise}: agents need a concrete IPv4 address to reach the coordinator; give --advertise IP`,
    );
  }
  if (values.mode === 'round-robin' && !values.injectInterface) {
    throw badConfig(
      'round-robin needs --inject-interface IF: the topology frame that resets every counter travels on the monitored link',
    );
  }
  if (values.injectInterface && !/^[\w.-]{1,15}$/.test(values.injectInterface)) {
    throw badConfig(`--inject-interface "${values.injectInterface}" is not an interface name`);
  }
  const peers = values.peer.map((text) => parsePeer(text)!);
  if (
    peers.some((p) => p.id === values.coordinatorId) ||
    new Set(peers.map((p) => p.id)).size !== peers.length
  ) {
    throw badConfig(
      `--peer IDs must differ from each other and from --coordinator-id ${values.coordinatorId}`,
    );
  }
  const hashKeys = values.key ? (values.key.map(Number) as [number, number]) : undefined;
  const timing = resolveTiming(values.timing, {
    heartbeatIntervalMs: values.heartbeatIntervalMs,
    nodeTimeoutMs: values.nodeTimeoutMs,
    topologyIntervalMs: values.topologyIntervalMs,
    epochIntervalMs: values.epochIntervalMs,
    validityDelayMs: values.validityDelayMs,
    announceIntervalMs: values.announceIntervalMs,
    syncIntervalMs: values.syncIntervalMs,
    electionTimeoutMs: values.electionTimeoutMs,
    solitudeMs: values.solitudeMs,
  });
  return {
    listen: { ip: values.listen.host, port: values.listen.port },
    advertise,
    key,
    mode: values.mode,
    hashKeys,
    snaplen: resolveSnaplen(values.snaplen),
    ...timing,
    maxMembers: values.maxMembers,
    injectInterface: values.injectInterface,
    announceGroup:
      timing.announceIntervalMs > 0
        ? { ip: values.announceGroup.host, port: values.announceGroup.port }
        : undefined,
    coordinatorId: values.coordinatorId,
    peers,
    // Standbys link to the active's dashboard; on a wildcard (0.0.0.0, or :: dual-stack) it
    // is reached at the advertised address.
    dashboard:
      values.http && (net.isIPv4(values.http.host) || values.http.host === '::')
        ? {
            ip: values.http.host === '0.0.0.0' || values.http.host === '::' ? advertise : values.http.host,
            port: values.http.port,
          }
        : undefined,
    onEvent,
  };
}

/** An event of the cluster as a log record: an anomaly is a warning, the rest information. */
function logEvent(log: Logger, event: ClusterEvent): void {
  const fields = { event: event.kind, eventAt: new Date(event.atMs).toISOString() };
  const line = `${event.kind}: ${event.text}`;
  if (event.kind === 'anomaly') log.warn(fields, line);
  else log.info(fields, line);
}

export function main(argv: string[]): Promise<number> {
  return runCommand(COORDINATOR_OPTIONS, argv, configured, coordinate);
}

interface Configured {
  values: Values;
  config: CoordinatorConfig;
  log: Logger;
}

/** The coordinator's configuration and log; throws DicapError for a bad combination. */
function configured(values: Values): Configured {
  const log = createLogger('coordinator', values.logFormat);
  return { values, config: configOf(values, (event) => logEvent(log, event)), log };
}

async function coordinate({ values, config, log }: Configured): Promise<number> {
  handlerFaults.log = (line) => log.error(line);
  if (!config.key)
    log.warn(
      'running --insecure: control messages are not authenticated; anyone on the management network can steer this cluster',
    );

  let coordinator: Coordinator;
  // A standby keeps a copy of the active's ledger and events, to go on from on takeover.
  const follower =
    config.peers.length > 0
      ? new HistoryFollower(() => {
          const leader = coordinator?.active ? undefined : coordinator?.election.leaderId;
          return leader === undefined ? undefined : coordinator.peerDashboards.get(leader);
        })
      : undefined;
  config.history = () => follower?.latest;
  const startup = new Startup(log);
  try {
    coordinator = await startCoordinator(config);
  } catch (error) {
    return startup.failed(error, 1);
  }
  startup.opened(() => coordinator.stop());
  let http;
  const dashboard = values.http ? new Dashboard(coordinator) : undefined;
  startup.opened(() => dashboard?.close());
  try {
    http = values.http
      ? await serveMetrics(
          values.http,
          createCoordinatorMetrics(coordinator, dashboard),
          {
            '/status': () => coordinatorStatus(coordinator),
            '/ledger': () => coordinator.ledger.recent(),
            '/events': () => coordinator.events.list(),
            '/history': () => coordinator.history(),
          },
          '--http',
          dashboard,
        )
      : undefined;
  } catch (error) {
    return startup.failed(error, 1);
  }
  startup.opened(() => http?.close());
  // Every socket is open (the in-band injector's too): nothing privileged is left to do.
  const refused = await startup.dropPrivileges(values.user, [], 1);
  if (refused !== undefined) return refused;
  log.info(
    `listening on ${config.listen.ip}:${config.listen.port} (advertised ${config.advertise}), ${config.mode}, ${config.peers.length > 0 ? `standby among ${config.peers.length + 1} coordinators (ID ${config.coordinatorId})` : `active after ${config.heartbeatIntervalMs + 500} ms of listening`}${values.http ? `, dashboard at http://${formatHostPort(values.http)}/` : ''}`,
  );

  const logStatus = (): void => {
    log.info(statusFields(coordinator), formatCoordinatorLine(coordinator));
  };
  return new Promise<number>((resolve) => {
    const status =
      values.statusInterval > 0 ? setInterval(logStatus, values.statusInterval * 1000) : undefined;
    const finish = (): void => {
      if (status) clearInterval(status);
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      logStatus();
      follower?.stop();
      void Promise.all([coordinator.stop(), http?.close()]).then(() => resolve(0));
    };
    process.on('SIGINT', finish);
    process.on('SIGTERM', finish);
  });
}
