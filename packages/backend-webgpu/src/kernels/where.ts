/**
 * where(cond, a, b): out[i] = cond[i] ? a[i] : b[i], with broadcast views or scalars on either
 * branch. cond is tested against zero in its own dtype (core hands bool); the chosen value is
 * converted to the output dtype (a bool output stores `value != 0`, as the CPU backend).
 */
import type { Operand, View } from '@kindling/core';
import type { Engine } from '../engine.js';
import { numelOf } from '../strided.js';
import { convert, dtOf, entry1d, stridedNumel } from '../wgsl.js';
import { planElementwise, type OperandPlan } from './binary.js';

export function where(e: Engine, cond: View, a: Operand, b: Operand, out: View): void {
  const n = numelOf(out.shape);
  if (n === 0) return;
  const to = dtOf(out.dtype);
  const plan = planElementwise(e, 'where', [{ name: 'c', x: cond }, { name: 'a', x: a }, { name: 'b', x: b }], out, to);
  const [pc, pa, pb] = plan.plans as [OperandPlan, OperandPlan, OperandPlan];
  const wg = e.wg;
  e.run({
    key: `where:${pc.keyPart},${pa.keyPart},${pb.keyPart}>${to}:r${plan.rank}`,
    bindings: plan.bindings,
    params: plan.params,
    groups: Math.ceil(n / wg),
    source: (v) => `${entry1d(wg)}
  if (gid >= ${stridedNumel(0)}) { return; }
  ${plan.offsets}
  let cv = ${convert(pc.load(v), pc.dt, 'bool')};
  if (cv != 0u) {
    ${v.out}[oout] = ${convert(pa.load(v), pa.dt, to)};
  } else {
    ${v.out}[oout] = ${convert(pb.load(v), pb.dt, to)};
  }
}`,
  });
}
