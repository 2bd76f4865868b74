#!/usr/bin/env python3
"""PyTorch CUDA's side of the device check: the same LeNet (batch 256) and AlexNet (batch 128,
1x224x224) training steps as apps/cuda-check/src/check.ts (SGD, cross-entropy, the loss read back
every step), timed after warm-up on the same GPU. PyTorch's defaults (cuDNN may use TF32 for
convolutions, algorithms by cuDNN's heuristics) and full FP32 (TF32 off, Kindling's default), each
also with torch.backends.cudnn.benchmark = True (algorithms timed on first use, as Kindling's
cudnnBenchmark default).
The models come from apps/bench/python/bench_torch.py, so both benches train the same networks."""
import argparse
import json
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench', 'python'))
from bench_torch import alexnet, d2l_init, lenet  # noqa: E402


def run(name, tf32, benchmark=False):
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = benchmark
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    dev = torch.device('cuda')
    batch, size = (256, 28) if name == 'lenet' else (128, 224)
    warm, steps = (20, 100) if name == 'lenet' else (5, 20)
    net = (lenet() if name == 'lenet' else alexnet())
    d2l_init(net)
    net = net.to(dev).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.9 if name == 'lenet' else 0.01)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, 1, size, size, device=dev)
    y = torch.randint(0, 10, (batch,), device=dev)

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warm):
        step()
    times = []
    t0 = time.perf_counter()
    for _ in range(steps):
        s = time.perf_counter()
        step()
        times.append((time.perf_counter() - s) * 1000)
    total = time.perf_counter() - t0
    times.sort()
    r = {'batch': batch, 'steps': steps, 'seconds': total, 'imagesPerSecond': batch * steps / total, 'medianStepMs': times[len(times) // 2],
         'tf32_conv': tf32, 'cudnn_benchmark': benchmark, 'torch': torch.__version__, 'cudnn': torch.backends.cudnn.version(), 'gpu': torch.cuda.get_device_name()}
    print(f"pytorch {name} train batch {batch} ({'defaults' if tf32 else 'no TF32'}{', cudnn.benchmark' if benchmark else ''}): {r['imagesPerSecond']:.0f} img/s (median step {r['medianStepMs']:.2f} ms)", flush=True)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--json', required=True)
    ap.add_argument('--models', default='lenet,alexnet')
    a = ap.parse_args()
    out = {}
    for name in a.models.split(','):
        out[f'{name}_default'] = run(name, True)
        out[f'{name}_fp32'] = run(name, False)
        out[f'{name}_default_benchmark'] = run(name, True, True)
        out[f'{name}_fp32_benchmark'] = run(name, False, True)
    with open(a.json, 'w') as f:
        json.dump(out, f, indent=1)


if __name__ == '__main__':
    main()
