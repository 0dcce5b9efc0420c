// The text `dicap lab` prints: hosts, counters, replay outcomes, teardown summaries. Pure
// functions of the data, so their wording is tested without a lab.
import path from 'node:path';
import type { PassiveCounters, WireIngressCounters } from './lab.js';
import type { ReplayResult } from './replay.js';
import type { TeardownReport } from './state.js';
import type { LabTopology } from './topology.js';

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    `  ${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')}`.trimEnd(),
  );
}

/** One line per host: name, namespace, and its interfaces with addresses. */
export function formatHosts(topology: LabTopology): string[] {
  const rows = [['host', 'namespace', 'interfaces']];
  for (const h of topology.hosts) {
    const parts: string[] = [];
    if (h.wire)
      parts.push(
        `${h.role === 'source' ? 'wire' : 'in-band'} ${h.wire.interface}${h.wire.cidr ? ` ${h.wire.cidr}` : ''}`,
      );
    if (h.passive) parts.push(`passive ${h.passive.interface}`);
    if (h.management) parts.push(`mgmt ${h.management.interface} ${h.management.cidr}`);
    rows.push([h.name, h.namespace, parts.join(', ')]);
  }
  return [
    `lab ${topology.id}: wire ${topology.wire.namespace} (MTU ${topology.wire.mtu}, mirror on CPU ${topology.wire.cpu}), management bridge ${topology.management.bridge} ${topology.management.subnet}`,
    ...table(rows),
  ];
}

export function formatPassiveCounters(counters: readonly PassiveCounters[]): string[] {
  const rows = [['capture host', 'passive', 'rx_packets', 'rx_bytes', 'rx_dropped', 'mirror tx_dropped']];
  for (const c of counters)
    rows.push([
      c.host,
      c.interface,
      String(c.rxPackets),
      String(c.rxBytes),
      String(c.rxDropped),
      String(c.mirrorTxDropped),
    ]);
  return table(rows);
}

export function formatWireCounters(counters: readonly WireIngressCounters[]): string[] {
  const rows = [['into the wire from', 'port', 'rx_packets', 'rx_bytes', 'rx_dropped']];
  for (const c of counters)
    rows.push([c.host, c.interface, String(c.rxPackets), String(c.rxBytes), String(c.rxDropped)]);
  return table(rows);
}

/** Counters after minus counters before, host by host. */
export function passiveDelta(
  before: readonly PassiveCounters[],
  after: readonly PassiveCounters[],
): PassiveCounters[] {
  return after.map((a, i) => {
    const b = before[i]!;
    return {
      ...a,
      rxPackets: a.rxPackets - b.rxPackets,
      rxBytes: a.rxBytes - b.rxBytes,
      rxDropped: a.rxDropped - b.rxDropped,
      mirrorTxDropped: a.mirrorTxDropped - b.mirrorTxDropped,
    };
  });
}

/** What tcpreplay sent and refused, and what reached each capture host (counter deltas over the replay). */
export function formatReplaySummary(result: ReplayResult, delivered: readonly PassiveCounters[]): string[] {
  const lines = [
    `replay: sent ${result.sent} of ${result.attempted} frames (${result.bytes} bytes) in ${result.seconds.toFixed(2)} s, ${Math.round(result.pps)} frames/s, from ${result.interface}`,
  ];
  if (result.failed > 0) {
    lines.push(`replay: tcpreplay could not send ${result.failed} frame${result.failed === 1 ? '' : 's'}:`);
    for (const r of result.refused) {
      const where = r.file
        ? `${path.basename(r.file)} frame ${r.frameInFile}`
        : `frame ${r.index} of the replay`;
      lines.push(`  ${where}: ${r.reason}`);
    }
  }
  if (result.truncated > 0) lines.push(`replay: ${result.truncated} frames were sent truncated`);
  for (const w of result.warnings) lines.push(`replay: tcpreplay warned: ${w}`);
  for (const d of delivered) {
    const missing = result.sent - d.rxPackets;
    const verdict =
      missing === 0
        ? 'every sent frame arrived'
        : missing > 0
          ? `${missing} frames missing`
          : `${-missing} frames more than sent (other traffic on the wire)`;
    lines.push(
      `  ${d.host} ${d.interface}: +${d.rxPackets} frames (+${d.rxBytes} bytes), rx_dropped +${d.rxDropped}, mirror tx_dropped +${d.mirrorTxDropped}: ${verdict}`,
    );
  }
  return lines;
}

export function formatTeardown(report: TeardownReport): string {
  const parts = [`deleted ${report.namespacesDeleted.length} namespaces`];
  if (report.processesStopped > 0) parts.unshift(`stopped ${report.processesStopped} processes`);
  if (report.strayProcessesStopped > 0)
    parts.push(`stopped ${report.strayProcessesStopped} other processes that were inside its namespaces`);
  const problems = report.problems.length > 0 ? `; could not remove: ${report.problems.join('; ')}` : '';
  return `lab ${report.id} down: ${parts.join(', ')}${problems}`;
}
