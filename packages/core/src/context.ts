import { KindlingError } from './errors.js';
import type { Tensor } from './tensor.js';

/**
 * The execution context that tidy(), noGrad() and enableGrad() scope: which tidy scope collects
 * new tensors, and whether autograd records. PyTorch keeps both per thread; JavaScript's unit of
 * "the code that belongs to this call" is the async context, so an async scope must follow its
 * own continuations and nothing else: unrelated code that runs while it awaits (a timer, another
 * request, a second interleaved tidy) keeps its own context.
 *
 * Two layers, so synchronous code pays nothing for async support:
 *  - synchronous scopes push a frame on `syncStack` and pop it before returning. No continuation
 *    can run in between (microtasks run only when the stack is empty), so the top of the stack is
 *    exactly "this call";
 *  - an async function runs inside AsyncLocalStorage.run(frame), which Node carries into every
 *    continuation of that function (and only those). Node's AsyncLocalStorage comes from
 *    process.getBuiltinModule (Node ≥ 20.16, Deno, Bun), never from a static import, so browser
 *    bundles of core do not pull in node:async_hooks.
 *
 * Without AsyncLocalStorage (browsers, which have no equivalent yet: the TC39 AsyncContext
 * proposal is not shipped), an async function passed to a scope is refused with a clear error
 * rather than scoped wrongly; synchronous scopes work everywhere.
 */

/** A tidy() scope: the tensors created in it that it disposes when it ends. */
export class Scope {
  readonly tensors = new Set<Tensor>();
  closed = false;
  constructor(readonly parent: Scope | null) {}
}

export interface Frame {
  readonly scope: Scope | null;
  grad: boolean;
}

interface AsyncStore {
  getStore(): Frame | undefined;
  run<R>(store: Frame, fn: () => R): R;
}

function loadAsyncLocalStorage(): AsyncStore | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.('node:async_hooks') as { AsyncLocalStorage?: new () => AsyncStore } | undefined;
  return mod?.AsyncLocalStorage ? new mod.AsyncLocalStorage() : null;
}

const als = loadAsyncLocalStorage();
const root: Frame = { scope: null, grad: true };
const syncStack: Frame[] = [];

/** Whether async functions can be scoped here (AsyncLocalStorage exists). */
export const asyncScopesSupported = als !== null;

/** The frame of the code running now. */
export function currentFrame(): Frame {
  const n = syncStack.length;
  if (n > 0) return syncStack[n - 1]!;
  return als?.getStore() ?? root;
}

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as Function;

function isPromise(x: unknown): x is PromiseLike<unknown> {
  return typeof (x as { then?: unknown } | null)?.then === 'function';
}

function refuseAsync(op: string): never {
  throw new KindlingError(
    op,
    'an async function needs AsyncLocalStorage to be scoped to its own continuations (Node ≥ 20.16, Deno, Bun); ' +
      'this runtime has none (browsers): scope each synchronous step instead (e.g. tidy(() => …) around the step, then await outside it)',
  );
}

/**
 * Runs fn in `frame`. A synchronous fn runs on the sync stack. An async fn (or one that returns a
 * promise) runs under AsyncLocalStorage so its continuations keep the frame; `settle` is called
 * once with the outcome (after the promise settles, for async ones).
 */
export function runInFrame<T>(op: string, frame: Frame, fn: () => T, settle: (result: unknown, failed: boolean) => void): T {
  if (fn instanceof AsyncFunction) {
    if (!als) refuseAsync(op);
    // The async fn's synchronous part must see `frame`, not an enclosing sync scope: empty the
    // sync stack for it (the enclosing frames are reachable through frame.scope.parent).
    const saved = syncStack.splice(0);
    let p: Promise<unknown>;
    try {
      p = als.run(frame, fn) as Promise<unknown>;
    } finally {
      syncStack.push(...saved);
    }
    return settleAfter(p, settle) as T;
  }
  syncStack.push(frame);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    syncStack.pop();
    settle(undefined, true);
    throw e;
  }
  syncStack.pop();
  if (isPromise(result)) {
    // A plain function that returned a promise: its continuations were not started under this
    // frame, so they run in the caller's context (what they create is not this scope's to free).
    // The scope still ends when the promise settles, as the README documents.
    return settleAfter(Promise.resolve(result), settle) as T;
  }
  settle(result, false);
  return result;
}

/** p's outcome, once `settle` has seen it. */
function settleAfter(p: Promise<unknown>, settle: (result: unknown, failed: boolean) => void): Promise<unknown> {
  return p.then(
    (r) => {
      settle(r, false);
      return r;
    },
    (e) => {
      settle(undefined, true);
      throw e;
    },
  );
}
