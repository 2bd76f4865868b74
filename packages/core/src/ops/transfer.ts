import { getBackend, canonicalDevice } from '../device.js';
import { KindlingError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { alloc } from './util.js';
import { alias, contiguous } from './view.js';

/**
 * t.to(device): a copy on another device (or t itself when already there, like torch). Blocking
 * reads are only possible from a device that has them (cpu); from a GPU use `await toAsync()`.
 * The copy is a new leaf: gradients do not flow across devices.
 */
export function to(t: Tensor, device: string): Tensor {
  const target = canonicalDevice(device);
  if (target === t.device) return alias(t);
  const src = t.backend;
  if (!src.readSync) {
    throw new KindlingError('to', `cannot move from ${t.device} to ${target} synchronously (the ${src.name} backend reads back asynchronously); use 'await t.toAsync("${target}")'`);
  }
  const c = contiguous(t);
  const data = src.readSync(c.storage_.buffer, c.offset, c.size);
  c.dispose();
  return upload(data, t, target);
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
