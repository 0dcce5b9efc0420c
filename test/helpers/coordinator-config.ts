// Test helper: a lone coordinator's configuration on loopback with fast timers (active after
// 600 ms of listening), for tests that need a real Coordinator and do not care about timing.
import type { CoordinatorConfig } from '../../coordinator/coordinator.js';

export const TEST_CLUSTER_KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

export function fastCoordinatorConfig(
  port: number,
  overrides: Partial<CoordinatorConfig> = {},
): CoordinatorConfig {
  return {
    listen: { ip: '127.0.0.1', port },
    advertise: '127.0.0.1',
    key: TEST_CLUSTER_KEY,
    mode: 'flow',
    snaplen: 128,
    heartbeatIntervalMs: 100,
    nodeTimeoutMs: 600,
    topologyIntervalMs: 10_000,
    epochIntervalMs: 0,
    validityDelayMs: 50,
    announceIntervalMs: 0,
    coordinatorId: 1,
    peers: [],
    syncIntervalMs: 100,
    electionTimeoutMs: 300,
    solitudeMs: 1000,
    ...overrides,
  };
}
