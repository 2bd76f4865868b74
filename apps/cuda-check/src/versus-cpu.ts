/**
 * cuda against cpu on shapes the golden files are too small to reach: the 128×128 and split-K
 * GEMM paths, batched and transposed operands, block- and thread-per-output reductions, big
 * convolutions with stride, padding, dilation and groups, pooling with ceil mode, and every
 * gradient through autograd. Inputs come from the shared Philox generator, so both devices see
 * the same numbers.
 */
import * as kd from '@kindling/core';

export interface VersusResult {
  name: string;
  ok: boolean;
  detail: string;
}

type Case = { name: string; rtol: number; atol: number; run: (device: string) => kd.Tensor[] };

function rn(shape: number[], device: string, requiresGrad = false): kd.Tensor {
  const t = kd.randn(shape, { device });
  if (requiresGrad) t.requiresGrad_(true);
  return t;
}

/** Forward outputs followed by the gradients of sum(out·w) for a fixed random w, per input. */
function withGrads(device: string, inputs: kd.Tensor[], f: (...xs: kd.Tensor[]) => kd.Tensor): kd.Tensor[] {
  const y = f(...inputs);
  const w = kd.randn(y.shape, { device });
  kd.sum(kd.mul(y, w)).backward();
  return [y, ...inputs.map((x) => x.grad!)];
}

/** A 5x5 convolution of AlexNet's second layer's kind, with its gradients: ≥ 2^27 FLOPs a pass, so cuDNN takes it where loaded. */
function alexnet2Class(d: string): kd.Tensor[] {
  return withGrads(d, [rn([2, 48, 26, 26], d, true), rn([64, 48, 5, 5], d, true), rn([64], d, true)], (x, w, b) => kd.conv2d(x, w, b, { padding: 2 }));
}

