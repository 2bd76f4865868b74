/**
 * TensorFlow.js 4.22's side of each workload, on its 'cpu' (tfjs-backend-cpu, plain JavaScript),
 * 'wasm' (tfjs-backend-wasm, XNNPACK) or 'webgpu' (tfjs-backend-webgpu, on Dawn's GPU object
 * installed as navigator.gpu: see dawn.ts) backend: the same LeNet and AlexNet (d2l's layers, NHWC
 * as TF.js prefers), the same batch sizes, SGD on softmax cross-entropy through
 * optimizer.minimize, reading the loss back every step. TF.js's flags keep their defaults.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
// The umbrella package: tfjs-core's Node bundle registers no gradient functions (training needs
// them); @tensorflow/tfjs re-exports the same tfjs-core 4.22 with every gradient registered.
import * as tf from '@tensorflow/tfjs';
import { FashionMNIST } from '@kindling/data';
import { installNavigatorGpu, packageVersion } from './dawn.js';
import { EPOCH_IMAGES, MATMUL_N, type WorkloadId } from './workloads.js';
import type { Session } from './session.js';

type Rank4 = tf.Tensor4D;

/** x + bias with the rank kept in the type (tf.add's result type is rank-generic). */
const add4 = (x: tf.Tensor, b: tf.Tensor): Rank4 => tf.add(x, b) as Rank4;
const add2 = (x: tf.Tensor, b: tf.Tensor): tf.Tensor2D => tf.add(x, b) as tf.Tensor2D;

export type TfjsBackend = 'cpu' | 'wasm' | 'webgpu';

