// What `dicap agent --summary FILE` holds: the engine's counters, the node ID, whether they
// are final, and (following a coordinator) its control channel's counts. The lab and scripts
// read the file; they import this type rather than describing the file again.
import type { EngineCounters } from '../native/engine.js';
import type { SelectionStage } from './selection-stage.js';

export interface AgentControlCounts {
  received: number;
  rejected: Record<string, number>;
  fenced: number;
  /** Topologies that moved frames to other owners and arrived after their validity start (coordinator-follower.ts). */
  lateTopologies: number;
}

export type AgentSummary = EngineCounters & {
  nodeId: number;
  final: boolean;
  /** Where this agent drops another node's frames (--selection). */
  selectionStage: SelectionStage;
  control?: AgentControlCounts;
};
