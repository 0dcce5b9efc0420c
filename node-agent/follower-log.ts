// The lines an agent that follows coordinators prints for programs as well as people: which
// coordinator it follows, and when each topology came into force (the lab times failovers
// and node deaths by when these lines appear). Each has its format and its parse here, so
// the writer and every reader agree; a parse finds the line inside any log prefix.
import type { Endpoint } from '../protocol/index.js';

export interface TopologyInForce {
  term: number;
  epoch: number;
  nodeIds: number[];
  /** This node's position, -1 when the topology leaves it out. */
  position: number;
  /** Put in force by an in-band frame (round-robin), not at a validity start. */
  inband: boolean;
}

export function formatTopologyInForce(t: TopologyInForce): string {
  return `topology in force: term ${t.term}, epoch ${t.epoch}, nodes ${t.nodeIds.join(',')}, position ${t.position}${t.inband ? ' (in-band frame)' : ''}`;
}

const TOPOLOGY_IN_FORCE =
  /topology in force: term (\d+), epoch (\d+), nodes ([\d,]+), position (-?\d+)( \(in-band frame\))?/;

export function parseTopologyInForce(line: string): TopologyInForce | undefined {
  const m = TOPOLOGY_IN_FORCE.exec(line);
  if (!m) return undefined;
  return {
    term: Number(m[1]),
    epoch: Number(m[2]),
    nodeIds: m[3]!.split(',').map(Number),
    position: Number(m[4]),
    inband: m[5] !== undefined,
  };
}

export interface Following {
  coordinator: Endpoint;
  term: number;
}

export function formatFollowing(f: Following): string {
  return `following coordinator ${f.coordinator.ip}:${f.coordinator.port} (term ${f.term})`;
}

const FOLLOWING = /following coordinator (\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5}) \(term (\d+)\)/;

export function parseFollowing(line: string): Following | undefined {
  const m = FOLLOWING.exec(line);
  return m ? { coordinator: { ip: m[1]!, port: Number(m[2]) }, term: Number(m[3]) } : undefined;
}
