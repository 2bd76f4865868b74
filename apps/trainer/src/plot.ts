/**
 * d2l's training plot as an SVG: train loss, train acc and test acc against epochs, on one
 * axis from 0 to max(1, max loss). No dependencies: a few lines of SVG.
 */
export interface EpochRecord {
  epoch: number;
  loss: number;
  trainAcc: number;
  testAcc: number;
}

export function plotSvg(history: readonly EpochRecord[], title: string): string {
  const W = 480;
  const H = 320;
  const m = { l: 48, r: 120, t: 32, b: 40 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const maxEpoch = Math.max(1, ...history.map((h) => h.epoch));
  const maxY = Math.max(1, ...history.map((h) => h.loss).filter(Number.isFinite));
  const x = (e: number) => m.l + (e / maxEpoch) * pw;
  const y = (v: number) => m.t + ph - (Math.min(v, maxY) / maxY) * ph;
  const series: [keyof EpochRecord, string, string][] = [
    ['loss', 'train loss', '#1f77b4'],
    ['trainAcc', 'train acc', '#d62728'],
    ['testAcc', 'test acc', '#2ca02c'],
  ];
  const esc = (s: string) => s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l + pw / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}" stroke="black"/>`,
    `<text x="${m.l + pw / 2}" y="${H - 8}" text-anchor="middle">epoch</text>`,
  ];
  for (let e = 0; e <= maxEpoch; e++) {
    if (maxEpoch > 10 && e % Math.ceil(maxEpoch / 10) !== 0) continue;
    parts.push(`<text x="${x(e)}" y="${m.t + ph + 16}" text-anchor="middle">${e}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const v = (maxY * i) / 5;
    parts.push(`<line x1="${m.l}" y1="${y(v)}" x2="${m.l + pw}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  series.forEach(([key, label, color], i) => {
    const pts = history.map((h) => `${x(h.epoch).toFixed(1)},${y(h[key] as number).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`);
    for (const h of history) parts.push(`<circle cx="${x(h.epoch).toFixed(1)}" cy="${y(h[key] as number).toFixed(1)}" r="2.5" fill="${color}"/>`);
    const ly = m.t + 12 + i * 18;
    parts.push(`<line x1="${W - m.r + 12}" y1="${ly - 4}" x2="${W - m.r + 32}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${W - m.r + 38}" y="${ly}">${label}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
