import type { Tensor } from './tensor.js';

/**
 * The seam between core and autograd. Core never imports autograd: when @kindling/autograd is
 * imported it installs a hook, and from then on every differentiable op whose inputs require grad
 * is recorded (PyTorch's define-by-run graph).
 */
export interface OpRecord {
  /** The op's name in the op table (autograd's derivative table uses the same names). */
  op: string;
  inputs: readonly Tensor[];
  outputs: readonly Tensor[];
  attrs: Readonly<Record<string, unknown>>;
}

export interface AutogradHook {
  record(rec: OpRecord): void;
  /** Called when a tensor carrying a grad_fn is disposed (the graph behind it may be freed). */
  release(gradFn: unknown): void;
}

let hook: AutogradHook | null = null;
let gradEnabled = true;

export function installAutogradHook(h: AutogradHook): void {
  hook = h;
}

export function autogradHook(): AutogradHook | null {
  return hook;
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

export function setGradEnabled(enabled: boolean): boolean {
  const prev = gradEnabled;
  gradEnabled = enabled;
  return prev;
}

function isPromise<T>(x: unknown): x is Promise<T> {
  return typeof (x as { then?: unknown })?.then === 'function';
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = setGradEnabled(enabled);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    setGradEnabled(prev);
    throw e;
  }
  if (isPromise(result)) {
    return result.finally(() => setGradEnabled(prev)) as T;
  }
  setGradEnabled(prev);
  return result;
}

/** Runs fn without recording a graph (torch.no_grad()). Works with async functions. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Re-enables recording inside a noGrad region (torch.enable_grad()). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

/**
 * Runs one op. When the graph must record it, the forward runs with recording off (a fused op's
 * decomposition is one node, not many) and the hook records a single node for it.
 */
export function apply(op: string, inputs: readonly Tensor[], attrs: Record<string, unknown>, forward: () => Tensor[]): Tensor[] {
  if (hook === null || !gradEnabled || !inputs.some((t) => t.requiresGrad)) return forward();
  gradEnabled = false;
  let outputs: Tensor[];
  try {
    outputs = forward();
  } finally {
    gradEnabled = true;
  }
  hook.record({ op, inputs, outputs, attrs });
  return outputs;
}
