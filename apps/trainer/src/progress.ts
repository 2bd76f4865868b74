/**
 * A live progress bar for an epoch: iterations, rate and ETA. On a terminal it redraws one line;
 * elsewhere (CI logs, pipes) it prints a plain line every `logEvery` percent so logs stay short.
 */
export interface ProgressOptions {
  total: number;
  label: string;
  stream?: NodeJS.WriteStream;
  /** Unit for the rate ('img' gives img/s from `samplesPerStep`). */
  samplesPerStep?: number;
  logEvery?: number;
}

const fmtTime = (s: number): string => {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  return `${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
};

export class ProgressBar {
  private readonly start = performance.now();
  private done = 0;
  private lastDraw = 0;
  private lastLoggedPct = -1;
  private readonly tty: boolean;
  private readonly stream: NodeJS.WriteStream;

  constructor(private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Advances by n iterations; `extra` is shown at the end (e.g. the running loss). */
  tick(n = 1, extra = ''): void {
    this.done += n;
    const now = performance.now();
    if (this.tty && now - this.lastDraw < 100 && this.done < this.o.total) return;
    this.lastDraw = now;
    const line = this.render(now, extra);
    if (this.tty) this.stream.write(`\r${line}\x1b[K`);
    else {
      const pct = Math.floor((100 * this.done) / this.o.total);
      const every = this.o.logEvery ?? 25;
      if (pct >= this.lastLoggedPct + every || this.done === this.o.total) {
        this.lastLoggedPct = pct - (pct % every);
        this.stream.write(`${line}\n`);
      }
    }
  }

  render(now: number, extra = ''): string {
    const elapsed = (now - this.start) / 1000;
    const rate = this.done / Math.max(elapsed, 1e-9);
    const eta = (this.o.total - this.done) / rate;
    const width = 24;
    const filled = Math.round((width * this.done) / this.o.total);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const imgs = this.o.samplesPerStep ? `, ${(rate * this.o.samplesPerStep).toFixed(0)} img/s` : '';
    return `${this.o.label} ${bar} ${this.done}/${this.o.total} [${fmtTime(elapsed)}<${fmtTime(eta)}, ${rate.toFixed(1)} it/s${imgs}]${extra ? ` ${extra}` : ''}`;
  }

  /** Clears the bar line on a terminal, so the epoch summary prints on a clean line. */
  finish(): void {
    if (this.tty) this.stream.write('\r\x1b[K');
  }
}
