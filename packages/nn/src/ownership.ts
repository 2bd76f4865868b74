/**
 * Which modules' temporaries can be freed the moment a forward is done with them.
 *
 * PyTorch frees a layer's intermediate tensors as soon as the last Python reference goes: inside
 * `nn.Sequential` that is when the next layer has consumed them (what autograd saved lives on in
 * the graph until backward). JavaScript has no reference counts, so without help these tensors
 * wait for the garbage collector, and a training loop written without tidy() cycles through many
 * steps' worth of memory (issue 13: 10 steps of LeNet-BN, 1.15–1.3× slower from cache misses alone).
 *
 * For nn's own layers we know what PyTorch's refcount knows: their forward keeps no reference to
 * any tensor it receives or makes, other than what it returns and in-place updates of its own
 * parameters and buffers. Such a module is *self-contained* when, in addition, no forward hook or
 * pre-hook is registered on it or below it (a hook could keep an activation, the d2l way of
 * inspecting feature maps), and all its children are self-contained. Then:
 * - `call()` runs its forward in a tidy scope, so what the layer made and did not return is freed;
 * - `Sequential` frees an output of one child once the next child has consumed it, when both are
 *   self-contained and the tensor was made inside this forward (never the caller's input).
 * A user's own Module subclass is never self-contained (its forward may keep anything), nor is a
 * subclass of a built-in layer; those tensors go back to the collector as before.
 */
import type { Module } from './module.js';

const selfContainedClasses = new Set<unknown>();

/** Declares built-in layer classes (exact classes, not their subclasses) self-contained. */
export function declareSelfContained(...classes: (abstract new (...args: never[]) => Module)[]): void {
  for (const c of classes) selfContainedClasses.add(c);
}

/** True when m's forward, hooks and children keep no tensor beyond what it returns (see above). */
export function isSelfContained(m: Module): boolean {
  if (!selfContainedClasses.has(m.constructor) || m._forwardHooks.size > 0 || m._forwardPreHooks.size > 0) return false;
  for (const c of m._modules.values()) if (c && !isSelfContained(c)) return false;
  return true;
}
