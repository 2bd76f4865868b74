/**
 * The seed's training loop as a PyTorch user writes it, to check that memory stays bounded with
 * no tidy, no dispose and no `using` (issue 13). Not a timed test: a program that prints, every
 * `--every` steps, live tensors and bytes (core's memory()), RSS and ms/step, then a summary line
 * (JSON with --json FILE).
 *
 *   node apps/bench/dist/userloop.js --model lenet-bn --steps 10000 --device cpu [--mode plain|tidy]
 *
 * plain: for each step  X = X.to(device); l = loss(net(X), y); opt.zeroGrad(); l.backward();
 *        opt.step(); train_l_sum += await l.cpu().item(); acc += await (argmax == y).sum().cpu().item()
 * tidy:  the same step inside kd.tidy (the loss and the correct count returned and disposed).
 * The batches are synthetic (fixed random images and labels made once on the cpu, as a DataLoader
 * hands cpu batches over); `pnpm bench`'s "user loop" workload runs the same loop over the real
 * Fashion-MNIST.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as kd from '@kindling/core';
import '@kindling/autograd';
import '@kindling/backend-cpu';
import { CrossEntropyLoss, type Module } from '@kindling/nn';
import { Adam } from '@kindling/optim';
import { buildModel, type ModelName } from '@kindling/trainer';

export interface UserStepResult {
  loss: number;
  correct: number;
}

type Optimizer = { zeroGrad(): void; step(): void };

/** The seed's step up to the readbacks: move the batch, forward, loss, backward, optimizer step. */
function forwardBackward(net: Module, opt: Optimizer, loss: CrossEntropyLoss, x: kd.Tensor, y: kd.Tensor, device: string) {
  const X = x.to(device);
  const Y = y.to(device);
  const yHat = net.call(X);
  const l = loss.call(yHat, Y);
  opt.zeroGrad();
  l.backward();
  opt.step();
  return { l, yHat, Y };
}

/**
 * One step of the seed's loop, written as in PyTorch: nothing disposed, both scalars read back
 * through `.cpu().item()`. `x` and `y` are cpu batches; the step moves them to the device.
 */
export async function userStep(net: Module, opt: Optimizer, loss: CrossEntropyLoss, x: kd.Tensor, y: kd.Tensor, device: string): Promise<UserStepResult> {
  const { l, yHat, Y } = forwardBackward(net, opt, loss, x, y, device);
  const lossValue = await l.cpu().item();
  const correct = await yHat.argmax(1).eq(Y).float().sum().cpu().item();
  return { loss: lossValue, correct };
}

/** The same step with every temporary disposed by tidy (the baseline the plain loop is held to). */
export async function tidyStep(net: Module, opt: Optimizer, loss: CrossEntropyLoss, x: kd.Tensor, y: kd.Tensor, device: string): Promise<UserStepResult> {
  const [l, c] = kd.tidy(() => {
    const r = forwardBackward(net, opt, loss, x, y, device);
    return [r.l.detach(), kd.noGrad(() => r.yHat.argmax(1).eq(r.Y).float().sum())];
  });
  const out = { loss: await l.item(), correct: await c.item() };
  l.dispose();
  c.dispose();
  return out;
}

interface Sample {
  step: number;
  liveTensors: number;
  liveBytes: number;
  rss: number;
  msPerStep: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'lenet-bn' },
      device: { type: 'string', default: 'cpu' },
      steps: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '' },
      mode: { type: 'string', default: 'plain' },
      every: { type: 'string', default: '' },
      warmup: { type: 'string', default: '' },
      json: { type: 'string' },
    },
  });
  const model = values.model as ModelName;
  const alex = model === 'alexnet';
  const steps = Number(values.steps);
  const batch = Number(values.batch || (alex ? 32 : 256));
  const every = Number(values.every || Math.max(1, Math.round(steps / 20)));
  const warmup = Number(values.warmup || Math.min(200, Math.round(steps / 10)));
  const device = values.device!;
  const mode = values.mode!;
  if (mode !== 'plain' && mode !== 'tidy') throw new Error(`userloop: --mode must be plain or tidy, got '${mode}'`);
  if (device.split(':')[0] !== 'cpu') await import(`@kindling/backend-${device.split(':')[0]}`);
  const backend = await kd.initDevice(device);
  kd.manualSeed(0);
  const side = alex ? 224 : 28;
  // A few distinct cpu batches, made once (inside tidy: nothing of their making stays live).
  const batches = kd.tidy(() =>
    Array.from({ length: 4 }, () => [kd.keep(kd.rand([batch, 1, side, side])), kd.keep(kd.randint(0, 10, [batch]))] as const),
  );
  // The seed's network with its recipe's init (buildModel): the loop is the seed's loop.
  const net = kd.tidy(() => buildModel(model));
  net.to(device);
  const opt = new Adam(net.parameters(), { lr: 1e-3 });
  const lossFn = new CrossEntropyLoss();
  const step = mode === 'plain' ? userStep : tidyStep;
  const samples: Sample[] = [];
  let peakBytes = 0;
  let peakTensors = 0;
  let peakRss = 0;
  let rssAfterWarmup = 0;
  let t0 = performance.now();
  let lastLoss = NaN;
  let timedMs = 0;
  const start = performance.now();
  for (let i = 1; i <= steps; i++) {
    const [x, y] = batches[i % batches.length]!;
    lastLoss = (await step(net, opt, lossFn, x, y, device)).loss;
    const m = kd.memory();
    peakBytes = Math.max(peakBytes, m.numBytes);
    peakTensors = Math.max(peakTensors, m.numTensors);
    if (i % every === 0 || i === steps) {
      const rss = process.memoryUsage.rss();
      peakRss = Math.max(peakRss, rss);
      const now = performance.now();
      const ms = (now - t0) / (i % every === 0 ? every : i % every);
      if (i > warmup) timedMs += now - t0;
      t0 = now;
      samples.push({ step: i, liveTensors: m.numTensors, liveBytes: m.numBytes, rss, msPerStep: ms });
      if (i >= warmup && rssAfterWarmup === 0) rssAfterWarmup = rss;
      console.log(
        `step ${i}: live ${m.numTensors} tensors, ${(m.numBytes / 2 ** 20).toFixed(1)} MiB; RSS ${(rss / 2 ** 20).toFixed(0)} MiB; ${ms.toFixed(2)} ms/step; loss ${lastLoss.toFixed(4)}`,
      );
    }
  }
  const wall = (performance.now() - start) / 1000;
  const after = samples.filter((s) => s.step > warmup);
  const summary = {
    model, device, implementation: backend.info().implementation, mode, batch, steps, warmup,
    peakLiveBytes: peakBytes, peakLiveTensors: peakTensors, peakRss,
    rssAfterWarmup, rssEnd: samples.at(-1)!.rss,
    msPerStepAfterWarmup: after.length ? timedMs / (after.at(-1)!.step - warmup) : NaN,
    wallSeconds: wall, lastLoss,
  };
  console.log(JSON.stringify(summary));
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ summary, samples }, null, 1)}\n`);
}

if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) {
  await main();
}
