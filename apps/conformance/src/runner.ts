import * as kd from '@kindling/core';
import type { Tensor } from '@kindling/core';
import { compareTensor, type Mismatch } from './compare.js';
import { type GoldenCase, type GoldenFile, loadGoldenDir, toTensor } from './golden.js';
import { goldenHandlers, type OpHandler } from './families/core-ops.js';
import { dropoutStatistics } from './families/dropout.js';

export interface CaseResult {
  family: string;
  name: string;
  backend: string;
  status: 'passed' | 'failed' | 'skipped';
  mismatches: Mismatch[];
  error?: string;
}

export interface RunReport {
  results: CaseResult[];
  skippedFamilies: { family: string; reason: string }[];
  skippedBackends: { backend: string; reason: string }[];
  /** What the runner changed on a backend for the run, and why (printed by the CLI). */
  notes: string[];
  passed: number;
  failed: number;
}

/**
 * Extra families from packages above core (nn, optim) plug in here: a family handler runs one
 * case and returns its mismatches. Registered by families/index.ts when those packages load.
 */
export type CaseRunner = (c: GoldenCase, device: string) => Promise<Mismatch[]>;
const caseRunners = new Map<string, CaseRunner>();
const unavailableFamilies = new Map<string, string>();

export function registerCaseRunner(op: string, run: CaseRunner): void {
  caseRunners.set(op, run);
}

export function markFamilyUnavailable(family: string, reason: string): void {
  unavailableFamilies.set(family, reason);
}


/** The standard values check: run the op, compare outputs, backprop the upstream, compare grads. */
export async function runValuesCase(c: GoldenCase, device: string, handler: OpHandler): Promise<Mismatch[]> {
  const tol = c.tolerance ?? { rtol: 0, atol: 0 };
  const mismatches: Mismatch[] = [];
  const created: Tensor[] = [];
  const track = <T extends Tensor>(t: T): T => {
    created.push(t);
    return t;
  };
  try {
    const inputs: Record<string, Tensor> = {};
    for (const [k, g] of Object.entries(c.inputs ?? {})) {
      inputs[k] = track(toTensor(g, device, g.dtype === 'float32' && c.grads !== undefined && k in c.grads));
    }
    const outputs = await handler({ device, inputs, attrs: c.attrs ?? {} });
    for (const [k, expected] of Object.entries(c.outputs ?? {})) {
      const actual = outputs[k];
      if (!actual) {
        mismatches.push({ what: `output ${k}`, message: 'missing', maxAbs: NaN, maxRel: NaN });
        continue;
      }
      const m = await compareTensor(`output ${k}`, actual, expected, tol);
      if (m) mismatches.push(m);
    }
    const upstream = Object.entries(c.upstream ?? {});
    if (upstream.length > 0 && c.grads && Object.keys(c.grads).length > 0) {
      // Σ_k sum(out_k · up_k): its gradient is exactly torch.autograd.grad(outputs, inputs, upstream).
      let total: Tensor | null = null;
      for (const [k, up] of upstream) {
        const term = track(kd.sum(kd.mul(outputs[k]!, track(toTensor(up, device)))));
        total = total ? track(kd.add(total, term)) : term;
      }
      total!.backward();
      for (const [k, expected] of Object.entries(c.grads)) {
        const input = inputs[k];
        if (!input) {
          mismatches.push({ what: `grad ${k}`, message: 'no such input', maxAbs: NaN, maxRel: NaN });
          continue;
        }
        const g = input.grad ?? track(kd.zerosLike(input));
        const m = await compareTensor(`grad ${k}`, g, expected, tol);
        if (m) mismatches.push(m);
      }
    }
    for (const o of Object.values(outputs)) created.push(o);
  } finally {
    for (const t of created) {
      t.grad?.dispose();
      t.dispose();
    }
  }
  return mismatches;
}

