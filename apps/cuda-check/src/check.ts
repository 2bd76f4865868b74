#!/usr/bin/env node
/**
 * The CUDA device check, bundled into one file (scripts/bundle.mjs) so that a GPU host with no
 * Node modules and no network can run it beside a Node binary and the built addon
 * (scripts/run-on-gpu.sh). Each part can run in its own process, so a device fault in one does
 * not hide the others:
 *
 *   --golden DIR      conformance runner over the golden folder on cuda (KINDLING_CUDA_FUSED=0: reference path)
 *   --versus          cuda against cpu on large shapes (versus-cpu.ts)
 *   --tf32            with allowTF32 on, convolutions against cpu within TF32's error (and not FP32's)
 *   --errors          what a user meets when things go wrong: device-side index errors, OOM, bad device (errors.ts)
 *   --train-check     LeNet, 200 Adam steps on synthetic batches: the loss must fall; first steps match cpu
 *   --bench LIST      timings: lenet (train, batch 256), alexnet (train, batch 128, 1×224×224)
 *   --micro           AlexNet's convolutions (batch 128) one by one, against a matmul of the same FLOPs
 *   --precision       AlexNet's largest convolutions against cpu as cuDNN runs them: FP32 (timed, heuristic) FP32-class, TF32 within TF32's error
 *   --json FILE       writes what ran as JSON
 *   --table K.json T.json   prints the summary table from Kindling's and PyTorch's JSON files
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as kd from '@kindling/core';
import '@kindling/autograd';
import '@kindling/backend-cpu';
import { addonStatus } from '@kindling/backend-cuda';
import { runConformance } from '@kindling/conformance';
import '@kindling/conformance/nn-families';
import { CrossEntropyLoss, type Module } from '@kindling/nn';
import { Adam, SGD } from '@kindling/optim';
import { alexnetD2l, d2lInit, lenetD2l, trainStep } from '@kindling/trainer';
import { errorChecks } from './errors.js';
import { convPrecision, tf32VersusCpu, versusCpu, type VersusResult } from './versus-cpu.js';
import { flagBool } from '@kindling/core/backend';

const { values, positionals } = parseArgs({
  options: {
    golden: { type: 'string' },
    versus: { type: 'boolean', default: false },
    errors: { type: 'boolean', default: false },
    tf32: { type: 'boolean', default: false },
    'train-check': { type: 'boolean', default: false },
    bench: { type: 'string' },
    json: { type: 'string' },
    table: { type: 'boolean', default: false },
    micro: { type: 'boolean', default: false },
    precision: { type: 'boolean', default: false },
    device: { type: 'string', default: 'cuda' },
  },
  allowPositionals: true,
});

const device = values.device!;
const out: Record<string, unknown> = {};

async function conformance(dir: string): Promise<void> {
  const failures: string[] = [];
  const report = await runConformance({
    dir,
    backends: [device.split(':')[0]!],
    onResult: (r) => {
      if (r.status === 'failed') {
        const detail = r.error ?? r.mismatches.map((m) => `${m.what}: ${m.message} (max abs ${m.maxAbs}, max rel ${m.maxRel})`).join('; ');
        failures.push(`${r.family}/${r.name}: ${detail}`);
        console.log(`FAIL [${r.backend}] ${r.family}/${r.name}: ${detail}`);
      }
    },
  });
  for (const n of report.notes) console.log(`NOTE ${n}`);
  for (const b of report.skippedBackends) console.log(`SKIP backend ${b.backend}: ${b.reason}`);
  for (const f of report.skippedFamilies) console.log(`SKIP family ${f.family}: ${f.reason}`);
  const mode = flagBool('KINDLING_CUDA_FUSED') ? 'fused' : 'reference';
  console.log(`conformance (${mode}): ${report.passed} passed, ${report.failed} failed`);
  out[`conformance_${mode}`] = { passed: report.passed, failed: report.failed, failures, skipped: report.skippedBackends };
}

/** Prints one line per case and a `label: N passed, N failed` summary, and keeps the results. */
function report(label: string, key: string, results: VersusResult[]): void {
  for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${label}: ${r.name}${r.ok ? '' : ` — ${r.detail}`}`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${label}: ${results.length - failed} passed, ${failed} failed`);
  out[key] = results;
}

