/**
 * One bench run: for each workload, every contender in its own fresh process, set up, warmed up
 * (warm-up steps are not recorded), then measured in interleaved rounds (A B C A B C …) so slow
 * drifts of the machine (other jobs, thermal state) hit every contender alike.
 */
import { readFileSync } from 'node:fs';
import { Contender, TimeoutError, TORCH_SCRIPT, WORKER } from './child.js';
import { webgpuEnv } from './dawn.js';
import type { Reply, RunReply, SetupReply } from './protocol.js';
import { summarise, type Summary } from './stats.js';
import { WORKLOADS, quickened, type Workload, type WorkloadId } from './workloads.js';
import { flagString } from '@kindling/core/backend';

export interface ContenderSpec {
  /** 'kindling:cpu', 'kindling:cpu-portable', 'kindling:webgpu', 'tfjs:cpu', 'tfjs:wasm', 'tfjs:webgpu', 'pytorch'. */
  id: string;
  label: string;
  isKindling: boolean;
}

export interface Result {
  workload: WorkloadId;
  contender: string;
  label: string;
  isKindling: boolean;
  status: 'ok' | 'skipped';
  reason?: string;
  info?: string;
  /** The WebGPU adapter (webgpu contenders). */
  adapter?: string;
  unit: string;
  /** Seconds per recorded step. */
  times: number[];
  summary?: Summary;
  maxRss?: number;
  extra?: Record<string, number>;
}

export interface RunOptions {
  workloads: WorkloadId[];
  contenders: ContenderSpec[];
  quick: boolean;
  /** A Python that imports torch, or null (PyTorch skipped with `torchReason`). */
  python: string | null;
  torchReason: string;
  dataDir: string | null;
  log: (line: string) => void;
}

/** Longest a single step may take before the contender is stopped and reported. */
export function stepBudget(w: Workload, quick: boolean): number {
  if (w.id === 'epoch') return quick ? 180 : 900;
  return quick ? 30 : 120;
}

/**
 * The OpenBLAS kernels PyTorch gets: the same choice Kindling's cpu backend makes (see
 * packages/backend-cpu/src/native/addon.ts), so both use the AVX-512 kernels on a CPU that has them
 * even where the machine pins OPENBLAS_CORETYPE to an older core.
 */
