import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as kd from '@kindling/core';
import '@kindling/autograd';
import { CrossEntropyLoss, summary, type Module } from '@kindling/nn';
import { SGD, Adam, StepLR, CosineAnnealingLR, OneCycleLR, type LRScheduler, type Optimizer } from '@kindling/optim';
import { RunningSums, correctCount } from '@kindling/metrics';
import type { DataLoader } from '@kindling/data';
import { buildModel } from './models.js';
import { fashionMnistLoaders } from './data.js';
import { ProgressBar } from './progress.js';
import { plotSvg, type EpochRecord } from './plot.js';
import { latestCheckpoint, loadCheckpoint, removeStaleTemps, saveCheckpoint } from './checkpoint.js';
import type { TrainOptions } from './options.js';

export interface EpochResult extends EpochRecord {
  /** Wall time of the epoch, evaluation included. */
  seconds: number;
  /** Time spent in training steps only (d2l's timer). */
  trainSeconds: number;
  examples: number;
  iterations: number;
}

export interface TrainResult {
  history: EpochResult[];
  device: string;
  implementation: string;
}

export type Log = (line: string) => void;

/**
 * One training step as train() takes it (zeroGrad → forward → loss → backward → step), with the
 * loss read back as a loop that logs it would: the unit the benchmarks time.
 */
export async function trainStep(
  model: Module, optimizer: { zeroGrad(): void; step(): void }, lossFn: CrossEntropyLoss, x: kd.Tensor, y: kd.Tensor,
): Promise<number> {
  const l = kd.tidy(() => {
    optimizer.zeroGrad();
    const loss = lossFn.call(model.call(x), y);
    loss.backward();
    optimizer.step();
    return loss;
  });
  const v = Number(await l.item());
  l.dispose();
  return v;
}

/** d2l.ai's evaluate_accuracy_gpu: eval mode, no graph, correct counts summed on the device. */
export async function evaluateAccuracyGpu(model: Module, loader: DataLoader, maxIters: number | null = null): Promise<number> {
  model.eval();
  const acc = new RunningSums();
  let it = 0;
  await kd.noGrad(async () => {
    for await (const [x, y] of loader) {
      kd.tidy(() => {
        acc.add('correct', correctCount(model.call(x), y));
        acc.add('n', y.shape[0]!);
      });
      x.dispose();
      y.dispose();
      if (maxIters !== null && ++it >= maxIters) break;
    }
  });
  model.train();
  const v = await acc.values();
  acc.reset();
  return v.n ? v.correct! / v.n : 0;
}

export function makeOptimizer(o: Pick<TrainOptions, 'optimizer' | 'lr'>, model: Module): Optimizer {
  return o.optimizer === 'adam' ? new Adam(model.parameters(), { lr: o.lr }) : new SGD(model.parameters(), { lr: o.lr });
}

/** The schedule, if any, and whether it steps per batch (OneCycle) or per epoch. */
function makeScheduler(o: TrainOptions, optimizer: Optimizer, stepsPerEpoch: number): { scheduler: LRScheduler; perBatch: boolean } | null {
  switch (o.scheduler) {
    case 'none': return null;
    case 'step': return { scheduler: new StepLR(optimizer, Math.max(1, Math.ceil(o.epochs / 3)), { gamma: 0.1 }), perBatch: false };
    case 'cosine': return { scheduler: new CosineAnnealingLR(optimizer, o.epochs), perBatch: false };
    case 'onecycle': return { scheduler: new OneCycleLR(optimizer, o.lr, { epochs: o.epochs, stepsPerEpoch }), perBatch: true };
  }
}

/**
 * d2l's train_ch6 on the real Fashion-MNIST: per minibatch zeroGrad → forward → loss → backward
 * → step, with loss and accuracy summed on the device and read back once per epoch. Writes
 * metrics.jsonl, plot.svg, summary.txt and an atomic checkpoint per epoch into o.out; with
 * o.resume it continues from the last checkpoint and reproduces the uninterrupted run.
 */
