// The dashboard page's pure parts (coordinator/dashboard/public): number formatting,
// the SVG chart geometry and histogram statistics, and the sections' HTML for states an
// operator must not miss — a timed-out node, drops, an anomaly, a standby's link — with
// every text from the cluster escaped.
import { describe, expect, it } from 'vitest';
import {
  binRange,
  ipidHistogram,
  ipidStats,
  linePath,
  sparkline,
} from '../../coordinator/dashboard/public/charts.js';
import { ago, count, escapeHtml, percent, rate } from '../../coordinator/dashboard/public/format.js';
import {
  bannerView,
  clusterView,
  eventsView,
  headerView,
  ipidView,
  nodesView,
  plotPoints,
  shareView,
} from '../../coordinator/dashboard/public/views.js';
import type { CaptureNodeView, DashboardSnapshot } from '../../coordinator/dashboard/snapshot.js';

const NOW = 1_795_000_000_000;
const counts = (over: Partial<Record<string, number>> = {}) => ({
  ringPackets: 0,
  ringDrops: 0,
  seen: 0,
  owned: 0,
  exported: 0,
  queueDrops: 0,
  sendFailed: 0,
  noAnalyzer: 0,
  ...over,
});

function node(nodeId: number, over: Partial<CaptureNodeView> = {}): CaptureNodeView {
  return {
    nodeId,
    control: { ip: '198.18.0.11', port: 40000 },
    position: 0,
    state: 'capturing',
    lastHeardMs: NOW - 300,
    appliedEpoch: 5,
    selection: { stage: 'xdp-native', reason: 'auto' },
    behind: false,
    departedMs: null,
    totals: counts({ seen: 1e6, owned: 5e5, exported: 5e5 }),
    rates: counts({ seen: 20_000, owned: 10_000, exported: 10_000 }),
    share: 0.5,
    received: null,
    ...over,
  };
}

function snapshot(
  over: Partial<DashboardSnapshot> = {},
  coordinator: Partial<DashboardSnapshot['coordinator']> = {},
): DashboardSnapshot {
  const bins = new Array<number>(256).fill(10);
  return {
    atMs: NOW,
    coordinator: {
      id: 1,
      role: 'active',
      term: 257,
      epoch: 5,
      mode: 'ipid',
      control: { ip: '198.18.0.200', port: 7400 },
      startedMs: NOW - 60_000,
      heartbeatIntervalMs: 500,
      nodeTimeoutMs: 3000,
      active: {
        id: 1,
        self: true,
        control: { ip: '198.18.0.200', port: 7400 },
        dashboard: { ip: '198.18.0.200', port: 8080 },
      },
      peers: [],
      lastSyncMs: null,
      counters: { failovers: 0 } as DashboardSnapshot['coordinator']['counters'],
      controlMessages: { received: 0, sent: 0, rejected: {} },
      ...coordinator,
    },
    coverage: {
      epoch: 4,
      status: 'exactly-once',
      anomaly: null,
      reason: null,
      frames: 12345,
      uncovered: 0,
      duplicated: 0,
    },
    ledgerTotals: { uncovered: 0, duplicated: 0, anomalies: 0 },
    epochs: [],
    nodes: [node(11), node(12, { position: 1 })],
    analyzers: [],
    ipid: {
      windowS: 60,
      recent: { frames: 2560, bins },
      sinceStart: { frames: 2560, bins },
      nodes: [11, 12],
    },
    events: [],
    sample: { atMs: NOW, seen: 20_000, owned: 20_000, exported: 20_000, drops: 0, received: 0, nodes: {} },
    ...over,
  };
}

