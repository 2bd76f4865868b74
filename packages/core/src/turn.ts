/**
 * Letting the garbage collector's finalizers run. A tensor the program dropped without dispose()
 * gives its storage back from a FinalizationRegistry callback (tensor.ts), and the engine runs
 * those callbacks only from a task of their own, never between microtasks. A loop whose awaits all
 * settle in microtasks (cpu readbacks resolve at once) therefore never lets them run, however
 * often the collector has found the garbage: the seed's training loop grew by one step's tensors
 * per step (issue 13).
 *
 * So readbacks, the points where a PyTorch-style loop already waits, give one macrotask turn when
 * enough bytes were allocated since the last turn that garbage is worth reclaiming. The count
 * resets at any macrotask turn (a timer, I/O, a DataLoader's worker message), so a loop that
 * yields anyway pays nothing extra; one that never does pays one setImmediate (a few µs) per
 * YIELD_BYTES allocated, not one per readback. Measured in docs/memory.md.
 */

/** Bytes allocated between macrotask turns after which a readback yields one turn. */
export const YIELD_BYTES = 32 * 2 ** 20;

let allocatedSinceTurn = 0;
let resetQueued = false;

type Macrotask = (fn: () => void) => void;

/** setImmediate in Node; a MessageChannel post elsewhere (runs as a task, unlike a microtask). */
const macrotask: Macrotask = (() => {
  const si = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
  if (si) return (fn) => void si(fn);
  if (typeof MessageChannel !== 'undefined') {
    const ch = new MessageChannel();
    const queue: (() => void)[] = [];
    ch.port1.onmessage = () => queue.shift()?.();
    return (fn) => {
      queue.push(fn);
      ch.port2.postMessage(null);
    };
  }
  return (fn) => void setTimeout(fn, 0);
})();

function reset(): void {
  resetQueued = false;
  allocatedSinceTurn = 0;
}

/**
 * Reports tensor storage to the JS engine's collector (napi_adjust_external_memory, installed by a
 * native addon: the cpu backend's). V8 then starts a collection when tensor bytes grow by 64 MiB,
 * not only when its own heap grows: a dropped tensor is a small JS object holding megabytes. The
 * bytes of every device go through it (GPU memory too), since what frees them is the same GC.
 */
let reportExternal: ((delta: number) => void) | null = null;

export function setExternalMemoryReporter(fn: ((delta: number) => void) | null): void {
  reportExternal = fn;
}

/** Called when a storage is freed. */
export function noteRelease(bytes: number): void {
  reportExternal?.(-bytes);
}

/** Called for every new storage. */
export function noteAllocation(bytes: number): void {
  reportExternal?.(bytes);
  allocatedSinceTurn += bytes;
  if (!resetQueued) {
    resetQueued = true;
    macrotask(reset);
  }
}

/** A macrotask turn when garbage may be waiting for its finalizers; null when none is due. */
export function turnIfDue(): Promise<void> | null {
  if (allocatedSinceTurn < YIELD_BYTES) return null;
  return new Promise<void>((resolve) => macrotask(resolve));
}
