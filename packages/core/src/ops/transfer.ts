import { getBackend, canonicalDevice } from '../device.js';
import type { Tensor } from '../tensor.js';
import { alloc } from './util.js';
import { alias, contiguous } from './view.js';

/**
 * t.to(device): a copy on another device (or t itself when already there, like torch). The copy
 * is a new leaf: gradients do not flow across devices.
 *
 * From a device that can block (cpu) the copy is complete at once. From a GPU, whose readback is
 * asynchronous, the result is a *pending* tensor, as PyTorch's `.to('cpu', non_blocking=True)`:
 * its data arrives once the GPU has run the work queued before it. Readbacks (`await item()`,
 * `data()`, `array()`, `ready()`) wait for it, so the seed's `l.cpu().item()` just works; an op on
 * it before then throws, saying what to await (it cannot block the thread until the GPU answers).
 */
export function to(t: Tensor, device: string): Tensor {
  const target = canonicalDevice(device);
  if (target === t.device) return alias(t);
  t.assertAlive('to');
  const src = t.backend;
  if (!src.readSync) return pendingCopy(t, target);
  const c = contiguous(t);
  const data = src.readSync(c.storage_.buffer, c.offset, c.size);
  c.dispose();
  return upload(data, t, target);
}

function pendingCopy(t: Tensor, target: string): Tensor {
  const b = getBackend(target);
  const out = alloc(b, t.shape, t.dtype);
  const storage = out.storage_;
  // t.data() queues the read now (after every kernel queued so far), so t may be disposed at once.
  const arrival = t.data().then(
    (data) => {
      // A copy disposed before it arrived: its buffer may already serve another tensor.
      if (!storage.released) b.write(storage.buffer, data);
    },
  ).finally(() => {
    storage.pending = null;
  });
  // A failed readback surfaces where it is awaited (ready/data); don't report it as unhandled here.
  arrival.catch(() => {});
  storage.pending = { from: t.device, arrival };
  return out;
}

export async function toAsync(t: Tensor, device: string): Promise<Tensor> {
  const target = canonicalDevice(device);
  if (target === t.device) return alias(t);
  return upload(await t.data(), t, target);
}

function upload(data: Parameters<ReturnType<typeof getBackend>['write']>[1], t: Tensor, device: string): Tensor {
  const b = getBackend(device);
  const out = alloc(b, t.shape, t.dtype);
  b.write(out.storage_.buffer, data);
  return out;
}
