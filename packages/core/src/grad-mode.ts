import { currentFrame, runInFrame } from './context.js';
import type { Tensor } from './tensor.js';
import type { DifferentiableOp, OpAttrs } from './ops/table.js';

/**
 * The seam between core and autograd. Core never imports autograd: when @kindling/autograd is
 * imported it installs a hook, and from then on every differentiable op whose inputs require grad
 * is recorded (PyTorch's define-by-run graph).
 */
export interface OpRecord<K extends DifferentiableOp = DifferentiableOp> {
  /** The op's name in the op table (autograd's derivative table uses the same names). */
  op: K;
  inputs: readonly Tensor[];
  outputs: readonly Tensor[];
  /** The attributes the table declares for this op. */
  attrs: OpAttrs[K];
}

export interface AutogradHook {
  record(rec: OpRecord): void;
  /** Called when a tensor carrying a grad_fn is disposed (the graph behind it may be freed). */
  release(gradFn: unknown): void;
}

let hook: AutogradHook | null = null;
/** >0 while a recorded op's forward runs (its decomposition must not record nodes of its own). */
let suspended = 0;

export function installAutogradHook(h: AutogradHook): void {
  hook = h;
}

export function autogradHook(): AutogradHook | null {
  return hook;
}

/** Whether ops run now are recorded: the grad mode of the current context (see context.ts). */
export function isGradEnabled(): boolean {
  return suspended === 0 && currentFrame().grad;
}

/**
 * Sets the grad mode of the current context (torch.set_grad_enabled): inside a noGrad/enableGrad
 * or tidy call it lasts until that call ends; at top level it is the process-wide default.
 */
export function setGradEnabled(enabled: boolean): boolean {
  const f = currentFrame();
  const prev = f.grad;
  f.grad = enabled;
  return prev;
}

function withGradMode<T>(op: string, enabled: boolean, fn: () => T): T {
  return runInFrame(op, { scope: currentFrame().scope, grad: enabled }, fn, () => {});
}

/**
 * Runs fn without recording a graph (torch.no_grad()). An async fn keeps grad mode off in its own
 * continuations only; code that runs while it awaits keeps its own mode.
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode('noGrad', false, fn);
}

/** Re-enables recording inside a noGrad region (torch.enable_grad()), scoped like noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode('enableGrad', true, fn);
}

/**
 * Runs one op. When the graph must record it, the forward runs with recording off (a fused op's
 * decomposition is one node, not many) and the hook records a single node for it.
 */
export function apply<K extends DifferentiableOp>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K], forward: () => Tensor[]): Tensor[] {
  if (hook === null || !isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return forward();
  suspended++;
  let outputs: Tensor[];
  try {
    outputs = forward();
  } finally {
    suspended--;
  }
  hook.record({ op, inputs, outputs, attrs } as OpRecord);
  return outputs;
}
