// The dashboard page: listens to the coordinator's snapshots on the WebSocket at ./live
// (two a second), keeps the rate timeline (a sample a second), and redraws every section from
// the newest snapshot. Reconnects by itself; a coordinator that went away shows as disconnected.
import {
  TIMELINE_POINTS,
  analyzersView,
  bannerView,
  clusterView,
  eventsView,
  headerView,
  ipidView,
  nodesView,
  ratesView,
  shareView,
} from './views.js';

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 5000;

const state = {
  snapshot: null,
  timeline: [],
  connection: { state: 'connecting', lastMessageMs: null },
  ui: { ipidWindow: 'recent', ipidScale: 'linear' },
};

const sections = {
  top: (s, now) => headerView(s, state.connection, now),
  banner: (s) => bannerView(s),
  cluster: (s, now) => clusterView(s, now),
  rates: (s) => ratesView(s, state.timeline),
  nodes: (s, now) => nodesView(s, state.timeline, now),
  share: (s) => shareView(s),
  ipid: (s) => ipidView(s, state.ui),
  analyzers: (s, now) => analyzersView(s, now),
  events: (s) => eventsView(s),
};

function render() {
  const s = state.snapshot;
  if (!s) return;
  const now = Date.now();
  for (const [id, view] of Object.entries(sections)) {
    const html = view(s, now);
    const element = document.getElementById(id);
    // Unchanged sections are left alone, so a hovered cell keeps its tooltip.
    if (element && element.dataset.html !== html) {
      element.innerHTML = html;
      element.dataset.html = html;
    }
  }
  document.body.dataset.role = s.coordinator.role;
  document.body.dataset.connection = state.connection.state;
  document.title = `dicap · coordinator ${s.coordinator.id} (${s.coordinator.role})${s.coverage?.status === 'anomaly' ? ' · ANOMALY' : ''}`;
}

function receive(message) {
  const s = JSON.parse(message);
  if (s.timeline) state.timeline = [...s.timeline];
  else if (s.sampled) state.timeline.push(s.sample);
  if (state.timeline.length > TIMELINE_POINTS)
    state.timeline.splice(0, state.timeline.length - TIMELINE_POINTS);
  state.snapshot = s;
  state.connection = { state: 'live', lastMessageMs: Date.now() };
  render();
}

function connect(delayMs = RECONNECT_MIN_MS) {
  const url = new URL('live', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  let opened = false;
  socket.addEventListener('open', () => (opened = true));
  socket.addEventListener('message', (event) => receive(event.data));
  socket.addEventListener('close', () => {
    state.connection = { ...state.connection, state: 'disconnected' };
    render();
    const next = opened ? RECONNECT_MIN_MS : Math.min(delayMs * 2, RECONNECT_MAX_MS);
    setTimeout(() => connect(next), next);
  });
}

document.addEventListener('click', (event) => {
  const button = event.target.closest('[data-action]');
  if (!button) return;
  if (button.dataset.action === 'ipid-window') state.ui.ipidWindow = button.dataset.value;
  if (button.dataset.action === 'ipid-scale') state.ui.ipidScale = button.dataset.value;
  render();
});

// "updated 0.4 s ago" and the late/stale markers move on between snapshots, and a silent
// socket shows as stale.
setInterval(() => {
  if (state.connection.state === 'live' && Date.now() - state.connection.lastMessageMs > 5000)
    state.connection.state = 'stale';
  render();
}, 1000);

connect();
