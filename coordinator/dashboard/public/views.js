// The dashboard's sections as HTML strings, each a pure function of the coordinator's
// snapshot (see coordinator/dashboard/snapshot.ts), the rate timeline, the time now and the
// page's own choices. app.js puts them into the page; the tests read them as text.
import { binRange, ipidHistogram, ipidStats, lineChart, sparkline } from './charts.js';
import { ago, clock, count, endpoint, escapeHtml as h, percent, rate } from './format.js';

/** Plot slots: five minutes of one-second samples at most. */
export const TIMELINE_POINTS = 300;
/** A node's sparkline shows the last two minutes at most. */
export const SPARK_POINTS = 120;
/** A young timeline is drawn over at least this many slots, so a few samples do not fill the plot. */
const MIN_POINTS = 60;

/** How many one-second slots a plot spans: the samples there are, within [MIN_POINTS, most]. */
export function plotPoints(samples, most = TIMELINE_POINTS) {
  return Math.min(most, Math.max(MIN_POINTS, samples));
}

function span(points) {
  return points >= 120 ? `${Math.round(points / 60)} min` : `${points} s`;
}

const STATE_CLASS = {
  capturing: 'ok',
  up: 'ok',
  active: 'ok',
  joining: 'warn',
  late: 'warn',
  standby: 'info',
  candidate: 'warn',
  'timed out': 'bad',
  left: 'muted',
  gone: 'muted',
};
const EVENT_CLASS = {
  join: 'ok',
  leave: 'muted',
  timeout: 'bad',
  topology: 'info',
  anomaly: 'bad',
  coverage: 'ok',
  resync: 'warn',
  role: 'accent',
  selection: 'warn',
};

/** A node's selection stage (SELECTION_STAGE) and why (SELECTION_REASON), as the nodes table says them. */
const STAGE_TEXT = {
  'xdp-native': 'xdp (native)',
  'xdp-generic': 'xdp (generic)',
  socket: 'socket filter',
  user: 'user space',
};
const REASON_TEXT = {
  asked: ['--selection', 'asked for with --selection'],
  distribute: ['--distribute', '--distribute runs the selection at XDP'],
  auto: ['auto', '--selection auto: the best stage worked'],
  'auto-no-xdp': ['auto: XDP failed', '--selection auto: XDP did not work (the agent’s log says why)'],
  'auto-no-kernel': [
    'auto: kernel refused',
    '--selection auto: the kernel refused the program (the agent’s log says why); every frame is copied to user space',
  ],
  'capture-file': ['capture file', 'a capture file has no kernel stage'],
  filter: ['--filter', '--selection auto with --filter: the filter runs in user space, before the selection'],
};

/** The stage cell, the reason under the stage (the table is wide already): amber when auto had to fall back. */
function stageCell(selection) {
  if (!selection) return '<td class="stage dim" title="the agent does not report its stage">—</td>';
  const [short, long] = REASON_TEXT[selection.reason] ?? [selection.reason, ''];
  const fellBack = selection.reason === 'auto-no-xdp' || selection.reason === 'auto-no-kernel';
  return `<td class="stage${fellBack ? ' warn' : ''}" title="${h(long)}">${h(STAGE_TEXT[selection.stage] ?? selection.stage)}<span class="why">${h(short)}</span></td>`;
}

const LIVE_TEXT = { connecting: 'connecting…', disconnected: 'disconnected — retrying', stale: 'no update' };

const pill = (text, cls) => `<span class="pill ${cls}">${h(text)}</span>`;
const kv = (label, value) =>
  `<div class="kv"><span class="k">${h(label)}</span><span class="v">${value}</span></div>`;

function dropTotal(t) {
  return t ? t.ringDrops + t.queueDrops + t.sendFailed + t.noAnalyzer : 0;
}

/** The top bar: who this coordinator is, the cluster's verdict, and whether the page is live. */
export function headerView(s, connection, nowMs) {
  const c = s.coordinator;
  const verdict = !s.coverage
    ? pill(c.role === 'active' ? 'no epoch judged yet' : 'the active judges coverage', 'muted')
    : s.coverage.status === 'exactly-once'
      ? pill('✓ exactly-once', 'ok')
      : pill(`✗ ${s.coverage.anomaly ?? 'anomaly'}`, 'bad');
  const live =
    connection.state === 'live'
      ? `<span class="live ok"><i></i>live · ${h(ago(connection.lastMessageMs, nowMs))}</span>`
      : `<span class="live bad"><i></i>${h(LIVE_TEXT[connection.state] ?? connection.state)}${connection.lastMessageMs ? ` · last update ${h(ago(connection.lastMessageMs, nowMs))}` : ''}</span>`;
  return (
    `<div class="brand">dicap<span>coordinator ${h(c.id)}</span></div>` +
    `<div class="facts">${pill(c.role, STATE_CLASS[c.role] ?? 'muted')}<span>term <b>${h(c.term)}</b></span><span>epoch <b>${h(c.epoch)}</b></span><span>mode <b>${h(c.mode)}</b></span><span class="dim">${h(endpoint(c.control))}</span></div>` +
    `<div class="verdict">${verdict}${live}</div>`
  );
}

