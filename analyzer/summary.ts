// What `dicap analyzer --summary FILE` holds: the sink's counters and whether they are final.
// The lab and scripts read the file; they import this type rather than describing it again.
import type { AnalyzerSinkCounters } from '../native/analyzer-sink.js';

export type AnalyzerSummary = AnalyzerSinkCounters & { final: boolean };