describe('formatting', () => {
  it.each([
    [0, '0'],
    [999, '999'],
    [1000, '1.00k'],
    [12_345, '12.3k'],
    [999_950, '1.00M'],
    [45_600_000, '45.6M'],
    [2 ** 53, '9.01P'],
    [null, '—'],
  ])('count(%s) is %s', (n, text) => expect(count(n)).toBe(text));

  it('says rates, percentages and ages the way an operator reads them', () => {
    expect(rate(15_000)).toBe('15.0k/s');
    expect(rate(null)).toBe('—');
    expect(percent(0.3333)).toBe('33.3 %');
    expect(ago(NOW - 400, NOW)).toBe('0.4 s ago');
    expect(ago(NOW - 45_000, NOW)).toBe('45 s ago');
    expect(ago(NOW - 600_000, NOW)).toBe('10 min ago');
    expect(ago(null, NOW)).toBe('never');
    expect(escapeHtml(`<img src=x onerror="a('b')">&`)).toBe(
      '&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;',
    );
  });
});

describe('charts', () => {
  it('draw the newest value at the right edge, scaled to the top, and break at missing values', () => {
    expect(linePath([0, 5, 10], 100, 10)).toBe('M0 10L50 5L100 0');
    expect(linePath([10], 100, 10, { points: 3 })).toBe('M100 0');
    expect(linePath([4, null, 4], 100, 10, { max: 8 })).toBe('M0 5M100 5');
    expect(sparkline([])).not.toContain('<path');
    expect(sparkline([1, 2, 3])).toContain('<path');
  });

  it('describe the IPv4 ID histogram: bins as ID ranges, the fullest bin, evenness', () => {
    expect(binRange(0)).toEqual([0, 255]);
    expect(binRange(255)).toEqual([65280, 65535]);
    expect(ipidStats(new Array(256).fill(0))).toBeNull();
    const uniform = ipidStats(new Array(256).fill(7))!;
    expect(uniform.evenness).toBeCloseTo(1, 10);
    expect(uniform.peakOverUniform).toBeCloseTo(1, 10);
    const skewed = new Array(256).fill(1);
    skewed[0] = 256 + 1; // half the frames carry IDs 0..255 (ID 0 with DF set, as many stacks send)
    const stats = ipidStats(skewed)!;
    expect(stats).toMatchObject({ peakBin: 0, emptyBins: 0 });
    expect(stats.peakShare).toBeCloseTo(257 / 512, 10);
    expect(stats.peakOverUniform).toBeCloseTo(128.5, 5);
    expect(stats.evenness).toBeGreaterThan(0.6); // half the entropy of 8 bits plus the other half spread evenly
    expect(stats.evenness).toBeLessThan(0.65);
    const svg = ipidHistogram(skewed);
    expect(svg.match(/<rect /g)).toHaveLength(256);
    expect(svg).toContain('IDs 0–255: 257 frames (50.20 %)');
    expect(svg).toContain('class="uniform"');
  });

  it('span at least a minute and at most five', () => {
    expect([plotPoints(3), plotPoints(200), plotPoints(5000)]).toEqual([60, 200, 300]);
  });
});