/** On a standby (or while no active is known): who steers, and a link to its dashboard. */
export function bannerView(s) {
  const c = s.coordinator;
  if (c.role === 'active') return '';
  const a = c.active;
  if (!a)
    return `<div class="banner warn">This coordinator is a <b>${h(c.role)}</b> and knows no active coordinator yet: it listens, and stands for election if none appears.</div>`;
  const link = a.dashboard
    ? `<a href="http://${h(a.dashboard.ip)}:${h(a.dashboard.port)}/">open the active coordinator's dashboard → ${h(endpoint(a.dashboard))}</a>`
    : `<span class="dim">(its dashboard address is unknown: it serves none, or has not said)</span>`;
  return `<div class="banner info">This coordinator is a <b>standby</b>. The active coordinator is <b>${h(a.id)}</b> at ${h(endpoint(a.control))}; last sync ${h(ago(c.lastSyncMs, s.atMs))}. ${link}</div>`;
}

/** The cluster at a glance: coverage verdict, coordinators, epochs. */
export function clusterView(s, nowMs) {
  const c = s.coordinator;
  const capturing = s.nodes.filter((n) => n.state === 'capturing').length;
  const present = s.nodes.filter((n) => !['timed out', 'left', 'gone'].includes(n.state)).length;
  const analyzersUp = s.analyzers.filter((a) => a.state !== 'gone').length;
  const cov = s.coverage;
  const coverage =
    !cov && c.role !== 'active'
      ? `<div class="coverage muted">Coverage is judged by the active coordinator, to which the nodes send their ledgers; see its dashboard.</div>`
      : !cov
        ? `<div class="coverage muted">No epoch has been judged yet: the ledger judges an epoch once the next one has been in force for a heartbeat interval.</div>`
        : cov.status === 'exactly-once'
          ? `<div class="coverage ok"><b>Exactly-once coverage.</b> Epoch ${h(cov.epoch)}: ${h(count(cov.frames))} frames, each captured by exactly one node.</div>`
          : `<div class="coverage bad"><b>Coverage anomaly (${h(cov.anomaly ?? '?')}).</b> ${h(cov.reason ?? '')}</div>`;
  const active = c.active
    ? `${h(c.active.id)}${c.active.self ? ' (this one)' : ''}`
    : '<span class="dim">none known</span>';
  const peers =
    c.peers.length === 0
      ? '<span class="dim">none configured</span>'
      : c.peers
          .map((p) => {
            const isActive = c.active && c.active.id === p.id && !c.active.self;
            const heard =
              c.role === 'active' ? `ack ${ago(p.lastHeardMs, nowMs)}` : `heard ${ago(p.lastHeardMs, nowMs)}`;
            return `<div class="peer"><b>${h(p.id)}</b> ${h(endpoint(p.control))} ${isActive ? pill('active', 'ok') : pill('standby', 'info')}<span class="dim">${h(heard)}</span></div>`;
          })
          .join('');
  const strip = [...s.epochs]
    .reverse()
    .map(
      (e) =>
        `<i class="epoch ${e.status === 'exactly-once' ? 'ok' : e.status === 'anomaly' ? 'bad' : 'open'}" title="${h(`epoch ${e.epoch}: ${e.status}, ${e.frames} frames, Σ owned ${e.ownedSum}${e.reason ? ` — ${e.reason}` : ''}`)}"></i>`,
    )
    .join('');
  const t = s.ledgerTotals;
  return (
    `<h2>Cluster</h2>${coverage}` +
    `<div class="kvs">${kv('active coordinator', active)}${kv('term', h(c.term))}${kv('epoch', h(c.epoch))}${kv('selection', h(c.mode))}` +
    `${kv('capture nodes', `${capturing} capturing of ${present}`)}${kv('analyzers', h(analyzersUp))}` +
    `${kv('heartbeat / timeout', `${h(c.heartbeatIntervalMs)} ms / ${h(c.nodeTimeoutMs)} ms`)}${kv(c.role === 'active' ? 'standbys' : 'coordinators', `<div class="peers">${peers}</div>`)}</div>` +
    `<div class="epochs"><span class="k">epochs (newest right)</span><div class="strip">${strip || '<span class="dim">none yet</span>'}</div></div>` +
    `<div class="totals"><span>uncovered <b class="${t.uncovered > 0 ? 'bad' : ''}">${h(count(t.uncovered))}</b></span><span>duplicated <b class="${t.duplicated > 0 ? 'bad' : ''}">${h(count(t.duplicated))}</b></span><span>anomalous epochs <b class="${t.anomalies > 0 ? 'bad' : ''}">${h(t.anomalies)}</b></span><span>failovers <b>${h(c.counters.failovers)}</b></span></div>`
  );
}

