/**
 * Bugs the properties found and that are not fixed yet, each with the cases it covers and a
 * minimal one. The properties skip those cases (so the rest of the op stays checked), and
 * test/known-failures.test.ts runs each minimal case and expects it still to fail: when someone
 * fixes the bug, that test says to delete the entry here.
 */
import * as kd from '@kindling/core';
import type { OpCase } from './ops.js';
import type { Outcome } from './check.js';

export interface KnownFailure {
  op: string;
  /** Backends the minimal case fails on (against the cpu portable reference, or PyTorch). */
  backends: string[];
  what: string;
  covers(c: OpCase): boolean;
  minimal: OpCase;
  /** What a fixed backend gives for the minimal case. */
  fixed(o: Outcome): boolean;
}

type Pair = [number, number];
const pair = (v: unknown, dflt: number): Pair => (v == null ? [dflt, dflt] : typeof v === 'number' ? [v, v] : (v as Pair));

/** Whether some max-pool output window has no tap inside the input (only padding under it). */
export function emptyPoolWindow(c: OpCase): boolean {
  const shape = c.inputs[0]!.shape;
  const k = pair(c.params.kernelSize, 1);
  const s = c.params.stride == null ? k : pair(c.params.stride, 1);
  const p = pair(c.params.padding, 0);
  const d = pair(c.params.dilation, 1);
  for (const a of [0, 1] as const) {
    const n = shape[2 + a]!;
    const out = kd.poolOutSize(n, k[a], s[a], p[a], d[a], c.params.ceilMode === true);
    for (let o = 0; o < out; o++) {
      let inside = false;
      for (let i = 0; i < k[a] && !inside; i++) {
        const x = o * s[a] - p[a] + i * d[a];
        inside = x >= 0 && x < n;
      }
      if (!inside) return true;
    }
  }
  return false;
}

export const KNOWN_FAILURES: readonly KnownFailure[] = [
  {
    op: 'maxPool2d',
    backends: ['cpu', 'cuda'],
    what:
      'a dilated window that covers only padding (input height 1, kernel 2, padding 1, dilation 2) gives -Infinity with an ' +
      'index outside the input: backward then throws "index 2 is out of bounds" on cpu (native and portable, the ' +
      'reference, so webgpu cannot be compared there) and adds the gradient to element 0 on cuda. webgpu gives -Infinity ' +
      'and no gradient. PyTorch accepts the geometry (padding ≤ kernel/2).',
    covers: emptyPoolWindow,
    minimal: {
      inputs: [{ dtype: 'float32', shape: [1, 1, 1, 2], base: [1, 1, 1, 2], perm: [0, 1, 2, 3], slices: [], expand: false, data: [0, 1], grad: true }],
      params: { kernelSize: [2, 1], stride: null, padding: [1, 0], dilation: [2, 1], ceilMode: false },
    },
    // -Infinity (nothing under the window) and no gradient to any input element.
    fixed: (o) => o.kind === 'ok' && o.outputs[0]!.data.every((v) => v === -Infinity) && (o.grads[0]?.data ?? []).every((v) => v === 0),
  },
];

export function knownFailure(op: string, c: OpCase): KnownFailure | undefined {
  return KNOWN_FAILURES.find((k) => k.op === op && k.covers(c));
}