describe('sections', () => {
  it('mark a timed-out node as such, with its time, and leave its rates out', () => {
    const html = nodesView(
      snapshot({
        nodes: [
          node(11),
          node(13, { state: 'timed out', control: null, rates: null, share: null, departedMs: NOW - 2000 }),
        ],
      }),
      [],
      NOW,
    );
    const row = html.match(/<tr class="gone" data-node="13">.*?<\/tr>/)?.[0] ?? '';
    expect(row).toContain('timed out');
    expect(row).not.toContain('capturing');
    expect(html.match(/<tr class="" data-node="11">.*?<\/tr>/)?.[0]).toContain('capturing');
  });

  it('say where each node selects and why, in amber when auto fell back', () => {
    const html = nodesView(
      snapshot({
        nodes: [
          node(11),
          node(12, { selection: { stage: 'user', reason: 'auto-no-kernel' } }),
          node(13, { selection: null }),
        ],
      }),
      [],
      NOW,
    );
    const row = (id: number) => html.match(new RegExp(`data-node="${id}">.*?</tr>`))?.[0] ?? '';
    expect(row(11)).toContain(
      '<td class="stage" title="--selection auto: the best stage worked">xdp (native)<span class="why">auto</span></td>',
    );
    expect(row(12)).toMatch(
      /<td class="stage warn" title="[^"]*kernel refused[^"]*">user space<span class="why">auto: kernel refused<\/span><\/td>/,
    );
    expect(row(13)).toContain('<td class="stage dim" title="the agent does not report its stage">—</td>');
  });

  it('make drops stand out: a rate in red, an old total in amber, the total on hover', () => {
    const html = nodesView(
      snapshot({
        nodes: [
          node(11, {
            rates: counts({ seen: 1, ringDrops: 12 }),
            totals: counts({ ringDrops: 99, queueDrops: 3 }),
          }),
        ],
      }),
      [],
      NOW,
    );
    expect(html).toContain('<td class="num bad" title="total 99">12</td>');
    expect(html).toContain('<td class="num warn" title="total 3">0</td>');
    expect(html).toContain('drops counted');
  });

  it('show a coverage anomaly with its reason, escaped', () => {
    const s = snapshot({
      coverage: {
        epoch: 9,
        status: 'anomaly',
        anomaly: 'gap',
        reason: 'epoch 9: <b>3</b> frames had no owner',
        frames: 10,
        uncovered: 3,
        duplicated: 0,
      },
    });
    expect(headerView(s, { state: 'live', lastMessageMs: NOW }, NOW)).toContain('✗ gap');
    const html = clusterView(s, NOW);
    expect(html).toContain('Coverage anomaly (gap)');
    expect(html).toContain('epoch 9: &lt;b&gt;3&lt;/b&gt; frames had no owner');
  });

  it('on a standby say who is active and link to its dashboard', () => {
    const s = snapshot(
      {},
      {
        role: 'standby',
        active: {
          id: 2,
          self: false,
          control: { ip: '198.18.0.201', port: 7400 },
          dashboard: { ip: '198.18.0.201', port: 8080 },
        },
        lastSyncMs: NOW - 200,
      },
    );
    const html = bannerView(s);
    expect(html).toContain('The active coordinator is <b>2</b> at 198.18.0.201:7400');
    expect(html).toContain('href="http://198.18.0.201:8080/"');
    expect(bannerView(snapshot())).toBe('');
    expect(bannerView(snapshot({}, { role: 'candidate', active: null }))).toContain(
      'knows no active coordinator',
    );
  });

  it('compare every node’s share with the ideal 1/N', () => {
    const html = shareView(snapshot({ nodes: [node(11, { share: 0.75 }), node(12, { share: 0.25 })] }));
    expect(html).toContain('ideal <b>50.0 %</b>');
    expect(html).toContain('<b class="bad">1.50×</b>');
    expect(shareView(snapshot({ nodes: [node(11, { share: null, rates: null })] }))).toContain(
      'No node owns traffic',
    );
  });

  it('explain an empty IPv4 ID histogram in round-robin, and draw one otherwise', () => {
    const empty = { frames: 0, bins: new Array(256).fill(0) };
    const rr = snapshot(
      { ipid: { windowS: 60, recent: empty, sinceStart: empty, nodes: [] } },
      { mode: 'round-robin' },
    );
    expect(ipidView(rr, { ipidWindow: 'recent', ipidScale: 'linear' })).toContain(
      'Round-robin parses no frame',
    );
    const drawn = ipidView(snapshot(), { ipidWindow: 'recent', ipidScale: 'log' });
    expect(drawn).toContain('<svg class="histogram"');
    expect(drawn).toContain('evenness');
  });

  it('list events newest first with their times, escaped', () => {
    const events = [
      { atMs: NOW - 5000, kind: 'join', text: 'capture 11 joined' },
      { atMs: NOW, kind: 'timeout', text: 'capture <13> silent' },
    ];
    const html = eventsView(snapshot({ events: events as DashboardSnapshot['events'] }));
    expect(html.indexOf('capture &lt;13&gt; silent')).toBeLessThan(html.indexOf('capture 11 joined'));
    expect(html).toContain('pill bad">timeout');
  });
});
