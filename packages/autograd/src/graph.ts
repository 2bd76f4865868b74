import { Tensor, type DifferentiableOp, type OpAttrs, type OpRecord, KindlingError, fmtShape, makeView } from '@kindling/core';
import { derivatives, type Derivative } from './derivatives.js';

/**
 * A node of the recorded graph: one op application. It keeps only what its derivative needs
 * (internal handles that tidy() does not touch) and edges to the nodes or leaves its inputs
 * came from. Its lifetime follows references, as in PyTorch: the tensors it produced and the
 * nodes downstream of it. When both are gone (or backward ran without retainGraph) the saved
 * tensors are released, so a training loop holds no stale graph.
 */
export class Node<K extends DifferentiableOp = DifferentiableOp> {
  /** Live output tensors plus downstream nodes that point here. */
  refs = 0;
  freed = false;
  readonly inputShapes: (readonly number[])[];
  readonly outputShapes: (readonly number[])[];
  /** Per input: where its gradient goes (null when it does not require grad). */
  readonly edges: (Edge | null)[];
  saved: { inputs: (Tensor | null)[]; outputs: (Tensor | null)[] };
  /** The op's attributes; tensors among them (gather's index) are held like saved tensors. */
  readonly attrs: OpAttrs[K];
  /** Non-leaf outputs whose .grad should be kept (retainGrad). */
  readonly retained = new Map<number, WeakRef<Tensor>>();

  constructor(
    readonly op: K,
    readonly derivative: Derivative<K>,
    rec: OpRecord<K>,
  ) {
    this.inputShapes = rec.inputs.map((t) => t.shape);
    this.outputShapes = rec.outputs.map((t) => t.shape);
    this.edges = rec.inputs.map((t) => {
      if (!t.requiresGrad) return null;
      const fn = t.gradFn as GradFn | null;
      if (fn) {
        fn.node.refs++;
        return { kind: 'node', node: fn.node, index: fn.index } as const;
      }
      return { kind: 'leaf', tensor: t } as const;
    });
    const keep = (ts: readonly Tensor[], which: Derivative['saveInputs']): (Tensor | null)[] =>
      ts.map((t, i) => (which === 'all' || (which ?? []).includes(i) ? makeView(t, t.shape, t.strides, t.offset, false) : null));
    this.saved = { inputs: keep(rec.inputs, derivative.saveInputs), outputs: keep(rec.outputs, derivative.saveOutputs) };
    const attrs: Record<string, unknown> = { ...rec.attrs };
    for (const [k, v] of Object.entries(attrs)) {
      if (v instanceof Tensor) {
        const h = makeView(v, v.shape, v.strides, v.offset, false);
        attrs[k] = h;
        this.attrTensors.push(h);
      }
    }
    // The same keys and types as rec.attrs: only tensors were swapped for handles to them.
    this.attrs = attrs as OpAttrs[K];
  }

  private readonly attrTensors: Tensor[] = [];

  /** Drops the saved tensors (after backward, or when nothing can reach this node any more). */
  releaseSaved(): void {
    if (this.freed) return;
    this.freed = true;
    for (const t of [...this.saved.inputs, ...this.saved.outputs, ...this.attrTensors]) t?.dispose();
    this.saved = { inputs: [], outputs: [] };
  }

  unref(): void {
    if (--this.refs > 0) return;
    this.releaseSaved();
    for (const e of this.edges) if (e?.kind === 'node') e.node.unref();
  }

  savedInput(i: number): Tensor {
    return this.savedTensor(this.saved.inputs[i], `input ${i}`);
  }

  savedOutput(i: number): Tensor {
    return this.savedTensor(this.saved.outputs[i], `output ${i}`);
  }

  private savedTensor(t: Tensor | null | undefined, what: string): Tensor {
    if (this.freed) {
      throw new KindlingError(
        'backward',
        `trying to backward through the graph a second time (op ${this.op}); pass { retainGraph: true } to the first backward()`,
      );
    }
    if (!t) throw new KindlingError('backward', `derivative of ${this.op} used ${what}, which it does not declare as saved`);
    return t;
  }
}

export type Edge = { kind: 'node'; node: Node; index: number } | { kind: 'leaf'; tensor: Tensor };

/** What a non-leaf tensor's gradFn holds: its node and which output it is. */
export interface GradFn {
  node: Node;
  index: number;
  /** torch's grad_fn name, e.g. 'Conv2dBackward'. */
  name: string;
}

export function record(rec: OpRecord): void {
  // Every differentiable op of core's table has an entry (Derivatives is a mapped type over them).
  const derivative: Derivative = derivatives[rec.op];
  const node = new Node(rec.op, derivative, rec);
  const differentiable = derivative.differentiableOutputs ?? rec.outputs.map((_, i) => i);
  const name = `${rec.op[0]!.toUpperCase()}${rec.op.slice(1)}Backward`;
  for (const i of differentiable) {
    const out = rec.outputs[i]!;
    if (out.dtype !== 'float32') continue;
    out.requiresGrad = true;
    out.gradFn = { node, index: i, name } satisfies GradFn;
    node.refs++;
  }
  // A node no output can reach (all outputs non-differentiable) is dropped at once.
  if (node.refs === 0) {
    node.refs = 1;
    node.unref();
  }
}

export function release(gradFn: unknown): void {
  (gradFn as GradFn).node.unref();
}

export function describeShape(s: readonly number[]): string {
  return fmtShape(s);
}