/** Ten class templates plus noise: learnable in a few hundred steps. */
function syntheticBatches(dev: string, n: number, batch: number): { x: kd.Tensor; y: kd.Tensor }[] {
  kd.manualSeed(7);
  const templates = kd.randn([10, 1, 28, 28], { device: dev });
  const batches: { x: kd.Tensor; y: kd.Tensor }[] = [];
  for (let i = 0; i < n; i++) {
    const y = kd.randint(0, 10, [batch], { device: dev });
    const onehot = kd.cast(kd.eq(kd.unsqueeze(y, 1), kd.arange(0, 10, 1, { device: dev })), 'float32');
    const picked = kd.reshape(kd.matmul(onehot, kd.reshape(templates, [10, 784])), [batch, 1, 28, 28]);
    const x = kd.add(picked, kd.mul(kd.randn([batch, 1, 28, 28], { device: dev }), 0.8));
    batches.push({ x: kd.keep(x), y: kd.keep(y) });
  }
  return batches;
}

async function trainLosses(dev: string, steps: number): Promise<number[]> {
  const batches = kd.tidy(() => syntheticBatches(dev, 8, 256));
  kd.manualSeed(42);
  const model = lenetD2l();
  d2lInit(model);
  model.to(dev);
  const opt = new Adam(model.parameters(), { lr: 0.003 });
  const lossFn = new CrossEntropyLoss();
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { x, y } = batches[s % batches.length]!;
    losses.push(await trainStep(model, opt, lossFn, x, y));
  }
  return losses;
}

async function trainCheck(): Promise<void> {
  const t0 = performance.now();
  const losses = await trainLosses(device, 200);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = await trainLosses('cpu', 10);
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
  const first = losses[0]!;
  const last = mean(losses.slice(-20));
  const drift = Math.max(...cpu.map((v, i) => Math.abs(v - losses[i]!)));
  const ok = Number.isFinite(last) && last < 0.5 * first && drift < 1e-2;
  console.log(`train check: LeNet 200 Adam steps on ${device}: loss ${first.toFixed(4)} → ${last.toFixed(4)} (mean of last 20), ${seconds.toFixed(1)} s; first 10 steps vs cpu: max |diff| ${drift.toExponential(2)} — ${ok ? 'ok' : 'FAIL'}`);
  out.train_check = { ok, first, last, seconds, cpuDrift: drift, losses };
}

