// One rank of bench/dist.mjs. KIND=allreduce: times Gloo's allreduce of host buffers (no tensor
// read/write) for each size in SIZES; KIND=ddp: times DDP LeNet training steps on synthetic
// batches (PER_RANK images per rank); KIND=single: the same steps in one process without a
// process group. Prints one JSON line.
import '@kindling/backend-cpu';
import '@kindling/autograd';
import { crossEntropy, manualSeed, randint, randn, tensor } from '@kindling/core';
import * as dist from '@kindling/distributed';
import * as nn from '@kindling/nn';
import * as optim from '@kindling/optim';

const single = process.env.KIND === 'single';
const pg = single ? null : await dist.initProcessGroup({ backend: 'gloo', timeoutMs: 300_000 });
const now = () => performance.now();
const out = { rank: pg?.rank ?? 0, worldSize: pg?.worldSize ?? 1 };

if (process.env.KIND === 'allreduce') {
  out.results = [];
  for (const bytes of process.env.SIZES.split(',').map(Number)) {
    const buf = new Float32Array(bytes / 4).fill(pg.rank + 1);
    for (let i = 0; i < 2; i++) await pg.allReduceHost(buf);
    // Enough repetitions for ~0.5 s (at least 3), agreed on by all ranks through rank 0's estimate.
    const t0 = now();
    await pg.allReduceHost(buf);
    const est = tensor([Math.max(3, Math.min(1000, Math.ceil(500 / Math.max(now() - t0, 0.01))))]);
    await pg.broadcast(est, 0);
    const reps = est.dataSync()[0];
    await pg.barrier();
    const t1 = now();
    for (let i = 0; i < reps; i++) await pg.allReduceHost(buf);
    const ms = (now() - t1) / reps;
    out.results.push({ bytes, reps, ms });
  }
} else {
  const per = Number(process.env.PER_RANK);
  const steps = Number(process.env.STEPS);
  manualSeed(0);
  const net = new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }),
    new nn.Conv2d(6, 16, 5), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }),
    new nn.Flatten(), new nn.Linear(400, 120), new nn.Sigmoid(), new nn.Linear(120, 84), new nn.Sigmoid(), new nn.Linear(84, 10),
  );
  const ddp = single ? null : await dist.DistributedDataParallel.create(net);
  const opt = new optim.SGD(net.parameters(), { lr: 0.9 });
  const x = randn([per, 1, 28, 28]);
  const y = randint(0, 10, [per]);
  const step = async () => {
    opt.zeroGrad();
    crossEntropy((ddp ?? net).call(x), y).backward();
    await ddp?.synchronize();
    opt.step();
  };
  for (let i = 0; i < 3; i++) await step();
  await pg?.barrier();
  const t0 = now();
  for (let i = 0; i < steps; i++) await step();
  await pg?.barrier();
  out.ms = (now() - t0) / steps;
}
dist.destroyProcessGroup();
process.stdout.write(`${JSON.stringify(out)}\n`);
