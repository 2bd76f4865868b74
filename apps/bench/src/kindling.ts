/**
 * Kindling's side of each workload, on one device ('cpu', 'webgpu', …). The models are the
 * reference trainer's (d2l's LeNet and AlexNet), trained with SGD and cross-entropy exactly as
 * apps/trainer does; every step reads the loss back, as a training loop that logs it would.
 * On 'webgpu' the device is initialised first (`initDevice`: WebGPU hands out devices
 * asynchronously) and the adapter is reported; inference and matmul steps end in the backend's
 * sync(), which waits for the GPU's queue.
 */
import * as kd from '@kindling/core';
import '@kindling/autograd';
import { CrossEntropyLoss } from '@kindling/nn';
import { SGD } from '@kindling/optim';
import { DataLoader, FashionMNIST, ToTensor } from '@kindling/data';
import { alexnetD2l, d2lInit, lenetD2l, trainStep } from '@kindling/trainer';
import { userStep } from './userloop.js';
import { describeAdapter, packageVersion, type AdapterInfoLike } from './dawn.js';
import { EPOCH_IMAGES, MATMUL_N, type WorkloadId } from './workloads.js';
import type { Session } from './session.js';

/** Imports the package that registers a device kind (cpu ships with the bench; others if installed). */
async function loadBackend(device: string): Promise<void> {
  const kind = device.split(':')[0]!;
  if (kind === 'cpu') {
    await import('@kindling/backend-cpu');
    return;
  }
  try {
    await import(`@kindling/backend-${kind}`);
  } catch (e) {
    throw new Error(`@kindling/backend-${kind} is not installed in the bench: ${(e as Error).message.split('\n')[0]}`);
  }
}

export async function kindlingSession(device: string, workload: WorkloadId, batch: number, dataDir: string | null): Promise<Session> {
  await loadBackend(device);
  const backend = await kd.initDevice(device);
  kd.setDefaultDevice(device);
  kd.manualSeed(0);
  let info = backend.info().implementation;
  let adapter: string | undefined;
  if (device.split(':')[0] === 'webgpu') {
    // The adapter the registered backend got (initDevice above made it).
    const name = '@kindling/backend-webgpu';
    const webgpu = (await import(name)) as { initWebGPU(): Promise<{ engine: { adapterInfo: AdapterInfoLike } }> };
    adapter = describeAdapter((await webgpu.initWebGPU()).engine.adapterInfo);
    info += ` ${packageVersion('webgpu')}`;
  }

  if (workload === 'matmul') {
    const a = kd.randn([MATMUL_N, MATMUL_N]);
    const b = kd.randn([MATMUL_N, MATMUL_N]);
    return {
      info, adapter,
      async step() {
        const c = kd.matmul(a, b);
        await backend.sync();
        c.dispose();
      },
      dispose() { a.dispose(); b.dispose(); },
    };
  }

  const model = workload === 'alexnet-train' ? alexnetD2l() : lenetD2l();
  d2lInit(model);
  const size = workload === 'alexnet-train' ? 224 : 28;
  const lossFn = new CrossEntropyLoss();
  const opt = new SGD(model.parameters(), { lr: 0.1 });

  if (workload === 'epoch') {
    return {
      info, adapter,
      async step() {
        // End to end: decode the gzip'd IDX files, then one shuffled pass on the main thread
        // (numWorkers 0: the backend's threads already use every core).
        const t0 = performance.now();
        const ds = await FashionMNIST.load({ root: dataDir ?? undefined, train: true, transform: new ToTensor() });
        const decodeSeconds = (performance.now() - t0) / 1000;
        const loader = new DataLoader(ds, { batchSize: batch, shuffle: true, seed: 0, numWorkers: 0 });
        let n = 0;
        for await (const [x, y] of loader) {
          await trainStep(model, opt, lossFn, x, y);
          n += y.shape[0]!;
          x.dispose();
          y.dispose();
        }
        await loader.close();
        if (n !== EPOCH_IMAGES) throw new Error(`epoch saw ${n} images, expected ${EPOCH_IMAGES}`);
        return { decodeSeconds };
      },
      dispose() {},
    };
  }

  if (workload === 'user-loop') {
    const ds = await FashionMNIST.load({ root: dataDir ?? undefined, train: true, transform: new ToTensor() });
    const loader = new DataLoader(ds, { batchSize: batch, shuffle: true, seed: 0, numWorkers: 0 });
    let it = loader[Symbol.asyncIterator]();
    let peakLiveBytes = 0;
    return {
      info, adapter,
      async step() {
        let next = await it.next();
        if (next.done) {
          it = loader[Symbol.asyncIterator]();
          next = await it.next();
        }
        const [x, y] = next.value as [kd.Tensor, kd.Tensor];
        await userStep(model, opt, lossFn, x, y, device);
        peakLiveBytes = Math.max(peakLiveBytes, kd.memory().numBytes);
        return { peakLiveBytes };
      },
      dispose() {},
    };
  }

  const x = kd.randn([batch, 1, size, size]);
  const y = kd.randint(0, 10, [batch], { dtype: 'int32' });
  if (workload === 'lenet-infer') {
    model.eval();
    return {
      info, adapter,
      async step() {
        // tidy frees the intermediates at once (without it they wait for the GC's finalizers).
        const out = kd.tidy(() => kd.noGrad(() => model.call(x)));
        await backend.sync();
        out.dispose();
      },
      dispose() { x.dispose(); y.dispose(); },
    };
  }
  return { info, adapter, async step() { await trainStep(model, opt, lossFn, x, y); }, dispose() { x.dispose(); y.dispose(); } };
}