async function timeTraining(name: 'lenet' | 'alexnet'): Promise<void> {
  const batch = name === 'lenet' ? 256 : 128;
  const size = name === 'lenet' ? 28 : 224;
  const [warm, steps] = name === 'lenet' ? [20, 100] : [5, 20];
  kd.manualSeed(0);
  const model: Module = name === 'lenet' ? lenetD2l() : alexnetD2l();
  d2lInit(model);
  model.to(device);
  model.train();
  const opt = new SGD(model.parameters(), { lr: name === 'lenet' ? 0.9 : 0.01 });
  const lossFn = new CrossEntropyLoss();
  const x = kd.keep(kd.randn([batch, 1, size, size], { device }));
  const y = kd.keep(kd.randint(0, 10, [batch], { device }));
  const step = (): Promise<number> => trainStep(model, opt, lossFn, x, y);
  for (let i = 0; i < warm; i++) await step();
  const backend = kd.getBackend(device) as kd.Backend & { profile?: () => Record<string, { calls: number; hostUs: number; deviceUs: number }> };
  const profiling = flagBool('KINDLING_CUDA_PROFILE') && backend.profile;
  if (profiling) backend.profile!();
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const s = performance.now();
    await step();
    times.push(performance.now() - s);
  }
  const total = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const ips = (batch * steps) / total;
  const mem = kd.memory();
  console.log(`bench ${name} train batch ${batch}: ${ips.toFixed(0)} img/s (median step ${median.toFixed(2)} ms)`);
  if (profiling) {
    const p = Object.entries(backend.profile!()).sort((a, b) => b[1].deviceUs + b[1].hostUs - (a[1].deviceUs + a[1].hostUs));
    console.log(`  per step, by op (calls, host ms, device ms):`);
    for (const [op, r] of p.slice(0, 14)) console.log(`  ${op.padEnd(22)} ${(r.calls / steps).toFixed(1).padStart(6)} ${(r.hostUs / steps / 1000).toFixed(3).padStart(8)} ${(r.deviceUs / steps / 1000).toFixed(3).padStart(8)}`);
    const tot = p.reduce((a, [, r]) => [a[0]! + r.calls, a[1]! + r.hostUs, a[2]! + r.deviceUs], [0, 0, 0]);
    console.log(`  ${'total'.padEnd(22)} ${(tot[0]! / steps).toFixed(1).padStart(6)} ${(tot[1]! / steps / 1000).toFixed(3).padStart(8)} ${(tot[2]! / steps / 1000).toFixed(3).padStart(8)}`);
  }
  out[`bench_${name}`] = { batch, steps, seconds: total, imagesPerSecond: ips, medianStepMs: median, memory: mem };
}

/** Times fn (which queues device work) over `iters` runs after one warm-up, in ms per run. */
async function timeIt(fn: () => void, iters: number): Promise<number> {
  const b = kd.getBackend(device);
  fn();
  await b.sync();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) fn();
  await b.sync();
  return (performance.now() - t0) / iters;
}

/** AlexNet's five convolutions at batch 128: forward and both backward passes, against a plain matmul of the same product. */
async function micro(): Promise<void> {
  const convs: [number, number, number, number, number, number][] = [
    // [C, H, O, k, stride, pad]
    [1, 224, 96, 11, 4, 1], [96, 26, 256, 5, 1, 2], [256, 12, 384, 3, 1, 1], [384, 12, 384, 3, 1, 1], [384, 12, 256, 3, 1, 1],
  ];
  const rows: Record<string, number>[] = [];
  for (const [C, H, O, k, st, pad] of convs) {
    const r = kd.tidy(() => {
      const x = kd.keep(kd.randn([128, C, H, H], { device }));
      const w = kd.keep(kd.randn([O, C, k, k], { device }));
      const b = kd.keep(kd.randn([O], { device }));
      const p = kd.conv2dParams({ stride: st, padding: pad });
      const y = kd.keep(kd.conv2d(x, w, b, { stride: st, padding: pad }));
      const P = y.shape[2]! * y.shape[3]!;
      const a = kd.keep(kd.randn([O, C * k * k], { device }));
      const m = kd.keep(kd.randn([C * k * k, 128 * P], { device }));
      const gflop = (2 * O * C * k * k * 128 * P) / 1e9;
      return { x, w, b, p, y, a, m, gflop, P };
    });
    const fwd = await timeIt(() => kd.tidy(() => void kd.conv2d(r.x, r.w, r.b, { stride: r.p.stride, padding: r.p.padding })), 5);
    const bwi = await timeIt(() => kd.tidy(() => void kd.conv2dBackwardInput(r.y, r.w, r.x.shape, r.p)), 5);
    const bww = await timeIt(() => kd.tidy(() => void kd.conv2dBackwardWeight(r.y, r.x, r.w.shape, r.p)), 5);
    const mm = await timeIt(() => kd.tidy(() => void kd.matmul(r.a, r.m)), 5);
    const tf = (ms: number): string => `${ms.toFixed(2)} ms ${(r.gflop / ms).toFixed(1)} TFLOP/s`;
    console.log(`conv ${C}→${O} k${k} s${st} on ${H}² (${r.gflop.toFixed(1)} GFLOP): fwd ${tf(fwd)} | bwd input ${tf(bwi)} | bwd weight ${tf(bww)} | same-size matmul ${tf(mm)}`);
    rows.push({ C, O, k, H, gflop: r.gflop, fwd, bwi, bww, mm });
    for (const t of [r.x, r.w, r.b, r.y, r.a, r.m]) t.dispose();
  }
  out.micro = rows;
}