const CASES: Case[] = [
  { name: 'matmul 1024x1024x1024 (128-tile path)', rtol: 1e-3, atol: 1e-3, run: (d) => [kd.matmul(rn([1024, 1024], d), rn([1024, 1024], d))] },
  { name: 'matmul 96x121 · K=40000 (split-K)', rtol: 1e-3, atol: 5e-3, run: (d) => [kd.matmul(rn([96, 40000], d), rn([40000, 121], d))] },
  {
    name: 'matmul transposed operands + grads',
    rtol: 1e-3, atol: 1e-3,
    run: (d) => withGrads(d, [rn([300, 200], d, true), rn([250, 300], d, true)], (a, b) => kd.matmul(kd.transpose(a, 0, 1), kd.transpose(b, 0, 1))),
  },
  { name: 'bmm broadcast batch [7,33,65]·[65,17]', rtol: 1e-4, atol: 1e-4, run: (d) => [kd.matmul(rn([7, 33, 65], d), rn([65, 17], d))] },
  { name: 'linear 256x400→120 + grads', rtol: 1e-3, atol: 1e-3, run: (d) => withGrads(d, [rn([256, 400], d, true), rn([120, 400], d, true), rn([120], d, true)], (x, w, b) => kd.linear(x, w, b)) },
  {
    name: 'reductions: sum/amax/argmax/mean over dims 0, 1, (0,2), all',
    rtol: 1e-4, atol: 1e-3,
    run: (d) => {
      const x = rn([64, 300, 33], d);
      return [kd.sum(x, 0), kd.sum(x, 1), kd.sum(x, [0, 2]), kd.sum(x), kd.amax(x, 1), kd.cast(kd.argmax(x, 2), 'float32'), kd.cast(kd.argmin(x, 0), 'float32'), kd.mean(x, [1, 2], true)];
    },
  },
  {
    name: 'few outputs over long extents (two-stage): bias-grad sums, amax, argmax',
    rtol: 1e-4, atol: 2e-2,
    run: (d) => {
      const x = rn([128, 6, 56, 56], d);
      const y = rn([6, 50000], d);
      return [kd.sum(x, [0, 2, 3]), kd.amax(x, [0, 2, 3]), kd.cast(kd.argmax(y, 1), 'float32'), kd.cast(kd.argmin(y, 1), 'float32'), kd.sum(y)];
    },
  },
  {
    name: 'elementwise chain on strided/broadcast views + grads',
    rtol: 1e-5, atol: 1e-5,
    run: (d) =>
      withGrads(d, [rn([40, 50], d, true), rn([50], d, true)], (a, b) =>
        kd.mul(kd.sigmoid(kd.add(kd.transpose(a, 0, 1), kd.unsqueeze(b, 1))), kd.tanh(kd.sub(kd.transpose(a, 0, 1), 0.5)))),
  },
  {
    name: 'activation backward (sigmoid, tanh, relu)',
    rtol: 1e-5, atol: 1e-7,  // tanh's output differs from cpu's by an ulp or two, and 1 − y² amplifies it
    run: (d) => [
      ...withGrads(d, [rn([3000], d, true)], (x) => kd.sigmoid(x)),
      ...withGrads(d, [rn([3000], d, true)], (x) => kd.tanh(x)),
      ...withGrads(d, [rn([3000], d, true)], (x) => kd.relu(x)),
    ],
  },
  {
    name: 'int32 and bool ops',
    rtol: 0, atol: 0,
    run: (d) => {
      const a = kd.randint(-50, 50, [1000], { device: d });
      const b = kd.randint(1, 7, [1000], { device: d });
      return [kd.cast(kd.add(a, b), 'float32'), kd.cast(kd.mul(a, b), 'float32'), kd.cast(kd.pow(b, 3), 'float32'), kd.cast(kd.gt(a, b), 'float32'),
        kd.cast(kd.sum(kd.ge(a, 0)), 'float32'), kd.cast(kd.maximum(a, b), 'float32')];
    },
  },
  {
    name: 'conv2d AlexNet-1 (11x11 stride 4 pad 1) + grads',
    rtol: 2e-3, atol: 2e-3,
    run: (d) => withGrads(d, [rn([8, 1, 224, 224], d, true), rn([96, 1, 11, 11], d, true), rn([96], d, true)], (x, w, b) => kd.conv2d(x, w, b, { stride: 4, padding: 1 })),
  },
  {
    name: 'conv2d 5x5 pad 2, 48→64 on 26² (AlexNet-2 class) + grads',
    rtol: 2e-3, atol: 2e-3,
    run: alexnet2Class,
  },
  {
    name: 'conv2d 3x3 dilation 2 groups 2, 32→64 on 30², large enough for cuDNN + grads',
    rtol: 2e-3, atol: 2e-3,
    run: (d) => withGrads(d, [rn([16, 32, 30, 30], d, true), rn([64, 16, 3, 3], d, true)], (x, w) => kd.conv2d(x, w, null, { padding: 1, dilation: 2, groups: 2 })),
  },
  {
    // Few channels: the direct kernels (conv_direct.cu), with stride and padding too.
    name: 'conv2d LeNet-2 (6→16, 5x5) batch 64, and 3→10 5x5 stride 2 pad 2, + grads',
    rtol: 1e-4, atol: 1e-4,
    run: (d) => [
      ...withGrads(d, [rn([64, 6, 14, 14], d, true), rn([16, 6, 5, 5], d, true), rn([16], d, true)], (x, w, b) => kd.conv2d(x, w, b)),
      ...withGrads(d, [rn([5, 3, 23, 19], d, true), rn([10, 3, 5, 5], d, true)], (x, w) => kd.conv2d(x, w, null, { stride: 2, padding: 2 })),
    ],
  },
  {
    name: 'conv2d 3x3 pad 1 dilation 2 groups 2 + grads',
    rtol: 2e-3, atol: 2e-3,
    run: (d) => withGrads(d, [rn([4, 8, 20, 17], d, true), rn([12, 4, 3, 3], d, true)], (x, w) => kd.conv2d(x, w, null, { padding: 1, dilation: 2, groups: 2 })),
  },
  {
    name: 'max/avg pool (3x3 s2 ceil, pad) + grads',
    rtol: 1e-5, atol: 1e-5,
    run: (d) => [
      ...withGrads(d, [rn([4, 6, 27, 27], d, true)], (x) => kd.maxPool2d(x, { kernelSize: 3, stride: 2, ceilMode: true })),
      ...withGrads(d, [rn([4, 6, 13, 13], d, true)], (x) => kd.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false })),
    ],
  },
  {
    name: 'softmax / crossEntropy rows of 1000 + grads',
    rtol: 1e-4, atol: 1e-5,
    run: (d) => withGrads(d, [rn([64, 1000], d, true)], (x) => kd.crossEntropy(x, kd.randint(0, 1000, [64], { device: d }))),
  },
  {
    name: 'batchNorm train 2d + grads, running stats',
    rtol: 1e-3, atol: 1e-4,
    run: (d) => {
      const rm = kd.zeros([16], { device: d });
      const rv = kd.ones([16], { device: d });
      const r = withGrads(d, [rn([32, 16, 9, 9], d, true), rn([16], d, true), rn([16], d, true)], (x, w, b) =>
        kd.batchNorm(x, rm, rv, w, b, { training: true, momentum: 0.1, eps: 1e-5 }));
      return [...r, rm, rv];
    },
  },
  { name: 'random: rand/randn/dropout masks identical to cpu', rtol: 1e-6, atol: 1e-6, run: (d) => [kd.rand([1001], { device: d }), kd.randn([999], { device: d }), kd.dropout(kd.ones([4096], { device: d }), { p: 0.5, training: true })] },
  {
    name: 'gather / scatterAdd',
    rtol: 1e-5, atol: 1e-5,
    run: (d) => {
      const x = rn([50, 40], d);
      const idx = kd.randint(0, 40, [50, 30], { device: d });
      return [kd.gather(x, 1, idx), kd.scatterAdd(kd.zeros([50, 40], { device: d }), 1, idx, rn([50, 30], d))];
    },
  },
];

