import { type Tensor, KindlingError, fmtShape, ones, keep, noGrad, tidy, copyInto, binary, shapesEqual } from '@kindling/core';
import type { GradFn, Node } from './graph.js';

export interface BackwardOptions {
  /** Keep the saved tensors so backward can run through this graph again. */
  retainGraph?: boolean;
}

/**
 * Adds g into a leaf's .grad (in place when one exists, as PyTorch accumulates). A first gradient
 * that backward owns outright (`owned`: a fresh, dense tensor nothing else refers to) becomes .grad
 * as it is, like PyTorch's AccumulateGrad stealing the incoming buffer; anything else is copied.
 */
function accumulateLeaf(leaf: Tensor, g: Tensor, owned = false): void {
  if (!shapesEqual(leaf.shape, g.shape)) {
    throw new KindlingError('backward', `gradient ${fmtShape(g.shape)} does not match leaf ${fmtShape(leaf.shape)}`);
  }
  if (leaf.grad && !leaf.grad.isDisposed) {
    const sum = binary('add', leaf.grad, g);
    copyInto(leaf.grad, sum);
    sum.dispose();
  } else if (owned && g.dtype === leaf.dtype && g.device === leaf.device) {
    leaf.grad = keep(g);
  } else {
    // A fresh buffer: g may be a view of an upstream gradient that is freed later.
    leaf.grad = keep(binary('add', g, 0));
  }
}

/** Hooks that run once a leaf's .grad holds this backward's whole gradient. */
const postAccumulateHooks = new WeakMap<Tensor, Set<(leaf: Tensor) => void>>();

/**
 * Tensor.registerPostAccumulateGradHook (PyTorch's register_post_accumulate_grad_hook): `fn(leaf)`
 * runs during backward, right after the last contribution of that backward was added into
 * leaf.grad, while the rest of the graph is still being differentiated. DistributedDataParallel
 * starts each bucket's all-reduce from it.
 */
export function registerPostAccumulateGradHook(leaf: Tensor, fn: (leaf: Tensor) => void): { remove(): void } {
  if (!leaf.isLeaf || !leaf.requiresGrad) {
    throw new KindlingError('registerPostAccumulateGradHook', 'only leaf tensors that require grad accumulate gradients');
  }
  let set = postAccumulateHooks.get(leaf);
  if (!set) postAccumulateHooks.set(leaf, (set = new Set()));
  set.add(fn);
  return { remove: () => set.delete(fn) };
}

function firePostAccumulate(leaf: Tensor): void {
  for (const fn of postAccumulateHooks.get(leaf) ?? []) fn(leaf);
}

/**
 * True when backward may hand `t` to a leaf as its .grad: the only handle on its storage (no saved
 * tensor, view or other gradient shares it), dense and covering the whole buffer.
 */
function exclusive(t: Tensor): boolean {
  return t.storage_.refCount === 1 && t.offset === 0 && t.isContiguous() && t.size === t.storage_.buffer.size;
}

/**
 * loss.backward(): walks the graph from `root` in reverse topological order and accumulates
 * gradients into the .grad of every leaf that requires grad. `gradient` defaults to 1 for a
 * one-element root.
 */
export function backward(root: Tensor, gradient?: Tensor | null, opts: BackwardOptions = {}): void {
  root.assertAlive('backward');
  if (!root.requiresGrad) {
    throw new KindlingError('backward', 'element 0 of tensors does not require grad and does not have a grad_fn');
  }
  if (!gradient && root.size !== 1) {
    throw new KindlingError('backward', `grad can be implicitly created only for scalar outputs; got ${fmtShape(root.shape)}: pass a gradient`);
  }
  if (gradient && !shapesEqual(gradient.shape, root.shape)) {
    throw new KindlingError('backward', `gradient ${fmtShape(gradient.shape)} must match the output ${fmtShape(root.shape)}`);
  }
  noGrad(() =>
    tidy(() => {
      const seed = gradient ?? ones(root.shape, { device: root.device });
      const fn = root.gradFn as GradFn | null;
      if (!fn) {
        accumulateLeaf(root, seed);
        firePostAccumulate(root);
        return;
      }
      run(fn, seed, opts.retainGraph ?? false);
    }),
  );
}

