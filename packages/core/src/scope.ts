import { Scope, currentFrame, runInFrame } from './context.js';
import type { Tensor } from './tensor.js';

/**
 * tidy() scopes: every tensor created inside one is disposed when it ends, except what the
 * function returns and what keep() marks. An async function's scope holds only the tensors its
 * own async context creates (see context.ts): code that runs while it awaits, including another
 * async tidy, is not affected. Each tensor belongs to at most one scope (`scope_`), so dispose and
 * keep untrack it in O(1).
 */
const kept = new WeakSet<Tensor>();

export function trackInScope(t: Tensor): void {
  const s = currentFrame().scope;
  if (s && !s.closed) {
    s.tensors.add(t);
    t.scope_ = s;
  }
}

export function untrack(t: Tensor): void {
  const s = t.scope_;
  if (s) {
    s.tensors.delete(t);
    t.scope_ = null;
  }
}

/** Exempts t from every enclosing tidy() (for state that outlives a step: grads, optimizer buffers). */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  untrack(t);
  return t;
}

type TidyResult = Tensor | Tensor[] | Record<string, unknown> | number | string | boolean | void | null | undefined | unknown;

function collect(result: unknown, into: Set<Tensor>, depth = 0): void {
  if (depth > 4 || result === null || typeof result !== 'object') return;
  if ((result as Tensor).storage_ !== undefined && typeof (result as Tensor).dispose === 'function') {
    into.add(result as Tensor);
    return;
  }
  if (Array.isArray(result)) for (const r of result) collect(r, into, depth + 1);
  else if (Object.getPrototypeOf(result) === Object.prototype) for (const r of Object.values(result)) collect(r, into, depth + 1);
}

function close(scope: Scope, result: unknown): void {
  scope.closed = true;
  const survivors = new Set<Tensor>();
  collect(result, survivors);
  // Returned tensors belong to the enclosing scope now (the one tidy was called in, which for an
  // async tidy is its caller's context, not whatever scope happens to be open when it settles).
  let parent = scope.parent;
  while (parent?.closed) parent = parent.parent;
  for (const t of [...scope.tensors]) {
    t.scope_ = null;
    if (kept.has(t)) continue;
    if (!survivors.has(t)) t.dispose();
    else if (parent && !t.isDisposed) {
      parent.tensors.add(t);
      t.scope_ = parent;
    }
  }
  scope.tensors.clear();
}

export function tidy<T extends TidyResult>(fn: () => T): T {
  const outer = currentFrame();
  const scope = new Scope(outer.scope);
  return runInFrame('tidy', { scope, grad: outer.grad }, fn, (result) => close(scope, result));
}
