// d2l's LeNet (sigmoid, average pooling, SGD lr 0.9) trained in Node with `kindling` from npm.
// Uses Fashion-MNIST when it is installed (Debian's dataset-fashion-mnist, or $KINDLING_DATA_DIR),
// else random batches of the same shape (the speed is the same, the loss does not fall).
//   node train.mjs [--steps N] [--batch B]
import * as kd from 'kindling';
import { lenet } from './lenet.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const steps = arg('steps', 100);
const batch = arg('batch', 256);
const { optim, data } = kd;

kd.manualSeed(0);
const net = lenet();
const opt = new optim.SGD(net.parameters(), { lr: 0.9 });

/** Batches of [B, 1, 28, 28] images and int32 labels, forever. */
async function* batches() {
  let ds = null;
  try {
    ds = await data.FashionMNIST.load({ train: true });
  } catch (e) {
    console.log(`Fashion-MNIST not found (${e.message.split('\n')[0]}): random batches`);
  }
  for (;;) {
    if (!ds) {
      yield [kd.rand([batch, 1, 28, 28]), kd.randint(0, 10, [batch])];
      continue;
    }
    for await (const b of new data.DataLoader(ds, { batchSize: batch, shuffle: true })) yield b;
  }
}

console.log(`cpu: ${kd.getBackend('cpu').info().implementation}`);
let seen = 0;
let start = 0;
let step = 0;
for await (const [x, y] of batches()) {
  if (step === 1) start = performance.now(); // the first step warms up
  const loss = kd.tidy(() => {
    opt.zeroGrad();
    const l = kd.crossEntropy(net.forward(x), y);
    l.backward();
    opt.step();
    return l.detach();
  });
  const value = await loss.item();
  loss.dispose();
  if (step >= 1) seen += x.shape[0];
  x.dispose();
  y.dispose();
  step += 1;
  if (step % 10 === 0 || step === steps) console.log(`step ${step}, loss ${value.toFixed(3)}`);
  if (step === steps) break;
}
const seconds = (performance.now() - start) / 1000;
console.log(`lenet-node: ${steps} steps, ${Math.round(seen / seconds)} img/s (after the first step)`);