export async function train(o: TrainOptions, log: Log = (l) => process.stdout.write(`${l}\n`)): Promise<TrainResult> {
  const backend = await kd.initDevice(o.backend);
  kd.setDefaultDevice(o.backend);
  mkdirSync(o.out, { recursive: true });

  kd.manualSeed(o.seed);
  const model = buildModel(o.model);
  const optimizer = makeOptimizer(o, model);
  const lossFn = new CrossEntropyLoss();
  const data = await fashionMnistLoaders(o);

  const iterations = o.maxIters === null ? data.train.length : Math.min(o.maxIters, data.train.length);
  const schedule = makeScheduler(o, optimizer, iterations);
  let history: EpochResult[] = [];
  let startEpoch = 0;
  for (const f of removeStaleTemps(o.out)) log(`removed ${f}, the temporary file of a checkpoint write that did not finish`);
  if (o.resume) {
    const last = latestCheckpoint(o.out);
    if (!last) throw new Error(`--resume: no checkpoint in ${join(o.out, 'checkpoints')}; run without --resume first`);
    const state = await loadCheckpoint(last, model, optimizer, schedule?.scheduler ?? null, o);
    history = state.history as EpochResult[];
    startEpoch = state.epoch + 1;
    kd.globalGenerator.setState(state.rng);
    // The checkpoint is the source of truth: epochs a killed run logged after it are redone.
    writeFileSync(join(o.out, 'metrics.jsonl'), history.map((h) => `${JSON.stringify(h)}\n`).join(''));
    log(`resuming from ${last} (epoch ${startEpoch} done)`);
  } else {
    writeFileSync(join(o.out, 'metrics.jsonl'), '');
    writeFileSync(join(o.out, 'iterations.jsonl'), '');
  }

  const inputShape = [1, 1, o.resize ?? 28, o.resize ?? 28];
  const s = summary(model, inputShape, { print: false });
  writeFileSync(join(o.out, 'summary.txt'), `${s.text}\n`);
  if (!o.resume) log(s.text);
  if (!o.resume) log(`${o.model} on ${backend.info().device} (${backend.info().implementation}): ${s.totalParams.toLocaleString('en-US')} parameters, ` +
    `${data.trainSize} training / ${data.testSize} test images from ${data.root}, batch ${o.batchSize}, lr ${o.lr}, ${o.optimizer}`);

  for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
    data.train.setEpoch(epoch);
    model.train();
    const sums = new RunningSums();
    const window = new RunningSums();
    const bar = o.quiet ? null : new ProgressBar({ total: iterations, label: `epoch ${epoch + 1}/${o.epochs}`, samplesPerStep: o.batchSize });
    const t0 = performance.now();
    let it = 0;
    for await (const [x, y] of data.train) {
      kd.tidy(() => {
        optimizer.zeroGrad();
        const yHat = model.call(x);
        const l = lossFn.call(yHat, y);
        l.backward();
        optimizer.step();
        if (schedule?.perBatch) schedule.scheduler.step();
        kd.noGrad(() => {
          sums.add('loss', l.mul(y.shape[0]!));
          sums.add('correct', correctCount(yHat, y));
          if (o.logEvery) window.add('loss', l);
        });
        sums.add('n', y.shape[0]!);
      });
      x.dispose();
      y.dispose();
      bar?.tick();
      ++it;
      if (o.logEvery && (it % o.logEvery === 0 || it === iterations)) {
        const w = await window.values();
        const n = it % o.logEvery || o.logEvery;
        window.reset();
        const rec = { epoch: epoch + 1, iteration: it, loss: w.loss! / n, seconds: (performance.now() - t0) / 1000 };
        appendFileSync(join(o.out, 'iterations.jsonl'), `${JSON.stringify(rec)}\n`);
        bar?.finish();
        log(`epoch ${rec.epoch}, iteration ${it}/${iterations}, loss ${rec.loss.toFixed(3)}, ${rec.seconds.toFixed(1)} s`);
      }
      if (it >= iterations) break;
    }
    if (schedule && !schedule.perBatch) schedule.scheduler.step();
    const v = await sums.values();
    sums.reset();
    const trainSeconds = (performance.now() - t0) / 1000;
    const testAcc = await evaluateAccuracyGpu(model, data.test);
    const seconds = (performance.now() - t0) / 1000;
    bar?.finish();
    const r: EpochResult = {
      epoch: epoch + 1, loss: v.loss! / v.n!, trainAcc: v.correct! / v.n!, testAcc, seconds, trainSeconds, examples: v.n!, iterations: it,
    };
    history.push(r);
    log(`epoch ${r.epoch}, loss ${r.loss.toFixed(3)}, train acc ${r.trainAcc.toFixed(3)}, test acc ${r.testAcc.toFixed(3)}, ${r.seconds.toFixed(1)} s`);
    appendFileSync(join(o.out, 'metrics.jsonl'), `${JSON.stringify(r)}\n`);
    writeFileSync(join(o.out, 'plot.svg'), plotSvg(history, `${o.model} on Fashion-MNIST (${backend.info().device})`));
    await saveCheckpoint(o.out, epoch, model, optimizer, schedule?.scheduler ?? null, { history, rng: kd.globalGenerator.getState(), options: o });
  }
  await data.train.close();
  await data.test.close();
  const last = history[history.length - 1];
  if (last) {
    // d2l: examples seen in training steps over the time those steps took.
    const seconds = history.reduce((a, h) => a + h.trainSeconds, 0);
    const examples = history.reduce((a, h) => a + h.examples, 0);
    log(`loss ${last.loss.toFixed(3)}, train acc ${last.trainAcc.toFixed(3)}, test acc ${last.testAcc.toFixed(3)}`);
    log(`${(examples / Math.max(seconds, 1e-9)).toFixed(1)} examples/sec on ${backend.info().device}`);
  }
  return { history, device: backend.info().device, implementation: backend.info().implementation };
}
