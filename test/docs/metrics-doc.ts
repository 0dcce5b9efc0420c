// Reads the metric tables of docs/metrics.md: one row per metric, with the columns
// metric | type | labels | meaning | layer | alert | panel. The tests hold the dashboard,
// the components and this document to the same list.
import fs from 'node:fs';
import path from 'node:path';

export interface DocumentedMetric {
  /** 'every': served by every component (dicap_build_info). */
  readonly component: 'agent' | 'analyzer' | 'coordinator' | 'every';
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  /** Label names, without the ones Prometheus adds (instance, job). */
  readonly labels: readonly string[];
  readonly layer: string;
  readonly alert: string;
  /** Title of the Grafana panel that shows it, or undefined ("—"). */
  readonly panel: string | undefined;
}

export const METRICS_DOC = path.resolve('docs', 'metrics.md');

/** Splits a Markdown table row on the `|` that are not inside backticks. */
function cells(row: string): string[] {
  const out: string[] = [];
  let current = '';
  let inCode = false;
  for (const ch of row.trim().replace(/^\||\|$/g, '')) {
    if (ch === '`') inCode = !inCode;
    if (ch === '|' && !inCode) {
      out.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  out.push(current.trim());
  return out;
}

export function readDocumentedMetrics(file = METRICS_DOC): DocumentedMetric[] {
  const metrics: DocumentedMetric[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const row = /^\| `(dicap_(?:(agent|analyzer|coordinator)_[a-z0-9_]+|build_info))` \|/.exec(line);
    if (!row) continue;
    const [, type, labels, , layer, alert, panel] = cells(line);
    if (type !== 'counter' && type !== 'gauge' && type !== 'histogram')
      throw new Error(`docs/metrics.md: ${row[1]} has type "${type}"`);
    metrics.push({
      component: (row[2] ?? 'every') as DocumentedMetric['component'],
      name: row[1]!,
      type,
      labels: labels === '—' ? [] : labels!.split(',').map((l) => l.trim()),
      layer: layer!,
      alert: alert!,
      panel: panel === '—' ? undefined : panel,
    });
  }
  return metrics;
}
