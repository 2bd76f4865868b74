/**
 * One property per op: on random cases, the device under test and the reference (cpu portable)
 * agree — both refuse the case, or both give the same output shapes, dtypes and values and the
 * same gradient for every input — and the device leaks no tensor doing it. fast-check shrinks a
 * failure to a minimal case, printed as the code that rebuilds it.
 */
import fc from 'fast-check';
import * as kd from '@kindling/core';
import type { Tensor } from '@kindling/core';
import { buildInput, describeInput } from './inputs.js';
import { REFERENCE } from './backends.js';
import type { OpCase, OpSpec } from './ops.js';
import type { ValueOptions } from './inputs.js';
import { knownFailure } from './known.js';
import { flagBool } from '@kindling/core/backend';

export interface Values {
  dtype: string;
  shape: number[];
  data: number[];
}
export type Outcome = { kind: 'error'; message: string } | { kind: 'ok'; outputs: Values[]; grads: (Values | null)[] };

/** Upstream gradients: multiples of 1/8 in [-1, 1] from a tiny LCG, the same on every device. */
function upstream(n: number, seed: number): number[] {
  let s = (seed * 2654435761) >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s >>> 16) % 17) / 8 - 1;
  });
}

async function values(t: Tensor): Promise<Values> {
  return { dtype: t.dtype, shape: [...t.shape], data: Array.from(await t.data(), Number) };
}

/** Runs one case on `device`: outputs, then Σ sum(out·up) backward and every input's gradient. */
export async function evaluate(op: OpSpec, c: OpCase, device: string): Promise<Outcome> {
  try {
    return await kd.tidy(async (): Promise<Outcome> => {
      const built = c.inputs.map((s) => buildInput(s, device));
      const res = op.run(built.map((b) => b.view), structuredClone(c.params));
      const outs = Array.isArray(res) ? res : [res];
      const outputs: Values[] = [];
      for (const o of outs) outputs.push(await values(o));
      let grads: (Values | null)[] = built.map(() => null);
      const diff = outs.filter((o) => o.requiresGrad);
      if (diff.length > 0) {
        let total: Tensor | null = null;
        diff.forEach((o, k) => {
          const up = kd.tensor(upstream(o.numel(), k + 1), { shape: o.shape, device });
          const term = kd.sum(kd.mul(o, up));
          total = total ? kd.add(total, term) : term;
        });
        (total as unknown as Tensor).backward();
        grads = [];
        for (const b of built) grads.push(b.leaf.grad ? await values(b.leaf.grad) : null);
        for (const b of built) b.leaf.grad?.dispose();
      }
      return { kind: 'ok', outputs, grads };
    });
  } catch (e) {
    return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
  }
}

/** op.wellConditioned on the reference's views; a case the op refuses counts as conditioned (both must refuse it). */
function wellConditioned(op: OpSpec, c: OpCase): boolean {
  if (!op.wellConditioned) return true;
  try {
    return kd.tidy(() => op.wellConditioned!(c.inputs.map((s) => buildInput(s, REFERENCE).view), c.params));
  } catch {
    return true;
  }
}

export interface Tolerance {
  /** Relative tolerance per element. */
  rtol: number;
  /** Absolute tolerance, times max(1, the largest finite reference magnitude) and √terms. */
  atol: number;
}

/** The first disagreement between two value sets, or null. NaN equals NaN; ±Inf must match exactly. */
function differ(what: string, a: Values, b: Values, tol: Tolerance, terms: number): string | null {
  if (a.dtype !== b.dtype) return `${what}: dtype ${a.dtype}, reference ${b.dtype}`;
  if (a.shape.join() !== b.shape.join()) return `${what}: shape [${a.shape}], reference [${b.shape}]`;
  const scale = Math.max(1, ...b.data.filter(Number.isFinite).map(Math.abs));
  const atol = a.dtype === 'float32' ? tol.atol * scale * Math.sqrt(terms) : 0;
  const rtol = a.dtype === 'float32' ? tol.rtol : 0;
  for (let i = 0; i < b.data.length; i++) {
    const x = a.data[i]!;
    const y = b.data[i]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (!Number.isFinite(y) || !Number.isFinite(x) ? x === y : Math.abs(x - y) <= atol + rtol * Math.abs(y)) continue;
    return `${what}: element ${i} is ${x}, reference ${y} (atol ${atol.toExponential(1)}, rtol ${rtol})`;
  }
  return null;
}

