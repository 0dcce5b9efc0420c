// docs/metrics.md and the Grafana dashboard docker/grafana/dicap.json hold each other to one
// list of metrics: every metric the dashboard queries is documented, every documented metric
// with a panel is queried on that panel, and the names follow Prometheus' conventions.
// (test/deploy/metrics-scrape.test.ts checks the same list against the running components.)
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDocumentedMetrics } from './metrics-doc.js';

const documented = readDocumentedMetrics();
const DASHBOARD = path.resolve('docker', 'grafana', 'dicap.json');

const LABELS = ['node', 'layer', 'reason', 'role', 'state', 'bin', 'version', 'nodejs', 'thread', 'stage'];
const LAYERS = [
  'wire',
  'socket',
  'seen',
  'owned',
  'workers',
  'exported',
  'received',
  'written',
  'ledger',
  'control',
  'process',
];

interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
}

const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');
const metricsIn = (expr: string): string[] => [...expr.matchAll(/\bdicap_[a-z0-9_]+/g)].map((m) => m[0]);

describe('docs/metrics.md', () => {
  it('lists every metric once, with a conventional name, known labels and a layer of docs/DESIGN.md', () => {
    expect(documented.length).toBeGreaterThan(50);
    const names = documented.map((m) => m.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    for (const m of documented) {
      if (m.component !== 'every')
        expect(m.name, 'prefix').toMatch(new RegExp(`^dicap_${m.component}_[a-z][a-z0-9_]*[a-z0-9]$`));
      if (m.type === 'counter') expect(m.name, 'a counter ends in _total').toMatch(/_total$/);
      else expect(m.name, 'only counters end in _total').not.toMatch(/_total$/);
      for (const label of m.labels) expect(LABELS, `label of ${m.name}`).toContain(label);
      for (const layer of m.layer.split(',').map((l) => l.trim()))
        expect(LAYERS, `layer of ${m.name}`).toContain(layer);
      expect(m.alert.length, `alert of ${m.name}`).toBeGreaterThan(0);
    }
    // Every agent metric carries the node label (set once for the whole registry).
    for (const m of documented.filter((d) => d.component === 'agent')) expect(m.labels).toContain('node');
  });

  it('covers every layer of the frame path and the ledger', () => {
    expect(new Set(documented.flatMap((m) => m.layer.split(',').map((l) => l.trim())))).toEqual(
      new Set(LAYERS),
    );
  });
});

describe('docker/grafana/dicap.json', () => {
  it('is an importable dashboard: uid, title, a Prometheus data-source variable, panels on a 24-column grid without overlap', () => {
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.title).toContain('dicap');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(30);
    const datasource = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(datasource).toMatchObject({ name: 'datasource', query: 'prometheus' });
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const titles = queryPanels.map((p) => p.title);
    expect(new Set(titles).size).toBe(titles.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.gridPos.w * p.gridPos.h, p.title).toBeGreaterThan(0);
    }
    for (const [i, a] of dashboard.panels.entries()) {
      for (const b of dashboard.panels.slice(i + 1)) {
        const apart =
          a.gridPos.x + a.gridPos.w <= b.gridPos.x ||
          b.gridPos.x + b.gridPos.w <= a.gridPos.x ||
          a.gridPos.y + a.gridPos.h <= b.gridPos.y ||
          b.gridPos.y + b.gridPos.h <= a.gridPos.y;
        expect(apart, `panels "${a.title}" and "${b.title}" overlap`).toBe(true);
      }
    }
  });

  it('queries Prometheus through the variable, with balanced expressions and one refId per query', () => {
    for (const p of queryPanels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets!.length, p.title).toBeGreaterThan(0);
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, p.title).toBe(refIds.length);
      for (const t of p.targets!) {
        expect(t.datasource).toEqual(p.datasource);
        for (const [open, close] of [
          ['(', ')'],
          ['{', '}'],
          ['[', ']'],
        ] as const) {
          expect(t.expr.split(open).length, `${open}${close} in ${t.expr}`).toBe(t.expr.split(close).length);
        }
        expect(metricsIn(t.expr).length, `a dicap metric in ${t.expr}`).toBeGreaterThan(0);
      }
    }
  });

  it('queries only documented metrics', () => {
    const names = new Set(documented.map((m) => m.name));
    const queried = queryPanels.flatMap((p) => p.targets!.flatMap((t) => metricsIn(t.expr)));
    expect(queried.filter((m) => !names.has(m))).toEqual([]);
  });

  it('shows every documented metric that has a panel on that panel', () => {
    const missing: string[] = [];
    for (const m of documented.filter((d) => d.panel !== undefined)) {
      const panel = queryPanels.find((p) => p.title === m.panel);
      if (!panel || !panel.targets!.some((t) => metricsIn(t.expr).includes(m.name)))
        missing.push(`${m.name} on "${m.panel}"`);
    }
    expect(missing).toEqual([]);
  });

  it('has the panels an operator needs first', () => {
    const titles = queryPanels.map((p) => p.title);
    for (const title of [
      'Coverage',
      'Frames per node',
      'Drops by layer',
      'Analyzer export loss',
      'Coordinator role',
      'Coordinator term',
      'Failovers',
    ]) {
      expect(titles).toContain(title);
    }
    // The important metrics: every metric an alert in docs/metrics.md's first five rests on is on the dashboard.
    const important = [
      'dicap_agent_dropped_frames_total',
      'dicap_analyzer_node_gap_datagrams_total',
      'dicap_analyzer_node_late_datagrams_total',
      'dicap_coordinator_coverage_exactly_once',
      'dicap_coordinator_active',
      'dicap_analyzer_output_state',
    ];
    const queried = new Set(queryPanels.flatMap((p) => p.targets!.flatMap((t) => metricsIn(t.expr))));
    for (const name of important) expect(queried.has(name), name).toBe(true);
  });
});