async function compare(a: kd.Tensor, b: kd.Tensor, rtol: number, atol: number): Promise<string | null> {
  if (a.shape.join() !== b.shape.join()) return `shape [${a.shape}] vs cpu [${b.shape}]`;
  const x = await a.data();
  const y = await b.data();
  let worst = 0;
  let at = -1;
  for (let i = 0; i < y.length; i++) {
    const err = Math.abs(Number(x[i]) - Number(y[i]));
    const tol = atol + rtol * Math.abs(Number(y[i]));
    if (!(err <= tol) && !(Number.isNaN(x[i]) && Number.isNaN(y[i]))) {
      if (at < 0 || err > worst) {
        worst = err;
        at = i;
      }
    }
  }
  return at < 0 ? null : `element ${at}: cuda ${x[at]} vs cpu ${y[at]} (|diff| ${worst.toExponential(2)})`;
}

export async function versusCpu(device: string): Promise<VersusResult[]> {
  // Full FP32 on both sides: these tolerances are FP32's (TF32 has its own check below).
  return withSwitches(device, { allowTF32: false }, () => fp32VersusCpu(device));
}

/** The switches of the cuda backend that change how it computes (CudaBackendOptions). */
type Switches = { allowTF32?: boolean; cudnnBenchmark?: boolean };

/** Runs fn with those of `set` that the device's backend has, restoring them after. */
async function withSwitches<T>(device: string, set: Switches, fn: () => Promise<T>): Promise<T> {
  const b = kd.getBackend(device) as kd.Backend & Switches;
  const keys = (Object.keys(set) as (keyof Switches)[]).filter((k) => typeof b[k] === 'boolean');
  const before = keys.map((k) => b[k]);
  for (const k of keys) b[k] = set[k];
  try {
    return await fn();
  } finally {
    keys.forEach((k, i) => (b[k] = before[i]));
  }
}

async function fp32VersusCpu(device: string): Promise<VersusResult[]> {
  const results: VersusResult[] = [];
  for (const c of CASES) {
    try {
      kd.manualSeed(1234);
      const got = c.run(device);
      kd.manualSeed(1234);
      const want = c.run('cpu');
      const problems: string[] = [];
      for (let i = 0; i < want.length; i++) {
        const p = await compare(got[i]!, want[i]!, c.rtol, c.atol);
        if (p) problems.push(`output ${i}: ${p}`);
      }
      results.push({ name: c.name, ok: problems.length === 0, detail: problems.join('; ') });
    } catch (e) {
      results.push({ name: c.name, ok: false, detail: `threw: ${(e as Error).message}` });
    }
  }
  return results;
}

/** ‖a − b‖ / ‖b‖ over all elements (b: cpu's FP32 result). */
async function relativeError(a: kd.Tensor, b: kd.Tensor): Promise<number> {
  const x = await a.data();
  const y = await b.data();
  let num = 0;
  let den = 0;
  for (let i = 0; i < y.length; i++) {
    num += (Number(x[i]) - Number(y[i])) ** 2;
    den += Number(y[i]) ** 2;
  }
  return Math.sqrt(num / (den || 1));
}

const TF32_CASES: { name: string; run: (device: string) => kd.Tensor[] }[] = [
  // Forward (A = W, K-contiguous; B = columns, N-contiguous), input gradient (A = Wᵀ) and weight
  // gradient (B = columnsᵀ): all four operand layouts of the kernel, edge tiles, and split-K.
  { name: 'conv2d 5x5 pad 2, 48→64 on 26² + grads', run: alexnet2Class },
  // 40 output channels a group: past the direct kernels' 32 (those stay FP32, as allowTF32 permits).
  { name: 'conv2d 3x3 groups 2, 30→80 on 17² + grads', run: (d) => withGrads(d, [rn([3, 30, 17, 17], d, true), rn([80, 15, 3, 3], d, true)], (x, w) => kd.conv2d(x, w, null, { padding: 1, groups: 2 })) },
  { name: 'conv2d 11x11 stride 4, 1→96 on 224² (AlexNet-1) + grads', run: (d) => withGrads(d, [rn([2, 1, 224, 224], d, true), rn([96, 1, 11, 11], d, true)], (x, w) => kd.conv2d(x, w, null, { stride: 4, padding: 1 })) },
];

