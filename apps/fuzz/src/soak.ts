#!/usr/bin/env node
/**
 * pnpm soak [--backend cpu,webgpu,cuda] [--steps N] [--batch N] [--untidied] [--json FILE]
 *
 * The memory soak, a benchmark (run by hand, not by the tests): d2l's LeNet trained on the real
 * Fashion-MNIST through the DataLoader, SGD lr 0.9 as in d2l 6.6, for N steps per backend (DEFAULT_STEPS), each
 * step the trainer's own trainStep (zeroGrad → forward → loss → backward → step inside tidy, the
 * loss read back). Every `steps/40` steps it samples, after a full GC, the live tensors and bytes
 * (kd.memory()), the backend's cached bytes and the process RSS. After a warm-up (the first tenth)
 * the live tensors and bytes must not change at all, and the RSS level (the median of the last
 * quarter of the samples) must stay within 5% of the level after warm-up (the first quarter's). --untidied runs the PyTorch-style loop instead (no tidy, only the
 * loss disposed) to show what the FinalizationRegistry alone keeps.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as kd from '@kindling/core';
import { DataLoader, FashionMNIST, ToTensor } from '@kindling/data';
import { CrossEntropyLoss } from '@kindling/nn';
import { SGD } from '@kindling/optim';
import { buildModel, trainStep } from '@kindling/trainer';
import { BACKENDS, prepare, type BackendName } from './backends.js';

/**
 * Steps and batch per backend unless --steps / --batch say otherwise. webgpu runs on SwiftShader (a
 * software Vulkan) and cuda without a GPU on the emulator (each kernel's threads as fibers on one
 * core): on the shared 2-core build machine a LeNet step at batch 256 took about 40 s and 56 s
 * there, so they soak at batch 16 for a few hundred steps instead of 10,000.
 */
export const DEFAULT_STEPS: Record<BackendName, number> = { cpu: 10_000, webgpu: 300, cuda: 200 };
export const DEFAULT_BATCH: Record<BackendName, number> = { cpu: 256, webgpu: 16, cuda: 16 };
const RSS_TOLERANCE = 0.05;

interface Sample {
  step: number;
  tensors: number;
  bytes: number;
  cachedBytes: number;
  rssMiB: number;
  heapMiB: number;
  /** Memory of ArrayBuffers (cpu tensors' data) and of other external (native) allocations V8 knows of. */
  arrayBuffersMiB: number;
  externalMiB: number;
  seconds: number;
}

export interface SoakResult {
  backend: string;
  implementation: string;
  mode: 'tidy' | 'untidied';
  steps: number;
  batch: number;
  warmupSteps: number;
  samples: Sample[];
  tensorsFlat: boolean;
  bytesFlat: boolean;
  /** RSS level (MiB) after warm-up and at the end: medians of the first and last quarter of the samples. */
  rssStartMiB: number;
  rssEndMiB: number;
  /** rssEndMiB / rssStartMiB - 1: what must stay within 5 %. */
  rssGrowth: number;
  /** The highest single sample over rssStartMiB - 1 (reported, not judged). */
  rssPeak: number;
  passed: boolean;
  stepsPerSecond: number;
}

async function sample(step: number, t0: number): Promise<Sample> {
  (globalThis as { gc?: () => void }).gc?.();
  // FinalizationRegistry callbacks run in a task of their own: give them one, so what the
  // untidied loop dropped is freed before memory is counted (the tidy loop has nothing pending).
  await new Promise((r) => setImmediate(r));
  const m = kd.memory();
  const cached = Object.values(m.devices).reduce((a, d) => a + d.cachedBytes, 0);
  const mu = process.memoryUsage();
  return { step, tensors: m.numTensors, bytes: m.numBytes, cachedBytes: cached, rssMiB: mu.rss / 2 ** 20, heapMiB: mu.heapUsed / 2 ** 20, arrayBuffersMiB: mu.arrayBuffers / 2 ** 20, externalMiB: mu.external / 2 ** 20, seconds: (performance.now() - t0) / 1000 };
}

