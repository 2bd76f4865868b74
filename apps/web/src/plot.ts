/** A small line chart on a canvas: axes with nice ticks, several series, an optional reference line. */

export interface Series {
  label: string;
  color: string;
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  series: readonly Series[];
  /** Fixed y range (else from the data, starting at 0). */
  yMin?: number;
  yMax?: number;
  /** A horizontal reference line, e.g. chance accuracy. */
  reference?: { y: number; label: string };
  /** The x axis extends at least to this value (so the first points do not fill the width). */
  xMinSpan?: number;
  /** Tick labels. */
  yFormat?: (v: number) => string;
  /** The latest value of each series, shown in the legend (default: 3 decimals). */
  valueFormat?: (v: number) => string;
}

/** 1, 2, 5 × 10^k steps giving about `count` ticks over [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Sizes the canvas backing store to its CSS size × devicePixelRatio and returns a 2-D context in CSS pixels. */
function prepare(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; w: number; h: number } {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 480;
  const h = canvas.clientHeight || 280;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, w, h };
}

export function drawChart(canvas: HTMLCanvasElement, o: ChartOptions): void {
  const { ctx, w, h } = prepare(canvas);
  const css = getComputedStyle(canvas);
  const fg = css.getPropertyValue('--chart-fg').trim() || '#222';
  const grid = css.getPropertyValue('--chart-grid').trim() || '#e4e4e4';
  const font = '12px system-ui, sans-serif';
  ctx.clearRect(0, 0, w, h);
  ctx.font = font;

  const pad = { left: 52, right: 14, top: 30, bottom: 38 };
  const pw = w - pad.left - pad.right;
  const ph = h - pad.top - pad.bottom;

  const all = o.series.flatMap((s) => s.points);
  const xMax = Math.max(o.xMinSpan ?? 1, ...all.map((p) => p[0]));
  const xMin = 0;
  let yMin = o.yMin ?? 0;
  let yMax = o.yMax ?? Math.max(1e-6, o.reference?.y ?? 0, ...all.map((p) => p[1]).filter(Number.isFinite));
  if (o.yMax === undefined) yMax *= 1.08;
  if (yMax <= yMin) yMax = yMin + 1;
  const X = (x: number) => pad.left + ((x - xMin) / (xMax - xMin)) * pw;
  const Y = (y: number) => pad.top + (1 - (Math.min(Math.max(y, yMin), yMax) - yMin) / (yMax - yMin)) * ph;

  // title
  ctx.fillStyle = fg;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  ctx.font = `600 13px system-ui, sans-serif`;
  ctx.fillText(o.title, pad.left, 18);
  ctx.font = font;

  // grid and ticks
  ctx.strokeStyle = grid;
  ctx.lineWidth = 1;
  ctx.fillStyle = fg;
  const fmt = o.yFormat ?? ((v: number) => String(v));
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of niceTicks(yMin, yMax, 5)) {
    const y = Math.round(Y(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(pad.left, y);
    ctx.lineTo(pad.left + pw, y);
    ctx.stroke();
    ctx.fillText(fmt(t), pad.left - 6, y);
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of niceTicks(xMin, xMax, 6)) {
    const x = Math.round(X(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, pad.top);
    ctx.lineTo(x, pad.top + ph);
    ctx.stroke();
    ctx.fillText(String(t), x, pad.top + ph + 5);
  }
  ctx.fillText(o.xLabel, pad.left + pw / 2, pad.top + ph + 21);
  ctx.strokeStyle = fg;
  ctx.strokeRect(pad.left + 0.5, pad.top + 0.5, pw, ph);

  // reference line
  if (o.reference) {
    const y = Y(o.reference.y);
    ctx.save();
    ctx.setLineDash([4, 4]);
    ctx.strokeStyle = '#999';
    ctx.beginPath();
    ctx.moveTo(pad.left, y);
    ctx.lineTo(pad.left + pw, y);
    ctx.stroke();
    ctx.restore();
    ctx.fillStyle = '#888';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'bottom';
    ctx.fillText(o.reference.label, pad.left + pw - 4, y - 3);
  }

  // series
  for (const s of o.series) {
    if (s.points.length === 0) continue;
    ctx.save();
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 2;
    if (s.dashed) ctx.setLineDash([6, 4]);
    ctx.beginPath();
    s.points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(X(x), Y(y)) : ctx.lineTo(X(x), Y(y))));
    ctx.stroke();
    ctx.setLineDash([]);
    for (const [x, y] of s.points) {
      ctx.beginPath();
      ctx.arc(X(x), Y(y), 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.restore();
  }

  // legend (top right, inside the title row)
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  let lx = pad.left + pw;
  for (const s of [...o.series].reverse()) {
    const last = s.points[s.points.length - 1];
    const text = last ? `${s.label} ${(o.valueFormat ?? ((v: number) => v.toFixed(3)))(last[1])}` : s.label;
    const tw = ctx.measureText(text).width;
    lx -= tw + 26;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.setLineDash(s.dashed ? [6, 4] : []);
    ctx.beginPath();
    ctx.moveTo(lx, 14);
    ctx.lineTo(lx + 16, 14);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = fg;
    ctx.fillText(text, lx + 20, 14);
  }
}
