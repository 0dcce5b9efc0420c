// Numbers, rates, durations and times as an operator reads them at a glance. Pure functions,
// no DOM: the page's views use them and test/coordinator/dashboard-views.test.ts checks them.

const SUFFIXES = ['', 'k', 'M', 'G', 'T', 'P'];

/** A count: 0, 999, 1.23k, 45.6M (three significant digits above a thousand); '—' for null. */
export function count(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  if (abs < 1000) return Number.isInteger(n) ? String(n) : n.toFixed(abs < 10 ? 1 : 0);
  let tier = Math.min(Math.floor(Math.log10(abs) / 3), SUFFIXES.length - 1);
  let scaled = n / 1000 ** tier;
  // 999.95k rounds to 1000k: say 1.00M instead.
  if (Math.abs(Number(scaled.toPrecision(3))) >= 1000 && tier < SUFFIXES.length - 1) {
    tier += 1;
    scaled = n / 1000 ** tier;
  }
  return `${scaled.toPrecision(3)}${SUFFIXES[tier]}`;
}

/** A rate per second: '12.3k/s'; '—' when unknown. */
export function rate(n) {
  return n === null || n === undefined ? '—' : `${count(n)}/s`;
}

/** A fraction as a percentage: 0.1234 → '12.3 %'; '—' when unknown. */
export function percent(fraction, digits = 1) {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  return `${(fraction * 100).toFixed(digits)} %`;
}

/** How long ago: '0.4 s ago', '12 s ago', '3 min ago', '2 h ago'; 'never' for null. */
export function ago(thenMs, nowMs) {
  if (thenMs === null || thenMs === undefined) return 'never';
  const s = Math.max(0, (nowMs - thenMs) / 1000);
  if (s < 10) return `${s.toFixed(1)} s ago`;
  if (s < 120) return `${Math.round(s)} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** Local wall-clock time HH:MM:SS of a Unix time in ms. */
export function clock(ms) {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((v) => String(v).padStart(2, '0')).join(':');
}

/** ip:port, or '—'. */
export function endpoint(e) {
  return e ? `${e.ip}:${e.port}` : '—';
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe to put into HTML (element content or a quoted attribute). */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}