function torchBlasCore(): string | undefined {
  const current = process.env.OPENBLAS_CORETYPE;
  const forced = flagString('KINDLING_OPENBLAS_CORETYPE');
  if (forced) return forced === 'keep' ? current : forced;
  if (current && !/^(haswell|zen|sandybridge|nehalem|prescott|core2|penryn|barcelona|bulldozer|piledriver|steamroller|excavator)$/i.test(current)) return current;
  try {
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    if (['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => new RegExp(`\\b${f}\\b`).test(flags))) return 'SkylakeX';
  } catch {
    // not Linux: leave OpenBLAS to detect the CPU
  }
  return current;
}

/** A contender's process with its environment (PyTorch's BLAS settings, the webgpu ICD, …). */
export function spawnContender(spec: ContenderSpec, w: Workload, python: string | null): Contender {
  if (spec.id === 'pytorch') {
    // The setup for PyTorch's best result: OpenBLAS single-threaded for LeNet, two threads
    // otherwise, and the same OpenBLAS kernels as Kindling.
    const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: w.model === 'lenet' ? '1' : '2' };
    const core = torchBlasCore();
    if (core) env.OPENBLAS_CORETYPE = core;
    return new Contender(python!, [TORCH_SCRIPT], env);
  }
  if (spec.id === 'kindling:cpu-portable') {
    return new Contender(process.execPath, [WORKER, 'kindling:cpu'], { ...process.env, KINDLING_CPU_NATIVE: '0' });
  }
  // Both webgpu contenders get the same VK_ICD_FILENAMES, hence the same adapter.
  const env = /:webgpu$/.test(spec.id) ? webgpuEnv(process.env) : { ...process.env };
  return new Contender(process.execPath, [WORKER, spec.id], env);
}

function fail(r: Reply): string | null {
  return r.ok ? null : r.error;
}

/**
 * A contender's failure as the table states it: a TF.js kernel that its backend does not have
 * ("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'") is a "cannot"; anything else
 * a "failed" with the message.
 */
export function failureReason(message: string): string {
  const m = /Kernel '([^']+)' not registered for backend '([^']+)'/.exec(message);
  if (m) return `cannot: no ${m[1]} kernel in TF.js's ${m[2]} backend`;
  return `failed: ${message}`;
}

class OverBudget extends Error {}

export async function runBench(o: RunOptions): Promise<Result[]> {
  const results: Result[] = [];
  for (const id of o.workloads) {
    const w = o.quick ? quickened(WORKLOADS[id]) : WORKLOADS[id];
    const budget = stepBudget(w, o.quick);
    o.log(`\n== ${w.title}`);
    const live: { spec: ContenderSpec; proc: Contender; result: Result }[] = [];
    for (const spec of o.contenders) {
      const result: Result = { workload: id, contender: spec.id, label: spec.label, isKindling: spec.isKindling, status: 'ok', unit: w.unit, times: [] };
      results.push(result);
      if (spec.id === 'pytorch' && !o.python) {
        Object.assign(result, { status: 'skipped', reason: `PyTorch not available (${o.torchReason})` });
        continue;
      }
      // An epoch at a contender's measured LeNet speed in this run: skip it when it cannot finish in budget.
      if (id === 'epoch') {
        const lenet = results.find((r) => r.workload === 'lenet-train' && r.contender === spec.id && r.summary);
        const est = lenet?.summary ? 60000 / lenet.summary.median : 0;
        if (est > budget) {
          Object.assign(result, { status: 'skipped', reason: `an epoch would take about ${Math.round(est)} s at its LeNet speed in this run (limit ${budget} s)` });
          continue;
        }
      }
      const proc = spawnContender(spec, w, o.python);
      try {
        const r = await proc.request({ cmd: 'setup', workload: id, batch: w.batch, dataDir: o.dataDir }, 300);
        const err = fail(r);
        if (err) throw new Error(err);
        result.info = (r as SetupReply).info;
        if ((r as SetupReply).adapter) result.adapter = (r as SetupReply).adapter;
        o.log(`   ${spec.label}: ${result.info}`);
        live.push({ spec, proc, result });
      } catch (e) {
        proc.kill();
        const msg = (e as Error).message;
        Object.assign(result, { status: 'skipped', reason: /^Kernel '/.test(msg) ? failureReason(msg) : `setup failed: ${msg}` });
        o.log(`   ${spec.label}: ${result.reason}`);
      }
    }

    // Warm-up (not recorded), then interleaved rounds.
    const phases: { steps: number; minSeconds: number; record: boolean }[] = [];
    if (w.warmup > 0) phases.push({ steps: w.warmup, minSeconds: 0, record: false });
    for (let r = 0; r < w.rounds; r++) phases.push({ steps: w.maxSteps, minSeconds: w.minSeconds, record: true });
    for (const [pi, phase] of phases.entries()) {
      for (const c of live) {
        if (c.result.status !== 'ok') continue;
        try {
          const r = await c.proc.request({ cmd: 'run', maxSteps: phase.steps, minSeconds: phase.minSeconds, stepBudget: budget }, budget * phase.steps + phase.minSeconds + 30);
          const err = fail(r);
          if (err) throw new Error(err);
          const rr = r as RunReply;
          const slowest = Math.max(...rr.times);
          if (slowest > budget) throw new OverBudget(`stopped: one ${w.id === 'epoch' ? 'epoch' : 'step'} took ${slowest.toFixed(1)} s (limit ${budget} s${o.quick ? ' with --quick' : ''})`);
          if (phase.record) {
            c.result.times.push(...rr.times);
            c.result.extra = rr.extra;
          }
          c.result.maxRss = rr.maxRss;
          if (phase.record) {
            const s = summarise(rr.times, w.itemsPerStep);
            o.log(`   round ${pi + (w.warmup > 0 ? 0 : 1)}/${w.rounds} ${c.spec.label}: ${rr.times.length} step(s), median ${s.median.toFixed(1)} ${w.unit}`);
          }
        } catch (e) {
          c.proc.kill();
          const msg = e instanceof TimeoutError
            ? `stopped: one ${w.id === 'epoch' ? 'epoch' : 'step'} took more than ${budget} s${o.quick ? ' (limit with --quick)' : ''}`
            : e instanceof OverBudget ? e.message : failureReason((e as Error).message);
          Object.assign(c.result, { status: 'skipped', reason: msg, times: [] });
          o.log(`   ${c.spec.label}: ${msg}`);
        }
      }
    }
    for (const c of live) {
      if (c.result.status === 'ok' && c.result.times.length > 0) c.result.summary = summarise(c.result.times, w.itemsPerStep);
      await c.proc.close();
    }
  }
  return results;
}
