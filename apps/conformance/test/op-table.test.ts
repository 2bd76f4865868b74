/**
 * Completeness of core's op table (packages/core/src/ops/table.ts) across the layers: every op
 * has a derivative or is marked non-differentiable, a kernel in each backend's dispatch tables
 * (cpu, WGSL, CUDA) and a conformance handler, and each native addon was built with core's op
 * codes. The types already make a missing entry a compile error; this checks what the built
 * packages actually hold, the C++ side included.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EMULATOR_ADDON as emulator, EMULATOR_ENV } from '@kindling/backend-cuda/emulator';
import * as kd from '@kindling/core';
import { derivatives } from '@kindling/autograd';
import { kernelOps as cpuKernelOps } from '@kindling/backend-cpu';
import { kernelOps as wgslKernelOps } from '@kindling/backend-webgpu';
import { goldenHandlers, tableOps } from '../src/families/core-ops.js';

// Set before @kindling/backend-cuda loads (below): the cuda device runs the addon's own kernels on
// the CPU emulator. This file runs in its own process (vitest's forks pool).
Object.assign(process.env, EMULATOR_ENV);

const sorted = (xs: readonly string[]): string[] => [...xs].sort();
/** The op names each family of the generated kindling_ops.h holds, as core's table orders them. */
const expectedNames = Object.fromEntries(kd.NATIVE_FAMILIES.map((f) => [f.name.toLowerCase(), [...f.ops]]));