/**
 * `--table label=kindling.json ... torch.json`: one row per workload and Kindling configuration,
 * against PyTorch's defaults, its full FP32, and its cudnn.benchmark run of the same precision as the
 * configuration (TF32 convolutions, both libraries' default, unless the label says fp32).
 */
function table(args: string[]): void {
  type Row = { imagesPerSecond: number; medianStepMs: number };
  // PyTorch's figures may be missing (no torch with CUDA on the host): its columns then say n/a.
  const torchFile = args.at(-1)!;
  const t = existsSync(torchFile) ? (JSON.parse(readFileSync(torchFile, 'utf8')) as Record<string, Row>) : {};
  const configs = args.slice(0, -1).flatMap((a) => {
    const [label, file] = a.split('=') as [string, string];
    return existsSync(file) ? [{ label, data: JSON.parse(readFileSync(file, 'utf8')) as Record<string, Row> }] : [];
  });
  const f = (r?: Row): string => (r ? `${r.imagesPerSecond.toFixed(0)} img/s (${r.medianStepMs.toFixed(2)} ms)` : 'n/a');
  const head = ['workload', 'Kindling', 'Kindling img/s', 'PyTorch defaults', 'PyTorch no TF32', 'PyTorch cudnn.benchmark, same precision',
    '÷ PyTorch defaults', '÷ PyTorch no TF32', '÷ PyTorch benchmark'];
  const rows = [head, head.map(() => '---')];
  const ratio = (k: Row, r?: Row): string => (r ? `${(k.imagesPerSecond / r.imagesPerSecond).toFixed(2)}×` : 'n/a');
  for (const name of ['lenet', 'alexnet']) {
    const td = t[`${name}_default`];
    const tf = t[`${name}_fp32`];
    for (const c of configs) {
      const k = c.data[`bench_${name}`];
      if (!k) continue;
      const tb = t[c.label.includes('fp32') ? `${name}_fp32_benchmark` : `${name}_default_benchmark`];
      rows.push([`${name} train, batch ${name === 'lenet' ? 256 : 128}`, c.label, f(k), f(td), f(tf), f(tb), ratio(k, td), ratio(k, tf), ratio(k, tb)]);
    }
  }
  console.log(rows.map((r) => `| ${r.join(' | ')} |`).join('\n'));
}

if (values.table) {
  table(positionals);
  process.exit(0);
}

if (device.startsWith('cuda')) {
  const s = addonStatus();
  console.log(`cuda: ${s.reason ?? `${s.deviceCount} device(s)`}; addon ${s.path ?? 'none'}; matmul: ${s.matmul ?? '?'}; conv: ${s.conv ?? '?'}`);
  if (s.reason) {
    console.log(`SKIP: cuda unavailable: ${s.reason}`);
    process.exit(0);
  }
}
await kd.initDevice(device);
console.log(kd.getBackend(device).info().implementation);
out.info = kd.getBackend(device).info();
if (values.golden) await conformance(values.golden);
if (values.versus) report('versus cpu', 'versus', await versusCpu(device));
if (values.tf32) report('tf32 versus cpu', 'tf32', await tf32VersusCpu(device));
if (values.errors) report('errors', 'errors', await errorChecks(device));
if (values['train-check']) await trainCheck();
if (values.micro) await micro();
if (values.precision) report('precision', 'precision', await convPrecision(device));
for (const b of (values.bench ?? '').split(',').filter(Boolean)) await timeTraining(b as 'lenet' | 'alexnet');
if (values.json) writeFileSync(values.json, `${JSON.stringify(out, null, 1)}\n`);
