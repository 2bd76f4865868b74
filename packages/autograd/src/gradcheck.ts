import { type Tensor, tensor, noGrad, tidy, binary, sum, rand, KindlingError } from '@kindling/core';
import { backward } from './engine.js';

export interface GradcheckOptions {
  /** Finite-difference step. float32 needs a larger one than PyTorch's float64 default (1e-6). */
  eps?: number;
  atol?: number;
  rtol?: number;
}

export interface GradcheckResult {
  ok: boolean;
  maxAbsError: number;
  /** Per input: the first mismatching element, if any. */
  failures: { input: number; index: number; analytic: number; numeric: number }[];
}

/**
 * Compares backward()'s gradients of L = Σ fn(inputs)·w (w fixed and random) with central finite
 * differences, element by element, for every input that requires grad. Inputs are rebuilt from
 * host data at each perturbation, so it works on any backend; keep them small.
 */
export async function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): Promise<GradcheckResult> {
  const eps = opts.eps ?? 1e-3;
  const atol = opts.atol ?? 1e-3;
  const rtol = opts.rtol ?? 1e-2;
  const hostInputs = await Promise.all(inputs.map(async (t) => Float32Array.from(await t.data())));
  const out0 = noGrad(() => fn(...inputs));
  const w = rand(out0.shape, { device: out0.device });
  out0.dispose();
  const loss = (xs: Tensor[]): Tensor => tidy(() => sum(binary('mul', fn(...xs), w)));

  // Analytic gradients.
  const leaves = inputs.map((t, i) => tensor(hostInputs[i]!, { shape: t.shape, device: t.device, requiresGrad: t.requiresGrad }));
  const l = loss(leaves);
  backward(l);
  l.dispose();

  const result: GradcheckResult = { ok: true, maxAbsError: 0, failures: [] };
  for (let i = 0; i < inputs.length; i++) {
    if (!inputs[i]!.requiresGrad) continue;
    const g = leaves[i]!.grad;
    if (!g) throw new KindlingError('gradcheck', `input ${i} requires grad but received none`);
    const analytic = await g.data();
    const base = hostInputs[i]!;
    for (let j = 0; j < base.length; j++) {
      const evalAt = async (delta: number): Promise<number> => {
        const pert = Float32Array.from(base);
        pert[j] = base[j]! + delta;
        const xs = inputs.map((t, k) => (k === i ? tensor(pert, { shape: t.shape, device: t.device }) : tensor(hostInputs[k]!, { shape: t.shape, device: t.device })));
        const v = noGrad(() => loss(xs));
        const r = await v.item();
        v.dispose();
        for (const x of xs) x.dispose();
        return r;
      };
      // Use the actually representable step so float32 rounding of x ± eps does not bias the slope.
      const hi = Math.fround(base[j]! + eps) - base[j]!;
      const lo = Math.fround(base[j]! - eps) - base[j]!;
      const numeric = ((await evalAt(hi)) - (await evalAt(lo))) / (hi - lo);
      const a = analytic[j]!;
      const err = Math.abs(a - numeric);
      result.maxAbsError = Math.max(result.maxAbsError, err);
      if (err > atol + rtol * Math.abs(numeric)) {
        result.ok = false;
        if (result.failures.filter((f) => f.input === i).length < 5) result.failures.push({ input: i, index: j, analytic: a, numeric });
      }
    }
  }
  for (const t of leaves) {
    t.grad?.dispose();
    t.dispose();
  }
  w.dispose();
  return result;
}
