import { describe, expect, it } from 'vitest';
import { createAnalyzerMetrics } from '../../analyzer/metrics.js';
import { MALFORMED_REASONS, type AnalyzerSinkCounters } from '../../native/analyzer-sink.js';

function counters(): AnalyzerSinkCounters {
  const malformed = Object.fromEntries(
    MALFORMED_REASONS.map((r, i) => [r, i]),
  ) as AnalyzerSinkCounters['malformed'];
  return {
    datagrams: 100,
    bytes: 140000,
    records: 2800,
    badRecords: 7,
    malformed,
    reassembledRecords: 12,
    reassemblyLost: { sequence: 1, timeout: 2, memory: 0 },
    reassemblyBytes: 0,
    nodesEvicted: 0,
    socketDrops: 3,
    recordsWritten: 2790,
    recordsUnwritten: 4,
    bytesWritten: 99999,
    writeErrors: 1,
    outputState: 'stalled',
    outputError: null,
    filesOpened: 3,
    reorderLateRecords: 7,
    reorderHeldRecords: 12,
    outputs: [],
    receiveBufferBytes: 33554432,
    coalescedReceives: 0,
    gro: true,
    nodes: [
      {
        nodeId: 11,
        lastEpoch: 42,
        streams: 2,
        datagrams: 60,
        records: 1680,
        bytes: 120000,
        badRecords: 0,
        seqJumps: 1,
        gapDatagrams: 5,
        lateDatagrams: 2,
        lostDatagrams: 3,
        duplicateDatagrams: 1,
        duplicateRecords: 6,
        runs: 3,
      },
      {
        nodeId: 22,
        lastEpoch: 41,
        streams: 1,
        datagrams: 40,
        records: 1120,
        bytes: 80000,
        badRecords: 0,
        seqJumps: 0,
        gapDatagrams: 0,
        lateDatagrams: 0,
        lostDatagrams: 0,
        duplicateDatagrams: 0,
        duplicateRecords: 0,
        runs: 1,
      },
    ],
  };
}

describe('analyzer metrics', () => {
  it('exports the native counters at scrape time with Prometheus names and labels', async () => {
    let reads = 0;
    const text = await createAnalyzerMetrics(() => {
      reads++;
      return counters();
    }).metrics();
    expect(reads).toBe(1); // one native read per scrape, shared by every metric
    const lines = new Set(text.split('\n'));
    for (const line of [
      'dicap_analyzer_received_datagrams_total 100',
      'dicap_analyzer_received_bytes_total 140000',
      'dicap_analyzer_received_records_total 2800',
      'dicap_analyzer_socket_dropped_datagrams_total 3',
      'dicap_analyzer_written_records_total 2790',
      'dicap_analyzer_unwritten_records_total 4',
      'dicap_analyzer_written_bytes_total 99999',
      'dicap_analyzer_write_errors_total 1',
      'dicap_analyzer_malformed_datagrams_total{reason="short"} 0',
      'dicap_analyzer_malformed_datagrams_total{reason="trailing_bytes"} 7',
      'dicap_analyzer_malformed_datagrams_total{reason="bad_mac"} 11',
      'dicap_analyzer_bad_records_total 7',
      'dicap_analyzer_reassembly_lost_records_total{reason="timeout"} 2',
      'dicap_analyzer_node_seq_jumps_total{node="11"} 1',
      'dicap_analyzer_malformed_datagrams_total{reason="oversized"} 9',
      'dicap_analyzer_node_datagrams_total{node="11"} 60',
      'dicap_analyzer_node_records_total{node="22"} 1120',
      'dicap_analyzer_node_gap_datagrams_total{node="11"} 5',
      'dicap_analyzer_node_late_datagrams_total{node="11"} 2',
      'dicap_analyzer_node_duplicate_datagrams_total{node="11"} 1',
      'dicap_analyzer_node_duplicate_records_total{node="11"} 6',
      'dicap_analyzer_node_runs_total{node="11"} 3',
      'dicap_analyzer_node_epoch{node="11"} 42',
      'dicap_analyzer_node_streams{node="11"} 2',
      'dicap_analyzer_node_received_bytes_total{node="22"} 80000',
      'dicap_analyzer_node_lost_datagrams{node="11"} 3',
      'dicap_analyzer_opened_files_total 3',
      'dicap_analyzer_reorder_late_records_total 7',
      'dicap_analyzer_reorder_held_records 12',
      'dicap_analyzer_output_state{state="no-reader"} 0',
      'dicap_analyzer_output_state{state="stalled"} 1',
      'dicap_analyzer_output_state{state="open"} 0',
      'dicap_analyzer_receive_buffer_bytes 33554432',
    ]) {
      expect(lines.has(line), line).toBe(true);
    }
    // Counters end in _total and are typed as counters; everything is dicap_analyzer_*, but
    // for what every component serves (common/process-metrics.ts).
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    for (const type of types) {
      const [, , name, kind] = type.split(' ');
      expect(name).toMatch(/^(dicap_analyzer_|dicap_build_info$|process_|nodejs_)/);
      // (prom-client's own nodejs_active_handles_total is a gauge: its names are not ours.)
      if (name!.startsWith('dicap_')) expect(kind === 'counter', name).toBe(name!.endsWith('_total'));
    }
    expect(types).toContain('# TYPE process_resident_memory_bytes gauge');
    expect(types).toContain('# TYPE dicap_build_info gauge');
  });
});
