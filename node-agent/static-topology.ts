// Builds the engine topology that `--nodes/--mode/--key/--analyzer` describe, for agents
// that run without a coordinator.
import { resolveEndpoint } from '../common/endpoint.js';
import { DicapError } from '../common/errors.js';
import type { HostPort } from '../common/host-port.js';
import type { EngineTopology, SelectionModeName } from '../native/engine.js';
import { STATIC_EPOCH } from '../common/cluster-options.js';

export interface StaticTopologyInput {
  nodeId: number;
  nodes: readonly string[];
  mode: SelectionModeName;
  key: readonly string[];
  analyzers: readonly HostPort[];
  snaplen: number;
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