const RATE_SERIES = [
  ['seen', 'on the link (seen)', 'var(--blue)'],
  ['owned', 'owned, Σ nodes', 'var(--green)'],
  ['exported', 'exported', 'var(--accent)'],
  ['received', 'received by analyzers', 'var(--violet)'],
];

/** The cluster's rates over the last minutes, and its drops. */
export function ratesView(s, timeline) {
  const legend = RATE_SERIES.map(
    ([key, label, color]) =>
      `<span class="legend"><i style="background:${color}"></i>${h(label)} <b>${h(rate(s.sample[key]))}</b></span>`,
  ).join('');
  const points = plotPoints(timeline.length);
  const recent = timeline.slice(-points);
  const series = RATE_SERIES.map(([key, label, color]) => ({
    label,
    color,
    values: recent.map((p) => p[key]),
  }));
  const drops = recent.map((p) => p.drops);
  return (
    `<h2>Rates <span class="dim">last ${span(points)}</span></h2><div class="legends">${legend}</div>` +
    `<div class="plot">${lineChart(series, { points })}</div>` +
    `<div class="legends"><span class="legend"><i style="background:var(--red)"></i>drops, every layer <b class="${s.sample.drops > 0 ? 'bad' : ''}">${h(rate(s.sample.drops))}</b></span></div>` +
    `<div class="plot small">${lineChart([{ label: 'drops', color: 'var(--red)', values: drops }], { points, height: 48 })}</div>`
  );
}

function rateCell(rates, totals, key, { alarm = false } = {}) {
  const r = rates?.[key];
  const total = totals?.[key];
  const cls = alarm && r > 0 ? 'bad' : alarm && total > 0 ? 'warn' : '';
  return `<td class="num ${cls}" title="${h(total === undefined ? 'no report' : `total ${total.toLocaleString('en')}`)}">${h(r === undefined ? '—' : count(r))}</td>`;
}

