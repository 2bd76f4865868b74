import type { Tensor } from './tensor.js';

/**
 * tidy() scopes: every tensor created inside one is disposed when it ends, except what the
 * function returns and what keep() marks. Works for sync and async functions (an async scope
 * stays open until its promise settles, so don't interleave two async tidies).
 */
const scopes: Set<Tensor>[] = [];
const kept = new WeakSet<Tensor>();

export function trackInScope(t: Tensor): void {
  const top = scopes[scopes.length - 1];
  if (top && !kept.has(t)) top.add(t);
}

export function untrack(t: Tensor): void {
  for (const s of scopes) s.delete(t);
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

function close(scope: Set<Tensor>, result: unknown): void {
  const idx = scopes.lastIndexOf(scope);
  if (idx >= 0) scopes.splice(idx, 1);
  const survivors = new Set<Tensor>();
  collect(result, survivors);
  for (const t of scope) if (!survivors.has(t) && !kept.has(t)) t.dispose();
  // Returned tensors belong to the enclosing scope now.
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of survivors) if (!t.isDisposed && !kept.has(t)) parent.add(t);
}

export function tidy<T extends TidyResult>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    close(scope, undefined);
    throw e;
  }
  if (typeof (result as { then?: unknown })?.then === 'function') {
    return (result as Promise<unknown>).then(
      (r) => {
        close(scope, r);
        return r;
      },
      (e) => {
        close(scope, undefined);
        throw e;
      },
    ) as T;
  }
  close(scope, result);
  return result;
}