/**
 * With allowTF32 on, the convolutions' products run on TF32 (tensor cores, or the emulator's model
 * of them): each output must be within TF32's error of cpu's FP32 result (‖Δ‖/‖y‖ < 2e-3, TF32's
 * unit roundoff being 4.9e-4) and, to show TF32 really ran, the forward output further from it than
 * FP32 would be (1e-6).
 */
export async function tf32VersusCpu(device: string): Promise<VersusResult[]> {
  const results: VersusResult[] = [];
  await withSwitches(device, { allowTF32: true }, async () => {
    for (const c of TF32_CASES) {
      try {
        kd.manualSeed(99);
        const got = c.run(device);
        kd.manualSeed(99);
        const want = c.run('cpu');
        const errs = await Promise.all(want.map((w, i) => relativeError(got[i]!, w)));
        const bad = errs.map((e, i) => (e < 2e-3 ? null : `output ${i}: ‖Δ‖/‖y‖ = ${e.toExponential(2)}`)).filter((x) => x !== null);
        // The forward output is a product; a bias gradient is a sum and stays FP32.
        if (!(errs[0]! > 1e-6)) bad.push(`the forward output is as close as FP32 (${errs[0]!.toExponential(2)}): TF32 did not run`);
        results.push({ name: `TF32 ${c.name} (‖Δ‖/‖y‖ ${errs.map((e) => e.toExponential(1)).join(', ')})`, ok: bad.length === 0, detail: bad.join('; ') });
      } catch (e) {
        results.push({ name: `TF32 ${c.name}`, ok: false, detail: `threw: ${(e as Error).message}` });
      }
    }
  });
  return results;
}

/**
 * How far the convolutions land from cpu's FP32 on AlexNet's two largest shapes (batch 32), as
 * ‖Δ‖/‖y‖ of the output and both gradients, for each way the backend lets cuDNN choose: FP32 with
 * timed algorithms, FP32 by heuristics, TF32 with timed algorithms. FP32 must stay FP32-class
 * (‖Δ‖/‖y‖ < 1e-5: GEMM and FFT algorithms give ~3e-7, 3x3 Winograd ~4e-6), whatever cuDNN calls FMA
 * math; TF32 within TF32's error (< 2e-3). The bound is what rules out 5x5 non-fused Winograd
 * (cudnn_conv.cc), measured at 1.5e-3 for AlexNet's second convolution's weight gradient.
 */
export async function convPrecision(device: string): Promise<VersusResult[]> {
  const convs: [string, number[], number[], number][] = [
    ['96→256 5x5 pad 2 on 26²', [32, 96, 26, 26], [256, 96, 5, 5], 2],
    ['384→384 3x3 pad 1 on 12²', [32, 384, 12, 12], [384, 384, 3, 3], 1],
  ];
  const modes: [string, boolean, boolean, number][] = [['FP32, timed', false, true, 1e-5], ['FP32, heuristics', false, false, 1e-5], ['TF32, timed', true, true, 2e-3]];
  const results: VersusResult[] = [];
  const names = ['output', 'input grad', 'weight grad'];
  for (const [conv, xs, ws, padding] of convs) {
    kd.manualSeed(7);
    const want = withGrads('cpu', [rn(xs, 'cpu', true), rn(ws, 'cpu', true)], (x, w) => kd.conv2d(x, w, null, { padding }));
    for (const [mode, allowTF32, cudnnBenchmark, bound] of modes) {
      const errors = await withSwitches(device, { allowTF32, cudnnBenchmark }, async () => {
        kd.manualSeed(7);
        const got = withGrads(device, [rn(xs, device, true), rn(ws, device, true)], (x, w) => kd.conv2d(x, w, null, { padding }));
        return Promise.all(want.map((w, i) => relativeError(got[i]!, w)));
      });
      const bad = errors.flatMap((e, i) => (e < bound ? [] : [`${names[i]}: ‖Δ‖/‖y‖ = ${e.toExponential(2)} ≥ ${bound}`]));
      results.push({
        name: `conv ${conv}, ${mode}: ‖Δ‖/‖y‖ ${errors.map((e, i) => `${names[i]} ${e.toExponential(1)}`).join(', ')}`,
        ok: bad.length === 0,
        detail: bad.join('; '),
      });
    }
  }
  return results;
}
