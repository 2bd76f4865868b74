/**
 * `pnpm train --nproc N …`: the same training over N processes with DistributedDataParallel.
 *
 * Without a rank in the environment, `launchRanks` re-runs this CLI under kindling-run with
 * `--nproc-per-node N`; each rank then runs `trainDistributed`: the model built and seeded as in
 * train(), wrapped in DDP (rank 0's weights), a DistributedSampler giving each rank 1/N of every
 * epoch, and a per-rank batch of batchSize / N, so one step sees d2l's global batch. Loss and
 * accuracies are summed over the ranks with allReduce; rank 0 prints d2l's epoch line. It keeps
 * to the core loop: no checkpoints, plots or schedulers (those stay in train()).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kd from '@kindling/core';
import '@kindling/autograd';
import { DataLoader, DistributedSampler } from '@kindling/data';
import { DistributedDataParallel, allReduce, destroyProcessGroup, initProcessGroup } from '@kindling/distributed';
import { RunningSums, correctCount } from '@kindling/metrics';
import { CrossEntropyLoss } from '@kindling/nn';
import { makeOptimizer } from './train.js';
import { fashionMnistDatasets } from './data.js';
import { buildModel } from './models.js';
import type { TrainOptions } from './options.js';
import { UsageError } from './options.js';

const MARK = 'KINDLING_TRAIN_NPROC';

/**
 * With `--nproc N` on the command line (and not already a rank): runs N ranks of this CLI under
 * kindling-run and returns its exit code; otherwise null, and `argv` without the flag is in `rest`.
 */
export function launchRanks(argv: string[]): { code: number | null; rest: string[] } {
  const i = argv.findIndex((a) => a === '--nproc' || a.startsWith('--nproc='));
  if (i < 0) return { code: null, rest: argv };
  const value = argv[i]!.includes('=') ? argv[i]!.split('=')[1]! : argv[i + 1];
  const rest = argv.filter((_, k) => k !== i && (argv[i]!.includes('=') || k !== i + 1));
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--nproc must be a positive integer, got '${value}'`);
  if (process.env[MARK]) return { code: null, rest };
  const run = join(dirname(createRequire(import.meta.url).resolve('@kindling/distributed')), 'run.js');
  const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.js');
  const port = process.env.MASTER_PORT ?? '29500';
  const r = spawnSync(process.execPath, [run, '--nproc-per-node', String(n), '--master-port', port, cli, ...rest, '--nproc', String(n)], {
    stdio: 'inherit',
    env: { ...process.env, [MARK]: String(n) },
  });
  return { code: r.status ?? 1, rest };
}

/** True in a rank that launchRanks started. */
export function isLaunchedRank(): boolean {
  return Boolean(process.env[MARK]);
}

export async function trainDistributed(o: TrainOptions, log: (l: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  await kd.initDevice(o.backend);
  kd.setDefaultDevice(o.backend);
  const pg = await initProcessGroup({ backend: 'gloo' });
  const { rank, worldSize } = pg;
  try {
    if (o.batchSize % worldSize !== 0) throw new UsageError(`--batch-size ${o.batchSize} must be divisible by --nproc ${worldSize} (each rank takes an equal share)`);
    const per = o.batchSize / worldSize;
    kd.manualSeed(o.seed);
    // buildModel initialises as the model's recipe says (PyTorch's defaults, or Xavier for the -d2l
    // variants), in the same random-number order as the single-process trainer.
    const net = buildModel(o.model);
    const ddp = await DistributedDataParallel.create(net);
    const optimizer = makeOptimizer(o, net);
    const lossFn = new CrossEntropyLoss();
    const data = await fashionMnistDatasets(o);
    const trainSampler = new DistributedSampler(data.train, { numReplicas: worldSize, rank, seed: o.seed });
    const train = new DataLoader(data.train, { batchSize: per, sampler: trainSampler, seed: o.seed });
    const test = new DataLoader(data.test, { batchSize: per, sampler: new DistributedSampler(data.test, { numReplicas: worldSize, rank, shuffle: false }), seed: o.seed });
    if (rank === 0) log(`${o.model}: ${worldSize} ranks × batch ${per} (global ${o.batchSize}), ${data.train.length} training / ${data.test.length} test images, lr ${o.lr}, ${o.optimizer}`);
    let examples = 0;
    let trainSeconds = 0;
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      trainSampler.setEpoch(epoch);
      net.train();
      const sums = new RunningSums();
      const t0 = performance.now();
      let it = 0;
      for await (const [x, y] of train) {
        const l = kd.tidy(() => {
          optimizer.zeroGrad();
          const yHat = ddp.call(x) as kd.Tensor;
          const loss = lossFn.call(yHat, y);
          loss.backward();
          kd.noGrad(() => {
            sums.add('loss', loss.mul(y.shape[0]!));
            sums.add('correct', correctCount(yHat, y));
          });
          sums.add('n', y.shape[0]!);
          return loss;
        });
        await ddp.synchronize();
        optimizer.step();
        l.dispose();
        x.dispose();
        y.dispose();
        if (o.maxIters !== null && ++it >= o.maxIters) break;
      }
      const seconds = (performance.now() - t0) / 1000;
      const [lossSum, correct, n] = await sumOverRanks(sums, ['loss', 'correct', 'n']);
      const testAcc = await evaluate(ddp, test);
      examples += n!;
      trainSeconds += seconds;
      if (rank === 0) {
        log(`epoch ${epoch + 1}, loss ${(lossSum! / n!).toFixed(3)}, train acc ${(correct! / n!).toFixed(3)}, test acc ${testAcc.toFixed(3)}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      }
    }
    if (rank === 0) log(`${(examples / Math.max(trainSeconds, 1e-9)).toFixed(1)} examples/sec over ${worldSize} processes`);
    await train.close();
    await test.close();
  } finally {
    destroyProcessGroup();
  }
}

/** Accuracy over the whole test set: each rank counts its shard, the counts are summed. */
async function evaluate(model: DistributedDataParallel, loader: DataLoader): Promise<number> {
  model.eval();
  const sums = new RunningSums();
  await kd.noGrad(async () => {
    for await (const [x, y] of loader) {
      kd.tidy(() => sums.add('correct', correctCount(model.call(x) as kd.Tensor, y)));
      sums.add('n', y.shape[0]!);
      x.dispose();
      y.dispose();
    }
  });
  model.train();
  const [correct, n] = await sumOverRanks(sums, ['correct', 'n']);
  return n ? correct! / n : 0;
}

/** This rank's running sums, added up over all ranks. */
async function sumOverRanks(sums: RunningSums, names: string[]): Promise<number[]> {
  const v = await sums.values();
  sums.reset();
  const t = kd.tensor(names.map((k) => v[k] ?? 0), { dtype: 'float32' });
  await allReduce(t);
  const out = Array.from(t.dataSync());
  t.dispose();
  return out;
}