/** Every capture node: where it is, whether it is alive, and its rates and drops at each layer. */
export function nodesView(s, timeline, nowMs) {
  if (s.nodes.length === 0)
    return `<h2>Capture nodes</h2><div class="empty">No capture node has joined this coordinator yet.</div>`;
  const sparkPoints = plotPoints(timeline.length, SPARK_POINTS);
  const rows = s.nodes
    .map((n) => {
      const gone = ['timed out', 'left', 'gone'].includes(n.state);
      const heartbeat = gone
        ? n.departedMs
          ? `since ${clock(n.departedMs)}`
          : 'removed'
        : ago(n.lastHeardMs, nowMs);
      const loss = n.received
        ? n.received.lostDatagrams / Math.max(1, n.received.datagrams + n.received.lostDatagrams)
        : null;
      const lossCell = n.received
        ? `<td class="num ${n.received.lostDatagrams > 0 ? 'bad' : ''}" title="${h(`${n.received.lostDatagrams} of ${n.received.datagrams + n.received.lostDatagrams} datagrams lost on the way to the analyzers`)}">${h(n.received.lostDatagrams > 0 ? percent(loss, 2) : '0')}</td>`
        : '<td class="num dim">—</td>';
      const spark = sparkline(
        timeline.slice(-sparkPoints).map((p) => p.nodes[n.nodeId]?.seen ?? null),
        { width: 110, height: 24, points: sparkPoints, color: 'var(--blue)' },
      );
      return (
        `<tr class="${gone ? 'gone' : ''}" data-node="${h(n.nodeId)}">` +
        `<td class="id">${h(n.nodeId)}</td><td class="dim">${h(endpoint(n.control))}</td><td class="num">${h(n.position ?? '—')}</td>` +
        `<td>${pill(n.state, STATE_CLASS[n.state] ?? 'muted')}</td>${stageCell(n.selection)}<td class="dim">${h(heartbeat)}</td>` +
        `<td class="num ${n.behind ? 'warn' : ''}" title="${n.behind ? 'still applies an older epoch: it missed the current topology' : ''}">${h(n.appliedEpoch ?? '—')}</td>` +
        rateCell(n.rates, n.totals, 'seen') +
        rateCell(n.rates, n.totals, 'owned') +
        rateCell(n.rates, n.totals, 'exported') +
        rateCell(n.rates, n.totals, 'ringDrops', { alarm: true }) +
        rateCell(n.rates, n.totals, 'queueDrops', { alarm: true }) +
        rateCell(n.rates, n.totals, 'sendFailed', { alarm: true }) +
        rateCell(n.rates, n.totals, 'noAnalyzer', { alarm: true }) +
        `<td class="num">${h(n.received?.recordsRate === null || n.received?.recordsRate === undefined ? '—' : count(n.received.recordsRate))}</td>${lossCell}` +
        `<td class="spark-cell">${spark}</td></tr>`
      );
    })
    .join('');
  const dropNote = s.nodes.some((n) => dropTotal(n.totals) > 0)
    ? '<span class="bad">drops counted — hover a cell for its total</span>'
    : '<span class="dim">no drops at any layer</span>';
  return (
    `<h2>Capture nodes <span class="dim">rates per second; hover for totals</span> ${dropNote}</h2>` +
    `<table class="nodes"><thead><tr><th>node</th><th>address</th><th>pos</th><th>state</th><th title="where the node drops the other nodes’ frames, and why there">selects in</th><th>heartbeat</th><th>epoch</th>` +
    `<th class="num">seen</th><th class="num">owned</th><th class="num">exported</th>` +
    `<th class="num" title="kernel ring full">ring drop</th><th class="num" title="export worker queue full">queue drop</th><th class="num" title="datagrams the kernel refused">send fail</th><th class="num" title="no analyzer in the topology">no analyzer</th>` +
    `<th class="num" title="records the analyzers received">received</th><th class="num" title="datagrams lost between node and analyzers">export loss</th><th>seen, last ${span(sparkPoints)}</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

/** How evenly the capture nodes share the load (their owned frames per second). */
export function shareView(s) {
  const nodes = s.nodes.filter((n) => n.share !== null);
  const header = `<h2>Load share <span class="dim">owned frames per second, by node</span></h2>`;
  if (nodes.length === 0)
    return `${header}<div class="empty">No node owns traffic right now; the shares show once frames flow.</div>`;
  const ideal = 1 / nodes.length;
  const scale = Math.max(ideal * 1.6, ...nodes.map((n) => n.share));
  const rows = nodes
    .map((n) => {
      const off = Math.abs(n.share - ideal) / ideal;
      const cls = off > 0.25 ? 'bad' : off > 0.1 ? 'warn' : 'ok';
      return (
        `<div class="share-row"><span class="label">node ${h(n.nodeId)}</span>` +
        `<div class="track"><div class="fill ${cls}" style="width:${((n.share / scale) * 100).toFixed(2)}%"></div><div class="ideal" style="left:${((ideal / scale) * 100).toFixed(2)}%"></div></div>` +
        `<span class="value">${h(percent(n.share))}</span><span class="dim rate">${h(rate(n.rates?.owned))}</span></div>`
      );
    })
    .join('');
  const busiest = Math.max(...nodes.map((n) => n.share)) / ideal;
  const note =
    s.coordinator.mode === 'ipid'
      ? 'ipid mode: the owner is a hash of the IPv4 ID, so a skewed ID histogram skews the load.'
      : s.coordinator.mode === 'flow'
        ? 'flow mode: whole connections per node; a few heavy flows make the split uneven.'
        : 'round-robin: frame k goes to node k mod N; the split is even by construction.';
  return `${header}<div class="shares">${rows}</div><div class="share-note"><span>ideal <b>${h(percent(ideal))}</b> each (marker)</span><span>busiest node carries <b class="${busiest > 1.25 ? 'bad' : busiest > 1.1 ? 'warn' : 'ok'}">${busiest.toFixed(2)}×</b> its share</span></div><div class="dim small">${h(note)}</div>`;
}

/** The link's IPv4 Identification values (DiCAP's Figure 7, live), with the page's choices of window and scale. */
export function ipidView(s, ui) {
  const which = ui.ipidWindow === 'sinceStart' ? s.ipid.sinceStart : s.ipid.recent;
  const toggles =
    `<span class="toggles"><button data-action="ipid-window" data-value="recent" class="${ui.ipidWindow !== 'sinceStart' ? 'on' : ''}">last ${h(s.ipid.windowS)} s</button>` +
    `<button data-action="ipid-window" data-value="sinceStart" class="${ui.ipidWindow === 'sinceStart' ? 'on' : ''}">since start</button>` +
    `<button data-action="ipid-scale" data-value="linear" class="${ui.ipidScale !== 'log' ? 'on' : ''}">linear</button>` +
    `<button data-action="ipid-scale" data-value="log" class="${ui.ipidScale === 'log' ? 'on' : ''}">log</button></span>`;
  const header = `<h2>IPv4 Identification <span class="dim">of every frame on the link, summed over the nodes</span>${toggles}</h2>`;
  if (s.coordinator.mode === 'round-robin' && which.frames === 0) {
    return `${header}<div class="empty">Round-robin parses no frame, so no IPv4 ID is counted. The histogram fills in ipid and flow mode.</div>`;
  }
  const stats = ipidStats(which.bins);
  if (!stats)
    return `${header}<div class="empty">No IPv4 frame counted ${ui.ipidWindow === 'sinceStart' ? 'yet' : `in the last ${h(s.ipid.windowS)} s`}.</div>`;
  const [lo, hi] = binRange(stats.peakBin, which.bins.length);
  const evenCls = stats.evenness < 0.8 ? 'bad' : stats.evenness < 0.95 ? 'warn' : 'ok';
  return (
    `${header}<div class="plot">${ipidHistogram(which.bins, { scale: ui.ipidScale === 'log' ? 'log' : 'linear' })}</div>` +
    `<div class="ipid-stats"><span>frames <b>${h(count(stats.frames))}</b></span>` +
    `<span>fullest bin IDs ${h(lo)}–${h(hi)}: <b class="${stats.peakOverUniform > 4 ? 'bad' : ''}">${h(percent(stats.peakShare))}</b> (${stats.peakOverUniform.toFixed(1)}× uniform)</span>` +
    `<span>evenness <b class="${evenCls}" title="entropy / 8 bits: 1 is uniform">${stats.evenness.toFixed(3)}</b></span><span>empty bins <b>${h(stats.emptyBins)}</b></span>` +
    `<span class="dim">dashed line: uniform · ${h(s.ipid.nodes.length)} nodes reporting</span></div>`
  );
}

/** Analyzers: what each received from every node, and the export loss on the way. */
export function analyzersView(s, nowMs) {
  if (s.analyzers.length === 0)
    return `<h2>Analyzers</h2><div class="empty">No analyzer has joined: capture nodes have nowhere to export.</div>`;
  const blocks = s.analyzers
    .map((a) => {
      const rows = a.sources
        .map((r) => {
          const loss = r.lostDatagrams / Math.max(1, r.datagrams + r.lostDatagrams);
          return `<tr><td class="id">${h(r.nodeId)}</td><td class="num">${h(rate(r.recordsRate))}</td><td class="num">${h(count(r.records))}</td><td class="num">${h(count(r.datagrams))}</td><td class="num ${r.lostDatagrams > 0 ? 'bad' : ''}">${h(count(r.lostDatagrams))}</td><td class="num ${r.lostDatagrams > 0 ? 'bad' : ''}">${h(percent(loss, 2))}</td></tr>`;
        })
        .join('');
      const table = rows
        ? `<table class="sources"><thead><tr><th>from node</th><th class="num">records/s</th><th class="num">records</th><th class="num">datagrams</th><th class="num">lost</th><th class="num">loss</th></tr></thead><tbody>${rows}</tbody></table>`
        : '<div class="empty small">No report yet (analyzers report every heartbeat interval).</div>';
      return `<div class="analyzer"><div class="analyzer-head"><b>analyzer ${h(a.nodeId)}</b> <span class="dim">${h(endpoint(a.data))}</span> ${pill(a.state, STATE_CLASS[a.state] ?? 'muted')} <span class="dim">heartbeat ${h(ago(a.lastHeardMs, nowMs))}</span></div>${table}</div>`;
    })
    .join('');
  return `<h2>Analyzers</h2>${blocks}`;
}

/** What happened, newest first. */
export function eventsView(s) {
  const rows = [...s.events]
    .reverse()
    .map(
      (e) =>
        `<li><time>${h(clock(e.atMs))}</time>${pill(e.kind, EVENT_CLASS[e.kind] ?? 'muted')}<span>${h(e.text)}</span></li>`,
    )
    .join('');
  return `<h2>Events <span class="dim">joins, leaves, timeouts, failovers, anomalies</span></h2><ul class="events">${rows || '<li class="dim">nothing yet</li>'}</ul>`;
}
