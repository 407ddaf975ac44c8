/** A small SVG writer for the latency picture: one CDF panel per workload, log-scaled x. */
export interface Series {
  name: string;
  samples: number[];
}

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e'];
const PANEL_W = 720;
const PANEL_H = 260;
const MARGIN = { left: 60, right: 160, top: 34, bottom: 40 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function panel(title: string, series: Series[], offsetY: number): string {
  const all = series.flatMap((s) => s.samples).filter((v) => v > 0);
  if (all.length === 0) return '';
  const lo = Math.log10(Math.min(...all));
  const hi = Math.log10(Math.max(...all));
  const minExp = Math.floor(lo);
  const maxExp = Math.max(Math.ceil(hi), minExp + 1);
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  const x = (ms: number) => MARGIN.left + ((Math.log10(ms) - minExp) / (maxExp - minExp)) * plotW;
  const y = (fraction: number) => offsetY + MARGIN.top + (1 - fraction) * plotH;
  const parts: string[] = [
    `<text x="${MARGIN.left}" y="${offsetY + 20}" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<rect x="${MARGIN.left}" y="${y(1)}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  ];
  for (let exp = minExp; exp <= maxExp; exp += 1) {
    const px = x(10 ** exp);
    parts.push(`<line x1="${px}" y1="${y(1)}" x2="${px}" y2="${y(0)}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${px}" y="${y(0) + 16}" font-size="11" text-anchor="middle">${10 ** exp >= 1 ? 10 ** exp : (10 ** exp).toFixed(-exp)} ms</text>`,
    );
  }
  for (const fraction of [0, 0.5, 0.9, 0.99, 1]) {
    parts.push(
      `<line x1="${MARGIN.left}" y1="${y(fraction)}" x2="${MARGIN.left + plotW}" y2="${y(fraction)}" stroke="#eee"/>`,
    );
    parts.push(
      `<text x="${MARGIN.left - 6}" y="${y(fraction) + 4}" font-size="11" text-anchor="end">${fraction}</text>`,
    );
  }
  series.forEach((s, index) => {
    const sorted = s.samples.filter((v) => v > 0).sort((a, b) => a - b);
    if (sorted.length === 0) return;
    // Thin out long series: ~400 points draw the same curve.
    const step = Math.max(1, Math.floor(sorted.length / 400));
    const points: string[] = [];
    for (let i = 0; i < sorted.length; i += step)
      points.push(`${x(sorted[i]!).toFixed(1)},${y((i + 1) / sorted.length).toFixed(1)}`);
    points.push(`${x(sorted.at(-1)!).toFixed(1)},${y(1).toFixed(1)}`);
    const color = COLORS[index % COLORS.length]!;
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(' ')}"/>`,
    );
    const ly = offsetY + MARGIN.top + 14 + index * 18;
    parts.push(
      `<line x1="${PANEL_W - MARGIN.right + 12}" y1="${ly - 4}" x2="${PANEL_W - MARGIN.right + 32}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`,
    );
    parts.push(
      `<text x="${PANEL_W - MARGIN.right + 38}" y="${ly}" font-size="12">${escapeXml(s.name)} (n=${sorted.length})</text>`,
    );
  });
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${y(0) + 32}" font-size="11" text-anchor="middle">latency (log scale); y: fraction of samples ≤ x</text>`,
  );
  return parts.join('\n');
}

/** Stacked CDF panels; panels without samples are left out. */
export function latencySvg(panels: Array<{ title: string; series: Series[] }>): string {
  const drawn = panels.filter((p) => p.series.some((s) => s.samples.length > 0));
  const height = Math.max(1, drawn.length) * PANEL_H;
  const body = drawn.map((p, index) => panel(p.title, p.series, index * PANEL_H)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${PANEL_W}" height="${height}" viewBox="0 0 ${PANEL_W} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${body}
</svg>
`;
}