async function runCase(c: GoldenCase, family: string, device: string): Promise<CaseResult> {
  const base = { family, name: c.name, backend: device };
  try {
    kd.manualSeed(c.seed ?? 0);
    const custom = caseRunners.get(c.op);
    const run: CaseRunner | null = custom
      ?? (c.check === 'statistics' && c.op === 'dropout' ? dropoutStatistics : null)
      ?? (c.check === 'values' && goldenHandlers.has(c.op) ? (k, d) => runValuesCase(k, d, goldenHandlers.get(c.op)!) : null);
    if (!run) return { ...base, status: 'skipped', mismatches: [], error: `no handler for op '${c.op}' (check ${c.check})` };
    // One scope per case: intermediates the handlers create are freed with it (the runner is
    // sequential, so async scopes never interleave).
    const mismatches = await kd.tidy(() => run(c, device));
    return { ...base, status: mismatches.length ? 'failed' : 'passed', mismatches };
  } catch (e) {
    return { ...base, status: 'failed', mismatches: [], error: (e as Error).message };
  }
}

/** Whether this runner can run a case of the op at all (else its family is reported as skipped). */
function knows(c: GoldenCase): boolean {
  return caseRunners.has(c.op) || (c.check === 'values' && goldenHandlers.has(c.op)) || (c.check === 'statistics' && c.op === 'dropout');
}

export interface RunOptions {
  dir: string;
  /** Backend kinds to run ('cpu', 'webgpu', 'cuda'); default: every registered kind. */
  backends?: string[];
  /** Called with each finished case (the CLI prints failures as they come). */
  onResult?: (r: CaseResult) => void;
}

export async function runConformance(opts: RunOptions): Promise<RunReport> {
  const files: GoldenFile[] = loadGoldenDir(opts.dir);
  const report: RunReport = { results: [], skippedFamilies: [], skippedBackends: [], notes: [], passed: 0, failed: 0 };
  const registered = kd.availableDevices();
  const wanted = opts.backends ?? ['cpu', 'webgpu', 'cuda'];
  const devices: string[] = [];
  const restore: (() => void)[] = [];
  for (const kind of wanted) {
    const reg = registered.find((r) => r.kind === kind);
    if (!reg) report.skippedBackends.push({ backend: kind, reason: `no backend registered for '${kind}' (package @kindling/backend-${kind} not loaded)` });
    else if (!reg.available) report.skippedBackends.push({ backend: kind, reason: reg.reason ?? 'unavailable' });
    else {
      try {
        await kd.initDevice(kind);
        devices.push(kind);
        fullPrecision(kind, report, restore);
      } catch (e) {
        report.skippedBackends.push({ backend: kind, reason: (e as Error).message });
      }
    }
  }
  for (const f of files) {
    const unavailable = unavailableFamilies.get(f.family);
    const unknown = f.cases.filter((c) => !knows(c));
    if (unavailable) {
      report.skippedFamilies.push({ family: f.family, reason: unavailable });
      continue;
    }
    if (unknown.length === f.cases.length) {
      report.skippedFamilies.push({ family: f.family, reason: `no handler for op(s) ${[...new Set(unknown.map((c) => c.op))].join(', ')}` });
      continue;
    }
    for (const device of devices) {
      for (const c of f.cases) {
        const r = await runCase(c, f.family, device);
        if (r.status === 'skipped') report.skippedFamilies.push({ family: `${f.family}/${c.name}`, reason: r.error ?? '' });
        if (r.status === 'passed') report.passed++;
        if (r.status === 'failed') report.failed++;
        report.results.push(r);
        opts.onResult?.(r);
      }
    }
  }
  for (const r of restore) r();
  return report;
}

/**
 * The golden vectors are PyTorch's FP32 results, so a backend whose default lets convolutions run on
 * TF32 (cuda's allowTF32, as PyTorch's cudnn.allow_tf32) is checked in full FP32, as PyTorch's own
 * tests switch TF32 off for exact comparisons; apps/cuda-check --tf32 checks TF32 within its error.
 */
function fullPrecision(kind: string, report: RunReport, restore: (() => void)[]): void {
  const b = kd.getBackend(kind) as kd.Backend & { allowTF32?: boolean };
  if (b.allowTF32 !== true) return;
  b.allowTF32 = false;
  restore.push(() => void (b.allowTF32 = true));
  report.notes.push(`${kind}: allowTF32 off for this run (the golden vectors are FP32)`);
}
