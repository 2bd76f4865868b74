/**
 * One training run in the page: d2l's train_ch6 loop (zeroGrad → forward → loss → backward →
 * SGD step) on WebGPU, resumable after a stop. Nothing is read back per iteration: loss and
 * correct counts are summed on the device (RunningSums) and read every `every` iterations, when
 * the held-out batch is evaluated too; those readbacks are the only ones.
 */
import * as kd from '@kindling/core';
import '@kindling/autograd';
import { CrossEntropyLoss, type Module } from '@kindling/nn';
import { SGD } from '@kindling/optim';
import { RunningSums, correctCount } from '@kindling/metrics';
import { DataLoader, type InMemoryDataset } from '@kindling/data';
import { PRESETS, d2lInit, type ModelName } from './models.js';

export interface Config {
  model: ModelName;
  batchSize: number;
  lr: number;
  seed: number;
  /** Plot a point (one readback + held-out evaluation) every this many iterations. */
  every: number;
  /** Held-out test images evaluated at every point (the first N of the test split). */
  heldOut: number;
}

export interface Point {
  iteration: number;
  epoch: number;
  images: number;
  /** Mean training loss over the iterations since the previous point. */
  loss: number;
  /** Training accuracy over those iterations (train mode, before each step's update). */
  trainAcc: number;
  /** Accuracy on the held-out test images, eval mode. */
  testAcc: number;
  /** Training images per second over the window (evaluation excluded). */
  imagesPerSecond: number;
  /** Seconds since the run started, stopped time excluded. */
  seconds: number;
}

export class Session {
  readonly config: Config;
  readonly history: Point[] = [];
  /** Held-out accuracy of the freshly initialised network (iteration 0), once measured. */
  initialTestAcc: number | null = null;
  iteration = 0;
  images = 0;
  private readonly model: Module;
  private readonly optimizer: SGD;
  private readonly lossFn = new CrossEntropyLoss();
  private readonly loader: DataLoader;
  private readonly testX: kd.Tensor;
  private readonly testY: kd.Tensor;
  private epochIter: AsyncIterator<[kd.Tensor, kd.Tensor]> | null = null;
  private stopRequested = false;
  private running: Promise<void> | null = null;
  private activeSeconds = 0;
  private disposed = false;

  constructor(config: Config, train: InMemoryDataset, test: InMemoryDataset, private readonly device = 'webgpu') {
    this.config = config;
    kd.manualSeed(config.seed);
    this.model = PRESETS[config.model].build();
    d2lInit(this.model);
    this.model.train();
    this.optimizer = new SGD(this.model.parameters(), { lr: config.lr });
    this.loader = new DataLoader(train, { batchSize: config.batchSize, shuffle: true, seed: config.seed, numWorkers: 0 });
    const n = Math.min(config.heldOut, test.length);
    const x = new Float32Array(n * 28 * 28);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const [img, label] = test.get(i);
      x.set(img.data as Float32Array, i * 784);
      y[i] = label;
    }
    this.testX = kd.tensor(x, { shape: [n, 1, 28, 28], dtype: 'float32', device });
    this.testY = kd.tensor(y, { shape: [n], dtype: 'int32', device });
  }

  get epoch(): number {
    return this.iteration / this.loader.length;
  }

  get isRunning(): boolean {
    return this.running !== null;
  }

  /** Starts (or resumes) training; `onPoint` runs after each plotted point, `onTick` after each step. */
  start(onPoint: (p: Point) => void, onTick: () => void): Promise<void> {
    if (this.disposed) throw new Error('this run was reset; start a new one');
    this.running ??= this.loop(onPoint, onTick).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Asks the loop to stop after the current iteration; resolves when it has. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    await this.running;
  }

  private async nextBatch(): Promise<[kd.Tensor, kd.Tensor]> {
    for (;;) {
      this.epochIter ??= this.loader[Symbol.asyncIterator]() as AsyncIterator<[kd.Tensor, kd.Tensor]>;
      const r = await this.epochIter.next();
      if (!r.done) return r.value;
      this.epochIter = null; // the epoch is over: the next iterator runs the next one
    }
  }

  private async loop(onPoint: (p: Point) => void, onTick: () => void): Promise<void> {
    this.stopRequested = false;
    const backend = kd.getBackend(this.device);
    const sums = new RunningSums();
    if (this.initialTestAcc === null) this.initialTestAcc = await this.evaluate();
    let windowStart = performance.now();
    let windowImages = 0;
    let windowIters = 0;
    let inFlight: Promise<void> | null = null;
    try {
      while (!this.stopRequested) {
        const [x, y] = await this.nextBatch();
        const n = y.shape[0]!;
        kd.tidy(() => {
          this.optimizer.zeroGrad();
          const yHat = this.model.call(x);
          const l = this.lossFn.call(yHat, y);
          l.backward();
          this.optimizer.step();
          kd.noGrad(() => {
            sums.add('loss', l.mul(n));
            sums.add('correct', correctCount(yHat, y));
          });
          sums.add('n', n);
        });
        x.dispose();
        y.dispose();
        // Keep at most one step queued behind the one running, so the counter and img/s say what
        // the GPU has done (not what JavaScript has queued) and Stop takes effect promptly.
        const done = backend.sync();
        if (inFlight) await inFlight;
        inFlight = done;
        this.iteration++;
        this.images += n;
        windowImages += n;
        windowIters++;
        onTick();
        if (this.iteration % this.config.every === 0) {
          await inFlight;
          inFlight = null;
          const v = await sums.values();
          sums.reset();
          const trainSeconds = (performance.now() - windowStart) / 1000;
          this.activeSeconds += trainSeconds;
          const testAcc = await this.evaluate();
          const p: Point = {
            iteration: this.iteration,
            epoch: this.epoch,
            images: this.images,
            loss: v.loss! / v.n!,
            trainAcc: v.correct! / v.n!,
            testAcc,
            imagesPerSecond: windowImages / trainSeconds,
            seconds: this.activeSeconds,
          };
          this.history.push(p);
          onPoint(p);
          windowStart = performance.now();
          windowImages = 0;
          windowIters = 0;
        }
      }
    } finally {
      if (inFlight) await inFlight;
      // A partial window is dropped from the plot (its sums are discarded); its time still counts.
      if (windowIters > 0) this.activeSeconds += (performance.now() - windowStart) / 1000;
      sums.reset();
    }
  }

  /** Accuracy on the held-out images in eval mode (BatchNorm uses its running statistics). */
  async evaluate(): Promise<number> {
    this.model.eval();
    try {
      const c = kd.noGrad(() => kd.tidy(() => correctCount(this.model.call(this.testX), this.testY)));
      const correct = await c.item();
      c.dispose();
      return correct / this.testY.shape[0]!;
    } finally {
      this.model.train();
    }
  }

  /** Frees the model, optimizer state and held-out tensors (after stop()). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.testX.dispose();
    this.testY.dispose();
    for (const p of this.model.parameters()) p.dispose();
    for (const b of this.model.buffers()) b.dispose();
  }
}