function run(rootFn: GradFn, seed: Tensor, retainGraph: boolean): void {
  // Count, for every reachable node, how many edges lead into it, so each runs once all its
  // output gradients have arrived (Kahn's algorithm over the reversed graph).
  // Leaves with hooks also count their incoming edges: the hooks run after the last one.
  const pending = new Map<Node, number>();
  const leafEdges = new Map<Tensor, number>();
  const touched = new Set<Tensor>(); // hooked leaves with a gradient still awaiting more
  const stack: Node[] = [rootFn.node];
  pending.set(rootFn.node, 0);
  while (stack.length) {
    const n = stack.pop()!;
    for (const e of n.edges) {
      if (e?.kind === 'leaf' && postAccumulateHooks.has(e.tensor)) leafEdges.set(e.tensor, (leafEdges.get(e.tensor) ?? 0) + 1);
      if (e?.kind !== 'node') continue;
      const c = pending.get(e.node);
      if (c === undefined) {
        pending.set(e.node, 1);
        stack.push(e.node);
      } else pending.set(e.node, c + 1);
    }
  }
  const grads = new Map<Node, Tensor>();
  grads.set(rootFn.node, seed);
  const ready: Node[] = [rootFn.node];
  const visited: Node[] = []; // nodes that got no gradient still release what they saved, at the end
  while (ready.length) {
    const n = ready.pop()!;
    visited.push(n);
    const g = grads.get(n);
    grads.delete(n);
    if (g) {
      const retained = n.retained.get(0)?.deref();
      if (retained && !retained.isDisposed) accumulateLeafLike(retained, g);
      const needs = n.edges.map((e) => e !== null);
      const inputGrads = n.derivative.backward(g, n, needs);
      // Each node runs once per backward: what it saved can go now rather than at the end, so
      // backward's peak holds the activations not yet reached, not all of them (PyTorch frees
      // saved variables node by node too).
      if (!retainGraph) n.releaseSaved();
      n.edges.forEach((e, i) => {
        const gi = inputGrads[i];
        if (!e || !gi) return;
        if (!shapesEqual(gi.shape, n.inputShapes[i]!)) {
          throw new KindlingError('backward', `derivative of ${n.op} gave a gradient ${fmtShape(gi.shape)} for input ${i} of shape ${fmtShape(n.inputShapes[i]!)}`);
        }
        if (e.kind === 'leaf') {
          // Owned: not the incoming gradient, not returned for another input too, and exclusive.
          const owned = gi !== g && inputGrads.indexOf(gi) === i && inputGrads.lastIndexOf(gi) === i && exclusive(gi);
          accumulateLeaf(e.tensor, gi, owned);
          const left = leafEdges.get(e.tensor);
          if (left !== undefined) {
            leafEdges.set(e.tensor, left - 1);
            if (left === 1) firePostAccumulate(e.tensor);
            else touched.add(e.tensor);
          }
        }
        else {
          const prev = grads.get(e.node);
          grads.set(e.node, prev ? binary('add', prev, gi) : gi);
        }
      });
    }
    for (const e of n.edges) {
      if (e?.kind !== 'node') continue;
      const c = pending.get(e.node)! - 1;
      pending.set(e.node, c);
      if (c === 0) ready.push(e.node);
    }
  }
  // Edges that carried no gradient (a branch that did not need one) never count down.
  for (const [leaf, left] of leafEdges) if (left > 0 && touched.has(leaf)) firePostAccumulate(leaf);
  if (!retainGraph) for (const n of visited) n.releaseSaved();
}

/** retainGrad() on a non-leaf: its .grad is kept like a leaf's. */
function accumulateLeafLike(t: Tensor, g: Tensor): void {
  accumulateLeaf(t, g);
}
