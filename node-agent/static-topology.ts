// Builds the engine topology that `--nodes/--mode/--key/--analyzer` describe, for agents
// that run without a coordinator.
import dns from 'node:dns/promises';
import net from 'node:net';
import { DicapError } from '../common/errors.js';
import { formatHostPort, type HostPort } from '../common/host-port.js';
import type { EngineTopology, SelectionModeName } from '../native/engine.js';
import { STATIC_EPOCH } from './options.js';

export interface StaticTopologyInput {
  nodeId: number;
  nodes: readonly string[];
  mode: SelectionModeName;
  key: readonly string[];
  analyzers: readonly HostPort[];
  snaplen: number;
}

/** HOST:PORT as an IPv4 endpoint, resolving a host name once at start. */
export async function resolveEndpoint(
  address: HostPort,
  flag: string,
): Promise<{ ip: string; port: number }> {
  if (net.isIPv4(address.host)) return { ip: address.host, port: address.port };
  try {
    const { address: ip } = await dns.lookup(address.host, { family: 4 });
    return { ip, port: address.port };
  } catch {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `${flag} ${formatHostPort(address)}: cannot resolve "${address.host}" to an IPv4 address; give an address or a resolvable name`,
    );
  }
}

export function resolveAnalyzers(
  analyzers: readonly HostPort[],
): Promise<Array<{ ip: string; port: number }>> {
  return Promise.all(analyzers.map((analyzer) => resolveEndpoint(analyzer, '--analyzer')));
}

export async function staticTopology(input: StaticTopologyInput): Promise<EngineTopology> {
  const nodeIds = input.nodes.map(Number);
  if (!nodeIds.includes(input.nodeId)) {
    throw new DicapError(
      'DICAP_ERR_BAD_CONFIG',
      `--node-id ${input.nodeId} is not in --nodes ${input.nodes.join(',')}; add it to the list or fix the ID`,
    );
  }
  const [k0 = 0, k1 = 0] = input.key.map(Number);
  return {
    term: 0,
    epoch: STATIC_EPOCH,
    mode: input.mode,
    nodeIds,
    k0,
    k1,
    validityStartNs: 0n,
    analyzers: await resolveAnalyzers(input.analyzers),
    snaplen: input.snaplen,
  };
}