export async function soak(backend: BackendName, steps: number, batch: number, untidied: boolean, log: (l: string) => void): Promise<SoakResult | string> {
  const target = await prepare(backend);
  if (!target.device) return target.reason!;
  kd.setDefaultDevice(target.device);
  kd.manualSeed(0);
  const train = await FashionMNIST.load({ train: true, transform: new ToTensor() });
  const loader = new DataLoader(train, { batchSize: batch, shuffle: true, seed: 0 });
  const model = buildModel('lenet-d2l'); // d2l.ai's LeNet with its Xavier init, trained with SGD lr 0.9 as d2l.ai does
  const optimizer = new SGD(model.parameters(), { lr: 0.9 });
  const lossFn = new CrossEntropyLoss();
  const every = Math.max(1, Math.floor(steps / 40));
  const warmupSteps = Math.max(every, Math.floor(steps / 10));
  const samples: Sample[] = [];
  const t0 = performance.now();
  let step = 0;
  let lastLoss = NaN;
  for (let epoch = 0; step < steps; epoch++) {
    loader.setEpoch(epoch);
    for await (const [x, y] of loader) {
      if (untidied) {
        optimizer.zeroGrad();
        const loss = lossFn.call(model.call(x), y);
        loss.backward();
        optimizer.step();
        lastLoss = Number(await loss.item());
        loss.dispose();
      } else {
        lastLoss = await trainStep(model, optimizer, lossFn, x, y);
      }
      x.dispose();
      y.dispose();
      step++;
      if (step % every === 0 || step === steps) {
        const s = await sample(step, t0);
        samples.push(s);
        log(`[${backend}] step ${step}/${steps}: loss ${lastLoss.toFixed(3)}, ${s.tensors} tensors, ${(s.bytes / 2 ** 20).toFixed(2)} MiB live, ${(s.cachedBytes / 2 ** 20).toFixed(1)} MiB cached, RSS ${s.rssMiB.toFixed(1)} MiB (JS heap ${s.heapMiB.toFixed(1)}, ArrayBuffers ${s.arrayBuffersMiB.toFixed(1)}), ${s.seconds.toFixed(0)} s`);
      }
      if (step >= steps) break;
    }
  }
  const after = samples.filter((s) => s.step >= warmupSteps);
  const base = after[0]!;
  const tensorsFlat = after.every((s) => s.tensors === base.tensors);
  const bytesFlat = after.every((s) => s.bytes === base.bytes);
  // Growth is a trend, not one sample: RSS moves ±5 % from sample to sample on webgpu (Dawn's
  // staging buffers come and go) without drifting. So the level at the end (the median of the last
  // quarter of the samples) is compared with the level after warm-up (the median of the first
  // quarter); the highest single sample is reported beside it.
  const quarter = Math.max(1, Math.floor(after.length / 4));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const startLevel = median(after.slice(0, quarter).map((s) => s.rssMiB));
  const endLevel = median(after.slice(-quarter).map((s) => s.rssMiB));
  const rssGrowth = endLevel / startLevel - 1;
  const rssPeak = Math.max(...after.map((s) => s.rssMiB)) / startLevel - 1;
  const seconds = samples[samples.length - 1]!.seconds;
  model.dispose?.();
  return {
    backend, implementation: target.implementation, mode: untidied ? 'untidied' : 'tidy', steps, batch, warmupSteps, samples,
    tensorsFlat, bytesFlat, rssStartMiB: startLevel, rssEndMiB: endLevel, rssGrowth, rssPeak, passed: tensorsFlat && bytesFlat && rssGrowth <= RSS_TOLERANCE, stepsPerSecond: steps / seconds,
  };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const backends = (get('--backend') ?? BACKENDS.join(',')).split(',') as BackendName[];
  for (const b of backends) if (!BACKENDS.includes(b)) throw new Error(`soak: --backend ${b} is not one of ${BACKENDS.join(', ')}`);
  const stepsArg = get('--steps');
  const steps = stepsArg === undefined ? null : Number(stepsArg);
  if (steps !== null && !(Number.isInteger(steps) && steps >= 40)) throw new Error(`soak: --steps must be an integer ≥ 40, got ${stepsArg}`);
  const batchArg = get('--batch');
  const batch = batchArg === undefined ? null : Number(batchArg);
  if (batch !== null && !(Number.isInteger(batch) && batch > 0)) throw new Error(`soak: --batch must be a positive integer, got ${batchArg}`);
  if (!(globalThis as { gc?: unknown }).gc) process.stdout.write('soak: run with node --expose-gc (pnpm soak does) so RSS is sampled after a full collection\n');
  const log = (l: string) => process.stdout.write(`${l}\n`);
  const results: SoakResult[] = [];
  let ok = true;
  for (const b of backends) {
    const r = await soak(b, steps ?? DEFAULT_STEPS[b], batch ?? DEFAULT_BATCH[b], argv.includes('--untidied'), log);
    if (typeof r === 'string') {
      log(`SKIP ${b}: ${r}`);
      continue;
    }
    results.push(r);
    ok &&= r.passed;
    const first = r.samples.find((s) => s.step >= r.warmupSteps)!;
    const last = r.samples[r.samples.length - 1]!;
    log(`${r.passed ? 'ok  ' : 'FAIL'} ${b} (${r.mode}, ${r.implementation}): ${r.steps} steps of batch ${r.batch}, ${r.stepsPerSecond.toFixed(1)} steps/s; ` +
      `after ${r.warmupSteps} warm-up steps: tensors ${first.tensors} → ${last.tensors} (${r.tensorsFlat ? 'flat' : 'NOT flat'}), ` +
      `live bytes ${first.bytes} → ${last.bytes} (${r.bytesFlat ? 'flat' : 'NOT flat'}), RSS level ${r.rssStartMiB.toFixed(1)} → ${r.rssEndMiB.toFixed(1)} MiB ` +
      `(${(100 * r.rssGrowth).toFixed(2)}%, limit 5%; medians of the first and last quarter; highest sample +${(100 * r.rssPeak).toFixed(2)}%)`);
  }
  const json = get('--json');
  if (json) {
    mkdirSync(dirname(json), { recursive: true });
    writeFileSync(json, `${JSON.stringify(results, null, 1)}\n`);
  }
  return ok ? 0 : 1;
}

process.exitCode = await main();