/** An addon's exported opNames, read in a child process (the cpu addon picks one ISA level per process). */
function addonOpNames(file: string, select: boolean): unknown {
  const script = `const m = require(${JSON.stringify(file)}); const a = ${select ? 'm.select(m.supported[0])' : 'm'}; process.stdout.write(JSON.stringify(a.opNames ?? null));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

describe("core's op table is complete in every layer", () => {
  it('every op has a derivative, or is marked non-differentiable and has none', () => {
    for (const op of kd.OP_NAMES) {
      if (kd.NON_DIFFERENTIABLE.has(op)) expect(op in derivatives, op).toBe(false);
      else expect(typeof (derivatives as Record<string, { backward?: unknown }>)[op]?.backward, op).toBe('function');
    }
    expect(sorted(Object.keys(derivatives))).toEqual(sorted(kd.DIFFERENTIABLE_OPS));
  });

  it('every primitive op has a cpu kernel and a WGSL expression, and nothing else is there', () => {
    expect(sorted(cpuKernelOps.unary)).toEqual(sorted(kd.UNARY_OPS));
    expect(sorted(cpuKernelOps.binary)).toEqual(sorted(kd.BINARY_OPS));
    expect(sorted(cpuKernelOps.reduce)).toEqual(sorted(kd.REDUCE_OPS));
    expect(sorted(cpuKernelOps.activation)).toEqual(sorted(kd.ACTIVATION_OPS));
    expect(sorted(wgslKernelOps.unary)).toEqual(sorted(kd.UNARY_OPS));
    expect(sorted(wgslKernelOps.binary)).toEqual(sorted(kd.BINARY_OPS));
    expect(sorted(wgslKernelOps.reduce)).toEqual(sorted(kd.REDUCE_OPS));
  });

  it('every op has a conformance handler, found under its PyTorch name', () => {
    for (const op of kd.OP_NAMES) {
      expect(typeof tableOps[op], op).toBe('function');
      expect(goldenHandlers.get(kd.torchName(op)), op).toBe(tableOps[op]);
    }
  });

  it("the cpu addon was built with core's op codes", () => {
    const req = createRequire(import.meta.url);
    const files = [fileURLToPath(new URL('../../../packages/backend-cpu/build/Release/kindling_cpu.node', import.meta.url))];
    try {
      files.push(req.resolve('@kindling/backend-cpu-linux-x64-gnu/kindling_cpu.node'));
    } catch {
      // the platform package has no addon on this machine (not x86-64 Linux, or its build failed)
    }
    const built = files.filter((f) => existsSync(f));
    if (built.length === 0) console.warn('no cpu addon built here: its op codes were not checked');
    for (const f of built) {
      const names = addonOpNames(f, true);
      expect(names, f).toEqual(expectedNames);
      expect(kd.nativeOpNamesMismatch(names)).toBeNull();
    }
  });

  it.skipIf(!existsSync(emulator))("the CUDA addon (its emulator build) was built with core's op codes", () => {
    expect(addonOpNames(emulator, false)).toEqual(expectedNames);
  });
});

const cuda = existsSync(emulator) ? await import('@kindling/backend-cuda') : null;
if (!cuda) console.warn(`${emulator} was not built (g++ missing?): the CUDA kernels were not checked`);

describe.skipIf(!cuda)("every primitive op runs on the CUDA addon's kernels (emulated) as on cpu", () => {
  async function same(op: string, run: (device: string) => kd.Tensor): Promise<void> {
    const want = Array.from(await run('cpu').data());
    const got = Array.from(await run('cuda').data());
    expect(got.length, op).toBe(want.length);
    for (let i = 0; i < want.length; i++) {
      const [g, w] = [got[i]!, want[i]!];
      if (g === w) continue;
      if (Number.isNaN(w)) expect(Number.isNaN(g), `${op}[${i}]: got ${g}, expected NaN`).toBe(true);
      else expect(Math.abs(g - w), `${op}[${i}]: got ${g}, expected ${w}`).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(w));
    }
  }

  const floats = [-2.5, -1, -0.5, -0, 0, 0.25, 0.5, 1, 1.5, 2.5, 3];
  const ints = [-3, -1, 0, 1, 2, 5];

  it('is available on the emulator', () => {
    expect(cuda!.cudaUnavailableReason()).toBeNull();
  });

  it('unary: every op on float32, and the int-preserving ones on int32', async () => {
    for (const op of kd.UNARY_OPS) {
      await same(op, (d) => kd.unary(op, kd.tensor(floats, { device: d, dtype: 'float32' })));
      if (kd.INT_PRESERVING.has(op) || op === 'logicalNot') await same(`${op} (int32)`, (d) => kd.unary(op, kd.tensor(ints, { device: d, dtype: 'int32' })));
    }
  });

  it('binary: every op on float32 and on int32 operands, with a broadcast scalar', async () => {
    const b = [1.5, 2, -0.5, 0, 0, 0.25, 3, 1, -1.5, 2.5, 0.5];
    for (const op of kd.BINARY_OPS) {
      await same(op, (d) => kd.binary(op, kd.tensor(floats, { device: d, dtype: 'float32' }), kd.tensor(b, { device: d, dtype: 'float32' })));
      await same(`${op} (int32)`, (d) => kd.binary(op, kd.tensor(ints, { device: d, dtype: 'int32' }), kd.tensor([2, 1, 0, 1, -2, 3], { device: d, dtype: 'int32' })));
      await same(`${op} (scalar)`, (d) => kd.binary(op, kd.tensor(floats, { device: d, dtype: 'float32' }), 2));
    }
  });

  it('reduce: every op over a dim', async () => {
    const x = (d: string): kd.Tensor => kd.tensor([[3, -1, 2, 2], [0.5, 4, -2, 4], [1, 1, 1, 1]], { device: d, dtype: 'float32' });
    const run: Record<kd.ReduceOp, (t: kd.Tensor) => kd.Tensor> = {
      sum: (t) => kd.sum(t, 1),
      max: (t) => kd.amax(t, 1),
      min: (t) => kd.amin(t, 1),
      argmax: (t) => kd.argmax(t, 1),
      argmin: (t) => kd.argmin(t, 1),
    };
    for (const op of kd.REDUCE_OPS) await same(op, (d) => run[op](x(d)));
  });
});
