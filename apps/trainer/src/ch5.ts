/**
 * The seed's chapter 5 helpers (Dive-into-DL-PyTorch's d2lzh_pytorch) in camelCase, with the same
 * arguments and the same printed lines, so the notes run almost line for line:
 *
 *     const [trainIter, testIter] = await loadDataFashionMnist(batchSize, 224);
 *     const optimizer = new optim.Adam(net.parameters(), { lr: 0.001 });
 *     await trainCh5(net, trainIter, testIter, batchSize, optimizer, device, numEpochs);
 */
import * as kd from '@kindling/core';
import '@kindling/autograd';
import { CrossEntropyLoss, Module } from '@kindling/nn';
import type { DataLoader } from '@kindling/data';
import { fashionMnistLoaders } from './data.js';

/** What the seed iterates over: anything yielding [X, y] batches (a DataLoader). */
export type DataIter = AsyncIterable<[kd.Tensor, kd.Tensor]> | Iterable<[kd.Tensor, kd.Tensor]>;

/** A network as the seed accepts it: a Module, or a plain function of X (chapter 3's nets). */
export type Net = Module | ((X: kd.Tensor) => kd.Tensor);

export interface Ch5Epoch {
  epoch: number;
  /** The seed's loss: the sum of each batch's mean loss over the number of batches. */
  loss: number;
  trainAcc: number;
  testAcc: number;
  seconds: number;
}

/** Where the seed puts its lines: console.log unless a test or caller collects them. */
export interface Ch5Options {
  print?: (line: string) => void;
}

const printLine = (o: Ch5Options | undefined) => o?.print ?? ((line: string) => console.log(line));

/**
 * evaluate_accuracy(data_iter, net, device=None): the fraction of correct argmax predictions,
 * with each batch run in eval mode (and the net put back into train mode after it, as the seed
 * does), each batch's count read back, and no graph recorded.
 */
export async function evaluateAccuracy(dataIter: DataIter, net: Net, device: string | null = null): Promise<number> {
  if (device === null && net instanceof Module) {
    // 如果没指定device就使用net的device
    device = net.parameters()[0]?.device ?? kd.getDefaultDevice();
  }
  const dev = device ?? kd.getDefaultDevice();
  let accSum = 0;
  let n = 0;
  await kd.noGrad(async () => {
    for await (const [X, y] of dataIter) {
      const correct = kd.tidy(() => {
        if (net instanceof Module) {
          net.eval(); // 评估模式, 这会关闭dropout
          const c = (net.call(X.to(dev)) as kd.Tensor).argmax(1).eq(y.to(dev)).float().sum();
          net.train(); // 改回训练模式
          return c;
        }
        return net(X.to(dev)).argmax(1).eq(y.to(dev)).float().sum();
      });
      accSum += await correct.item();
      correct.dispose();
      n += y.shape[0]!;
      X.dispose();
      y.dispose();
    }
  });
  return accSum / n;
}

/**
 * train_ch5(net, train_iter, test_iter, batch_size, optimizer, device, num_epochs): cross-entropy
 * training, the loss and correct count of every batch read back (l.cpu().item()), and after each
 * epoch the seed's line `epoch %d, loss %.4f, train acc %.3f, test acc %.3f, time %.1f sec`, where
 * loss is the mean over batches of each batch's mean loss. batchSize is unused, as in the seed.
 */
export async function trainCh5(
  net: Module, trainIter: DataIter, testIter: DataIter, batchSize: number,
  optimizer: { zeroGrad(): void; step(): void }, device: string, numEpochs: number, opts?: Ch5Options,
): Promise<Ch5Epoch[]> {
  void batchSize;
  const print = printLine(opts);
  net = net.to(device);
  print(`training on  ${device}`); // print("training on ", device): two spaces
  const loss = new CrossEntropyLoss();
  const history: Ch5Epoch[] = [];
  for (let epoch = 0; epoch < numEpochs; epoch++) {
    let trainLSum = 0;
    let trainAccSum = 0;
    let n = 0;
    let batchCount = 0;
    const start = performance.now();
    for await (const [X0, y0] of trainIter) {
      const [l, correct] = kd.tidy(() => {
        const X = X0.to(device);
        const y = y0.to(device);
        const yHat = net.call(X) as kd.Tensor;
        const l = loss.call(yHat, y);
        optimizer.zeroGrad();
        l.backward();
        optimizer.step();
        return [l.detach(), kd.noGrad(() => yHat.argmax(1).eq(y).sum())];
      });
      trainLSum += await l.item();
      trainAccSum += await correct.item();
      l.dispose();
      correct.dispose();
      n += y0.shape[0]!;
      batchCount += 1;
      X0.dispose();
      y0.dispose();
    }
    const testAcc = await evaluateAccuracy(testIter, net);
    const r = { epoch: epoch + 1, loss: trainLSum / batchCount, trainAcc: trainAccSum / n, testAcc, seconds: (performance.now() - start) / 1000 };
    history.push(r);
    print(`epoch ${r.epoch}, loss ${r.loss.toFixed(4)}, train acc ${r.trainAcc.toFixed(3)}, test acc ${r.testAcc.toFixed(3)}, time ${r.seconds.toFixed(1)} sec`);
  }
  return history;
}

/**
 * load_data_fashion_mnist(batch_size, resize=None, root=...): [trainIter, testIter] over the real
 * Fashion-MNIST (Debian's dataset-fashion-mnist, the cache, or root), the training set shuffled
 * anew each epoch, images resized to resize×resize when given.
 */
export async function loadDataFashionMnist(batchSize: number, resize: number | null = null, root: string | null = null): Promise<[DataLoader, DataLoader]> {
  // No seed: the loader draws one from the global generator, so kd.manualSeed fixes the order.
  const l = await fashionMnistLoaders({ batchSize, resize, dataDir: root, subset: null, testSubset: null, download: false });
  return [l.train, l.test];
}
