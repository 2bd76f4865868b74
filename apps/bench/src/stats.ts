/** Small statistics and formatting helpers. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Throughput per step (items / seconds) summarised over all recorded steps. */
export function summarise(times: readonly number[], itemsPerStep: number): Summary {
  const rates = times.map((t) => itemsPerStep / t);
  return { median: median(rates), min: Math.min(...rates), max: Math.max(...rates), n: rates.length };
}

/** 24500 → "24,500"; 30.4 → "30.4"; 0.0123 → "0.0123". */
export function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return '–';
  if (x >= 1000) return Math.round(x).toLocaleString('en-US');
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

export function fmtBytes(b: number): string {
  if (!Number.isFinite(b) || b <= 0) return '–';
  return b >= 1 << 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${Math.round(b / 2 ** 20)} MiB`;
}