/** Why the device's outcome is not the reference's, or null when they agree. */
export function disagreement(dev: Outcome, ref: Outcome, tol: Tolerance, terms: number): string | null {
  if (dev.kind === 'error' || ref.kind === 'error') {
    if (dev.kind === ref.kind) return null; // both refuse (their messages may differ: a GPU reports some errors at the read)
    return dev.kind === 'error' ? `the device threw "${dev.message}", the reference did not` : `the reference threw "${(ref as { message: string }).message}", the device did not`;
  }
  if (dev.outputs.length !== ref.outputs.length) return `${dev.outputs.length} outputs, reference ${ref.outputs.length}`;
  for (let k = 0; k < ref.outputs.length; k++) {
    const d = differ(`output ${k}`, dev.outputs[k]!, ref.outputs[k]!, tol, terms);
    if (d) return d;
  }
  for (let k = 0; k < ref.grads.length; k++) {
    const g = dev.grads[k] ?? null;
    const r = ref.grads[k] ?? null;
    if ((g === null) !== (r === null)) return `grad of input ${k}: ${g ? 'present' : 'missing'} on the device, ${r ? 'present' : 'missing'} in the reference`;
    if (g && r) {
      const d = differ(`grad of input ${k}`, g, r, tol, terms);
      if (d) return d;
    }
  }
  return null;
}

/** The counterexample as code: the inputs and the op's parameters. */
export function describeCase(op: OpSpec, c: OpCase): string {
  return `${op.name}(${c.inputs.map(describeInput).join(', ')}${Object.keys(c.params).length ? `, ${JSON.stringify(c.params)}` : ''})`;
}

export class PropertyFailure extends Error {}

/** The property of one op on one device. */
export function opProperty(op: OpSpec, device: string, tol: Tolerance, v: ValueOptions, stats = { refused: 0 }): fc.IAsyncPropertyWithHooks<[OpCase]> {
  return fc.asyncProperty(op.arb(v), async (c) => {
    fc.pre(!knownFailure(op.name, c)); // checked on its own by test/properties.test.ts
    fc.pre(wellConditioned(op, c));
    if (flagBool('KINDLING_FUZZ_TRACE')) process.stderr.write(`${describeCase(op, c)}\n`);
    const before = kd.memory().devices[kd.canonicalDevice(device)]?.tensors ?? 0;
    const dev = await evaluate(op, c, device);
    const after = kd.memory().devices[kd.canonicalDevice(device)]?.tensors ?? 0;
    const ref = await evaluate(op, c, REFERENCE);
    const why = disagreement(dev, ref, tol, op.terms?.(c) ?? 1);
    if (why) throw new PropertyFailure(`${op.name} on ${device}: ${why}`);
    if (after !== before) throw new PropertyFailure(`${op.name} on ${device}: ${after - before} tensors left alive`);
    if (ref.kind === 'error') stats.refused++;
  });
}

export interface RunOptions {
  /** Cases per op (fast-check's numRuns). */
  runs?: number;
  /** Stop after this long (ms) even if fewer cases ran. */
  timeLimitMs?: number;
  seed?: number;
  values?: ValueOptions;
}

export interface OpResult {
  op: string;
  device: string;
  runs: number;
  /** Cases both sides refused (the rest were computed and compared). */
  refused: number;
  /** The shrunk counterexample and why it fails, or null. */
  failure: string | null;
  seed: number;
}

/** Runs one op's property; a failure comes back shrunk, with fast-check's seed and path to replay it. */
export async function checkOp(op: OpSpec, device: string, tol: Tolerance, o: RunOptions = {}): Promise<OpResult> {
  const seed = o.seed ?? Date.now() ^ (Math.random() * 2 ** 31);
  const stats = { refused: 0 };
  const values = op.finite ? { ...o.values, specials: false } : o.values ?? {};
  const details = await fc.check(opProperty(op, device, tol, values, stats), {
    numRuns: o.runs ?? (o.timeLimitMs ? Number.MAX_SAFE_INTEGER : 100),
    seed,
    plugins: o.timeLimitMs ? [fc.interruptAfterTimeLimit(o.timeLimitMs)] : [],
  });
  let failure: string | null = null;
  if (details.failed) {
    const c = (details.counterexample as [OpCase] | null)?.[0];
    const err = details.errorInstance;
    failure = `${err instanceof Error ? err.message : String(err)}\n  minimal case: ${c ? describeCase(op, c) : '?'}\n  replay: seed ${details.seed}, path "${details.counterexamplePath}"`;
  }
  return { op: op.name, device, runs: details.numRuns, refused: stats.refused, failure, seed };
}
