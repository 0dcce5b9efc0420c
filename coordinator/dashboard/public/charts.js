// Small inline SVG charts as markup strings: sparklines, a line chart of several series, and
// the IPv4 ID histogram. Pure functions of numbers (no DOM, no chart library), so the page
// renders them with innerHTML and the tests read them as text.
import { count, escapeHtml, percent } from './format.js';

const r1 = (x) => Math.round(x * 10) / 10;

/**
 * The SVG path of `values` (null = no data: the line breaks there) in a width × height box,
 * newest value at the right edge, `points` slots wide (default: as many as values), scaled so
 * that `max` (default: the largest value, at least 1) touches the top.
 * @param {Array<number | null | undefined>} values
 * @param {number} width
 * @param {number} height
 * @param {{ points?: number, max?: number }} [scale]
 */
export function linePath(values, width, height, { points = values.length, max } = {}) {
  const top = Math.max(max ?? Math.max(0, ...values.filter((v) => v !== null && v !== undefined)), 1e-9);
  const step = points > 1 ? width / (points - 1) : 0;
  const offset = points - values.length;
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null || v === undefined) {
      pen = false;
      return;
    }
    const x = r1((offset + i) * step);
    const y = r1(height - (Math.min(v, top) / top) * height);
    d += `${pen ? 'L' : 'M'}${x} ${y}`;
    pen = true;
  });
  return d;
}

/** A sparkline: a line with a faint area under it. */
export function sparkline(values, { width = 120, height = 28, color = 'var(--accent)', points, max } = {}) {
  const d = linePath(values, width, height - 2, { points, max });
  if (!d)
    return `<svg class="spark" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-hidden="true"></svg>`;
  const first = d.match(/^M([\d.]+)/)?.[1] ?? '0';
  const last = d.match(/([\d.]+) [\d.]+$/)?.[1] ?? String(width);
  const area = `${d}L${last} ${height}L${first} ${height}Z`;
  return (
    `<svg class="spark" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-hidden="true">` +
    `<path d="${area}" fill="${color}" fill-opacity="0.12" stroke="none"/>` +
    `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5" stroke-linejoin="round" transform="translate(0 1)"/></svg>`
  );
}

/**
 * Several series on one time axis (same scale), with three grid lines and the scale's top
 * value written at the top left. series: [{ values, color, label }].
 */
export function lineChart(series, { width = 560, height = 120, points, unit = '/s' } = {}) {
  const max = Math.max(1, ...series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined)));
  const grid = [0.25, 0.5, 0.75]
    .map((f) => `<line x1="0" x2="${width}" y1="${r1(height * f)}" y2="${r1(height * f)}" class="grid"/>`)
    .join('');
  const lines = series
    .map(
      (s) =>
        `<path d="${linePath(s.values, width, height - 2, { points, max })}" fill="none" stroke="${s.color}" stroke-width="1.6" stroke-linejoin="round" transform="translate(0 1)"><title>${escapeHtml(s.label)}</title></path>`,
    )
    .join('');
  return (
    `<svg class="chart" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="rates over time">` +
    `${grid}<line x1="0" x2="${width}" y1="${height - 0.5}" y2="${height - 0.5}" class="axis"/>${lines}</svg>` +
    `<div class="chart-scale">${escapeHtml(count(max))}${escapeHtml(unit)}</div>`
  );
}

/** Bins of the IPv4 ID histogram as IDs: bin i holds IDs 256·i … 256·i+255. */
export function binRange(i, bins = 256) {
  const width = 65536 / bins;
  return [i * width, (i + 1) * width - 1];
}

/**
 * The IPv4 Identification histogram: one bar per bin over 0..65535, a dashed line where every
 * bar would be if the IDs were uniform, and a title per bar. `scale` 'log' draws log10(1+n).
 */
export function ipidHistogram(bins, { width = 720, height = 150, scale = 'linear' } = {}) {
  const total = bins.reduce((a, b) => a + b, 0);
  const f = scale === 'log' ? (n) => Math.log10(1 + n) : (n) => n;
  const top = Math.max(f(Math.max(...bins)), 1e-9);
  const barWidth = width / bins.length;
  const bars = bins
    .map((n, i) => {
      if (n === 0) return '';
      const h = Math.max(1, (f(n) / top) * height);
      const [lo, hi] = binRange(i, bins.length);
      return `<rect x="${r1(i * barWidth)}" y="${r1(height - h)}" width="${r1(Math.max(barWidth - 0.3, 0.6))}" height="${r1(h)}"><title>IDs ${lo}–${hi}: ${count(n)} frames (${percent(n / total, 2)})</title></rect>`;
    })
    .join('');
  const uniform = total / bins.length;
  const uniformY = r1(height - (f(uniform) / top) * height);
  const ticks = [0, 16384, 32768, 49152, 65536]
    .map((id) => {
      const x = r1((id / 65536) * width);
      const anchor = id === 0 ? 'start' : id === 65536 ? 'end' : 'middle';
      return `<line x1="${x}" x2="${x}" y1="${height}" y2="${height + 4}" class="axis"/><text x="${x}" y="${height + 15}" text-anchor="${anchor}">${id === 65536 ? 65535 : id}</text>`;
    })
    .join('');
  return (
    `<svg class="histogram" viewBox="0 0 ${width} ${height + 18}" role="img" aria-label="IPv4 ID histogram">` +
    `<g class="bars">${bars}</g>` +
    (total > 0
      ? `<line x1="0" x2="${width}" y1="${uniformY}" y2="${uniformY}" class="uniform"><title>uniform: ${count(uniform)} frames per bin</title></line>`
      : '') +
    `<line x1="0" x2="${width}" y1="${height + 0.5}" y2="${height + 0.5}" class="axis"/>${ticks}</svg>`
  );
}

/**
 * What the histogram says in numbers: the fullest bin and its part of all frames, how many
 * times the uniform share that is, and the normalised entropy (1 = uniform, 0 = one bin).
 */
export function ipidStats(bins) {
  const total = bins.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let peak = 0;
  bins.forEach((n, i) => {
    if (n > bins[peak]) peak = i;
  });
  const entropy = -bins.reduce((h, n) => (n > 0 ? h + (n / total) * Math.log2(n / total) : h), 0);
  return {
    frames: total,
    peakBin: peak,
    peakShare: bins[peak] / total,
    peakOverUniform: (bins[peak] / total) * bins.length,
    evenness: entropy / Math.log2(bins.length),
    emptyBins: bins.filter((n) => n === 0).length,
  };
}
