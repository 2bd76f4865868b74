#!/usr/bin/env python3
"""PyTorch's side of the Kindling bench (apps/bench): the same workloads, models and batch sizes,
answering the bench's line protocol (one JSON object per line on stdin/stdout, see src/protocol.ts).

Set up for PyTorch's best result on this machine: the bench starts this process with
OPENBLAS_NUM_THREADS=1 for LeNet and 2 for AlexNet and matmul (read when torch loads), and during
setup the intra-op thread count (1 or 2 on a 2-core machine) that runs the workload fastest is kept.
"""
import gzip
import json
import os
import resource
import sys
import time

import numpy as np
import torch
from torch import nn

MATMUL_N = 2048
EPOCH_IMAGES = 60000


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


def alexnet():
    return nn.Sequential(
        nn.Conv2d(1, 96, kernel_size=11, stride=4, padding=1), nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2), nn.Flatten(),
        nn.Linear(6400, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, 10))


def d2l_init(net):
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)


def read_idx_gz(path):
    """Decodes a gzip'd IDX file as torchvision does (gzip + numpy), returning a numpy array."""
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_root(data_dir):
    candidates = [data_dir, os.environ.get('KINDLING_DATA_DIR'), '/usr/share/datasets/fashion-mnist']
    for c in candidates:
        if c and os.path.exists(os.path.join(c, 'train-images-idx3-ubyte.gz')):
            return c
    raise FileNotFoundError('Fashion-MNIST not found (train-images-idx3-ubyte.gz); apt-get install dataset-fashion-mnist')


def train_step(net, opt, loss_fn, x, y):
    opt.zero_grad()
    loss = loss_fn(net(x), y)
    loss.backward()
    opt.step()
    return loss.item()


class Session:
    def __init__(self, workload, batch, data_dir):
        torch.manual_seed(0)
        self.workload = workload
        self.extra = {}
        if workload == 'matmul':
            a, b = torch.randn(MATMUL_N, MATMUL_N), torch.randn(MATMUL_N, MATMUL_N)
            self.step = lambda: torch.mm(a, b)
        else:
            net = alexnet() if workload == 'alexnet-train' else lenet()
            d2l_init(net)
            size = 224 if workload == 'alexnet-train' else 28
            opt = torch.optim.SGD(net.parameters(), lr=0.1)
            loss_fn = nn.CrossEntropyLoss()
            if workload == 'user-loop':
                self.step = self.user_loop(net, opt, loss_fn, batch, data_dir)
            elif workload == 'epoch':
                root = fashion_root(data_dir)

                def epoch():
                    t0 = time.perf_counter()
                    images = torch.from_numpy(read_idx_gz(os.path.join(root, 'train-images-idx3-ubyte.gz')).copy())
                    labels = torch.from_numpy(read_idx_gz(os.path.join(root, 'train-labels-idx1-ubyte.gz')).astype(np.int64))
                    x_all = images.float().div_(255).unsqueeze(1)  # ToTensor: [N,1,28,28] in [0,1]
                    self.extra['decodeSeconds'] = time.perf_counter() - t0
                    ds = torch.utils.data.TensorDataset(x_all, labels)
                    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=0)
                    n = 0
                    for x, y in loader:
                        train_step(net, opt, loss_fn, x, y)
                        n += y.shape[0]
                    assert n == EPOCH_IMAGES
                self.step = epoch
            else:
                x = torch.randn(batch, 1, size, size)
                y = torch.randint(0, 10, (batch,))
                if workload == 'lenet-infer':
                    net.eval()

                    def infer():
                        with torch.no_grad():
                            net(x)
                    self.step = infer
                else:
                    self.step = lambda: train_step(net, opt, loss_fn, x, y)
        self.threads = self.pick_threads()

    def user_loop(self, net, opt, loss_fn, batch, data_dir):
        """The seed's loop (d2l train_ch6): DataLoader batches, X.to(device), loss and accuracy read
        back with .cpu().item() every step; the data loaded as the epoch workload loads it."""
        root = fashion_root(data_dir)
        images = torch.from_numpy(read_idx_gz(os.path.join(root, 'train-images-idx3-ubyte.gz')).copy())
        labels = torch.from_numpy(read_idx_gz(os.path.join(root, 'train-labels-idx1-ubyte.gz')).astype(np.int64))
        ds = torch.utils.data.TensorDataset(images.float().div_(255).unsqueeze(1), labels)
        loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=0)
        device = torch.device('cpu')
        state = {'it': iter(loader)}

        def step():
            try:
                X, y = next(state['it'])
            except StopIteration:
                state['it'] = iter(loader)
                X, y = next(state['it'])
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss_fn(y_hat, y)
            opt.zero_grad()
            l.backward()
            opt.step()
            l.cpu().item()
            with torch.no_grad():
                (y_hat.argmax(dim=1) == y).float().sum().cpu().item()
        return step

    def pick_threads(self):
        """Keeps the intra-op thread count that runs this workload fastest (epoch: LeNet's choice)."""
        options = sorted({1, min(2, os.cpu_count() or 1)})
        if self.workload == 'epoch' or len(options) == 1:
            torch.set_num_threads(options[0] if self.workload == 'epoch' else options[-1])
            return torch.get_num_threads()
        best, best_t = options[0], float('inf')
        reps = 2 if self.workload == 'alexnet-train' else 6
        for n in options:
            torch.set_num_threads(n)
            self.step()
            t0 = time.perf_counter()
            for _ in range(reps):
                self.step()
            t = time.perf_counter() - t0
            if t < best_t:
                best, best_t = n, t
        torch.set_num_threads(best)
        return best


def max_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main():
    session = None
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            if req['cmd'] == 'exit':
                break
            if req['cmd'] == 'setup':
                session = Session(req['workload'], req['batch'], req.get('dataDir'))
                info = (f"PyTorch {torch.__version__} (Python {sys.version.split()[0]}), {session.threads} intra-op thread(s), "
                        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'auto')}, oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}")
                reply = {'ok': True, 'info': info}
            else:
                times = []
                start = time.perf_counter()
                while True:
                    t0 = time.perf_counter()
                    session.step()
                    times.append(time.perf_counter() - t0)
                    if len(times) >= req['maxSteps'] or time.perf_counter() - start >= req['minSeconds']:
                        break
                reply = {'ok': True, 'times': times, 'maxRss': max_rss(), 'extra': session.extra}
        except Exception as e:  # reported in the table, never fatal to the bench
            reply = {'ok': False, 'error': f'{type(e).__name__}: {e}'.split('\n')[0]}
        sys.stdout.write(json.dumps(reply) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