async function useBackend(name: TfjsBackend): Promise<{ info: string; adapter?: string }> {
  let adapter: string | undefined;
  if (name === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
  } else if (name === 'webgpu') {
    // tfjs-backend-webgpu registers itself at import only when navigator.gpu exists, and asks it
    // for a high-performance adapter: give it Dawn's, on the VK_ICD_FILENAMES the parent chose.
    adapter = (await installNavigatorGpu()).adapter;
    await import('@tensorflow/tfjs-backend-webgpu');
  } else {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Node: point the loader at the package's own .wasm files.
    const req = createRequire(import.meta.url);
    wasm.setWasmPaths(`${dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
  }
  if (!(await tf.setBackend(name))) throw new Error(`TF.js backend '${name}' failed to initialise`);
  await tf.ready();
  let threads = '';
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    threads = `, ${wasm.getThreadsCount()} thread(s)`;
  }
  if (name === 'webgpu') {
    return { info: `TensorFlow.js ${tf.version_core} webgpu (tfjs-backend-webgpu ${packageVersion('@tensorflow/tfjs-backend-webgpu')}) on ${adapter} via webgpu (Dawn) ${packageVersion('webgpu')}`, adapter };
  }
  return { info: `TensorFlow.js ${tf.version_core} ${name}${threads}` };
}

interface Net {
  vars: tf.Variable[];
  forward(x: Rank4, training: boolean): tf.Tensor2D;
}

function param(shape: number[], fanIn: number): tf.Variable {
  return tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn)));
}

/** d2l's LeNet: conv5(pad 2)-sigmoid-avgpool-conv5-sigmoid-avgpool-120-84-10, sigmoid activations. */
function lenetNet(): Net {
  const w1 = param([5, 5, 1, 6], 25), b1 = tf.variable(tf.zeros([6]));
  const w2 = param([5, 5, 6, 16], 150), b2 = tf.variable(tf.zeros([16]));
  const w3 = param([400, 120], 400), b3 = tf.variable(tf.zeros([120]));
  const w4 = param([120, 84], 120), b4 = tf.variable(tf.zeros([84]));
  const w5 = param([84, 10], 84), b5 = tf.variable(tf.zeros([10]));
  return {
    vars: [w1, b1, w2, b2, w3, b3, w4, b4, w5, b5],
    forward(x) {
      let h: Rank4 = tf.sigmoid(add4(tf.conv2d(x, w1 as tf.Tensor4D, 1, 2), b1));
      h = tf.avgPool(h, 2, 2, 'valid');
      h = tf.sigmoid(add4(tf.conv2d(h, w2 as tf.Tensor4D, 1, 'valid'), b2));
      h = tf.avgPool(h, 2, 2, 'valid');
      let f: tf.Tensor2D = tf.reshape(h, [x.shape[0], 400]);
      f = tf.sigmoid(add2(tf.matMul(f, w3 as tf.Tensor2D), b3));
      f = tf.sigmoid(add2(tf.matMul(f, w4 as tf.Tensor2D), b4));
      return add2(tf.matMul(f, w5 as tf.Tensor2D), b5);
    },
  };
}

/** d2l's AlexNet for 1×224×224 inputs (dropout 0.5 after both hidden dense layers). */
function alexnetNet(): Net {
  const convs: [number, number, number, number, number][] = [
    // k, in, out, stride, pad
    [11, 1, 96, 4, 1], [5, 96, 256, 1, 2], [3, 256, 384, 1, 1], [3, 384, 384, 1, 1], [3, 384, 256, 1, 1],
  ];
  const cw = convs.map(([k, i, o]) => param([k, k, i, o], k * k * i));
  const cb = convs.map(([, , o]) => tf.variable(tf.zeros([o])));
  const dense: [number, number][] = [[6400, 4096], [4096, 4096], [4096, 10]];
  const dw = dense.map(([i, o]) => param([i, o], i));
  const db = dense.map(([, o]) => tf.variable(tf.zeros([o])));
  const conv = (h: Rank4, l: number): Rank4 =>
    tf.relu(add4(tf.conv2d(h, cw[l] as tf.Tensor4D, convs[l]![3], convs[l]![4]), cb[l]!));
  return {
    vars: [...cw, ...cb, ...dw, ...db],
    forward(x, training) {
      let h = tf.maxPool(conv(x, 0), 3, 2, 'valid');
      h = tf.maxPool(conv(h, 1), 3, 2, 'valid');
      h = tf.maxPool(conv(conv(conv(h, 2), 3), 4), 3, 2, 'valid');
      let f: tf.Tensor2D = tf.reshape(h, [x.shape[0], 6400]);
      for (let l = 0; l < 2; l++) {
        f = tf.relu(add2(tf.matMul(f, dw[l] as tf.Tensor2D), db[l]!));
        if (training) f = tf.dropout(f, 0.5) as tf.Tensor2D;
      }
      return add2(tf.matMul(f, dw[2] as tf.Tensor2D), db[2]!);
    },
  };
}

function trainStep(net: Net, opt: tf.Optimizer, x: Rank4, yOneHot: tf.Tensor2D): () => Promise<void> {
  return async () => {
    const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(yOneHot, net.forward(x, true)) as tf.Scalar, true, net.vars);
    await cost!.data();
    cost!.dispose();
  };
}

export async function tfjsSession(backend: TfjsBackend, workload: WorkloadId, batch: number, dataDir: string | null): Promise<Session> {
  const { info, adapter } = await useBackend(backend);
  if (workload === 'user-loop') throw new Error("user loop: the seed's PyTorch-style loop runs on Kindling and PyTorch only");
  if (workload === 'matmul') {
    const a = tf.randomNormal([MATMUL_N, MATMUL_N]) as tf.Tensor2D;
    const b = tf.randomNormal([MATMUL_N, MATMUL_N]) as tf.Tensor2D;
    return {
      info, adapter,
      async step() {
        const c = tf.matMul(a, b);
        await c.data();
        c.dispose();
      },
      dispose() { a.dispose(); b.dispose(); },
    };
  }
  const net = workload === 'alexnet-train' ? alexnetNet() : lenetNet();
  const opt = tf.train.sgd(0.1);
  const size = workload === 'alexnet-train' ? 224 : 28;

  if (workload === 'epoch') {
    return {
      info, adapter,
      async step() {
        const t0 = performance.now();
        const ds = await FashionMNIST.load({ root: dataDir ?? undefined, train: true });
        const decodeSeconds = (performance.now() - t0) / 1000;
        const images = ds.data as Uint8Array;
        const labels = ds.labels as ArrayLike<number>;
        const order = tf.util.createShuffledIndices(EPOCH_IMAGES);
        for (let s = 0; s < EPOCH_IMAGES; s += batch) {
          const n = Math.min(batch, EPOCH_IMAGES - s);
          const xb = new Float32Array(n * 784);
          const yb = new Int32Array(n);
          for (let i = 0; i < n; i++) {
            const k = order[s + i]!;
            for (let p = 0; p < 784; p++) xb[i * 784 + p] = images[k * 784 + p]! / 255;
            yb[i] = labels[k]!;
          }
          const x = tf.tensor4d(xb, [n, 28, 28, 1]);
          const y = tf.oneHot(tf.tensor1d(yb, 'int32'), 10) as tf.Tensor2D;
          await trainStep(net, opt, x, y)();
          x.dispose();
          y.dispose();
        }
        return { decodeSeconds };
      },
      dispose() {},
    };
  }

  const x = tf.randomNormal([batch, size, size, 1]) as Rank4;
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32') as tf.Tensor1D, 10) as tf.Tensor2D;
  if (workload === 'lenet-infer') {
    return {
      info, adapter,
      async step() {
        const out = tf.tidy(() => net.forward(x, false));
        await out.data();
        out.dispose();
      },
      dispose() { x.dispose(); y.dispose(); },
    };
  }
  const step = trainStep(net, opt, x, y);
  return { info, adapter, async step() { await step(); }, dispose() { x.dispose(); y.dispose(); } };
}
