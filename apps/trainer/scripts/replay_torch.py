"""The PyTorch side of the trainer's replay (apps/trainer/src/replay.ts): the same K iterations.

    /usr/bin/python3 apps/trainer/scripts/replay_torch.py DIR [--iters N] [--own-init SEED] [--follow] [--no-f64]

DIR is what `pnpm replay` (replayKindling) wrote: meta.json, init.safetensors (Kindling's initial
state dict), batches/NNNN.safetensors (each iteration's exact input tensor x, labels y and Dropout
keep-masks mask.<layer>) and grads-0000.safetensors (Kindling's gradients of iteration 0). This
builds the chapter's network from seed_nets.py, loads Kindling's weights, runs the chapter's step
(forward, CrossEntropyLoss, zero_grad, backward, Adam/SGD step) on the same tensors, and writes
DIR/torch.json: per iteration the loss and the fraction of positive outputs of each watched block,
iteration 0's gradient differences against Kindling's, and a check of the first batch's input
against PyTorch's own resize of the same images. Runs with one thread (torch.set_num_threads(1)),
as the project's shared machine asks; use Debian's python3-torch (1.13) at /usr/bin/python3.
"""
import argparse
import copy
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed_nets import NETS  # noqa: E402

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8, "BOOL": np.bool_}


def load_safetensors(path):
    """The format's reader (8-byte little-endian header length, JSON header, row-major data)."""
    with open(path, "rb") as f:
        b = f.read()
    (n,) = struct.unpack("<Q", b[:8])
    header = json.loads(b[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        dt = np.dtype(DTYPES[e["dtype"]])
        begin, end = e["data_offsets"]
        a = np.frombuffer(b, dtype=dt, count=(end - begin) // dt.itemsize, offset=8 + n + begin)
        out[name] = torch.from_numpy(a.reshape(e["shape"]).copy())
    return out


def read_idx(path):
    """An IDX file (gzip or not): magic 0x0000 0x08 ndim, big-endian dims, then uint8 data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        b = f.read()
    ndim = b[3]
    dims = struct.unpack(">" + "I" * ndim, b[4:4 + 4 * ndim])
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def watched(m):
    return isinstance(m, nn.Sequential) and isinstance(list(m.children())[-1], nn.ReLU)


def forward(m, x, path, dropout, masks, positive):
    """replay.ts's forward, mirrored: through the Sequentials, Dropout from Kindling's masks."""
    if isinstance(m, nn.Sequential):
        for name, c in m.named_children():
            p = path + "." + name if path else name
            x = forward(c, x, p, dropout, masks, positive)
            if path == "" and watched(c):
                positive[p] = (x > 0).float().mean().item()
        return x
    if isinstance(m, nn.Dropout):
        if not m.training or m.p == 0 or dropout == "off":
            return x
        return x * (masks["mask." + path] * (1 / (1 - m.p)))
    if any(isinstance(d, nn.Dropout) for d in m.modules()):
        raise SystemExit("replay_torch: %s applies Dropout inside its own forward" % (path or "the model"))
    return m(x)


def input_check(meta, x, y, idx):
    """Kindling's first batch against PyTorch's resizes of the same images (and the labels)."""
    images = read_idx(meta["trainImages"])
    labels = read_idx(meta["trainLabels"])
    raw = torch.from_numpy(images[idx].astype(np.float32)).unsqueeze(1)
    check = {"labelsEqual": bool(np.array_equal(labels[idx].astype(np.int64), y.numpy())), "pilMaxAbs": None}
    size = meta["resize"]
    if size is None:
        check["interpolateMaxAbs"] = (raw / 255 - x).abs().max().item()
        return check
    # torchvision's Resize on a float tensor (antialias off) is this interpolate call.
    ours = F.interpolate(raw / 255, size=(size, size), mode="bilinear", align_corners=False)
    check["interpolateMaxAbs"] = (ours - x).abs().max().item()
    try:  # the notes' pipeline: Resize on the PIL image, then ToTensor (uint8 rounding)
        from PIL import Image
        pil = np.stack([np.asarray(Image.fromarray(images[i]).resize((size, size), Image.BILINEAR)) for i in idx])
        check["pilMaxAbs"] = (torch.from_numpy(pil.astype(np.float32) / 255).unsqueeze(1) - x).abs().max().item()
    except ImportError:
        pass
    return check


def grads_check(net, theirs, fwd, y):
    """Iteration 0's gradients, Kindling's (theirs) against PyTorch's, both against float64.

    Per parameter: max|g_K - g_T| / max|g_T| and the norm-wise ||g_K - g_T|| / ||g_T||; and each
    side's norm-wise distance from the same step computed in float64 by PyTorch, which says how
    much of the difference is float32 rounding (the first layers' gradients are sums with heavy
    cancellation: both float32 results sit ~1e-3 from float64 there).
    """
    exact = None
    if fwd is not None:
        ref = copy.deepcopy(net).double()
        ref.zero_grad(set_to_none=True)
        F.cross_entropy(fwd(ref), y).backward()
        exact = dict((n, p.grad) for n, p in ref.named_parameters())
    per = {}
    for name, p in net.named_parameters():
        g, k = p.grad.double(), theirs[name].double()
        per[name] = {
            "maxRel": ((k - g).abs().max() / g.abs().max()).item(),
            "l2Rel": ((k - g).norm() / g.norm()).item(),
        }
        if exact is not None:
            e = exact[name]
            per[name]["kindlingVsF64"] = ((k - e).norm() / e.norm()).item()
            per[name]["torchVsF64"] = ((g - e).norm() / e.norm()).item()
    worst = max(per, key=lambda n: per[n]["l2Rel"])
    return {"maxL2Rel": per[worst]["l2Rel"], "param": worst, "perParam": per}


def main(out, iters=None, own_init=None, follow=False, no_f64=False):
    torch.set_num_threads(1)
    with open(os.path.join(out, "meta.json")) as f:
        meta = json.load(f)
    if own_init is None:
        net = NETS[meta["model"]]()
        net.load_state_dict(load_safetensors(os.path.join(out, "init.safetensors")), strict=True)
    else:  # PyTorch's own default initialisation for that seed, on the same batches and masks
        torch.manual_seed(own_init)
        net = NETS[meta["model"]]()
    net.train()
    if meta["optimizer"] == "adam":
        optimizer = torch.optim.Adam(net.parameters(), lr=meta["lr"])
    else:
        optimizer = torch.optim.SGD(net.parameters(), lr=meta["lr"])
    loss_fn = nn.CrossEntropyLoss()
    result = {"framework": "pytorch " + torch.__version__, "model": meta["model"], "ownInit": own_init, "iterations": []}
    for i in range(meta["iters"] if iters is None else min(iters, meta["iters"])):
        path = os.path.join(out, "batches", "%04d.safetensors" % i)
        waited = 0
        while follow and not os.path.exists(path) and waited < 600:  # Kindling's side still running
            time.sleep(2)
            waited += 2
        batch = load_safetensors(path)
        x, y = batch["x"], batch["y"].long()
        if i == 0 and own_init is None:
            result["inputCheck"] = input_check(meta, x, y, meta["indices"][0])
        t0 = time.time()
        positive = {}
        y_hat = forward(net, x, "", meta["dropout"], batch, positive)
        loss = loss_fn(y_hat, y)
        optimizer.zero_grad()
        loss.backward()
        if i == 0 and own_init is None:
            result["grads0"] = grads_check(net, load_safetensors(os.path.join(out, "grads-0000.safetensors")),
                                           None if no_f64 else lambda m: forward(m, x.double(), "", meta["dropout"],
                                                                                 {k: v.double() for k, v in batch.items()}, {}), y)
        optimizer.step()
        rec = {"iteration": i, "loss": loss.item(), "positive": positive, "seconds": time.time() - t0}
        result["iterations"].append(rec)
        print("pytorch %s iteration %d: loss %.6f%s, %.1f s" % (
            meta["model"], i, rec["loss"], "".join(", block %s %.1f %% > 0" % (k, 100 * v) for k, v in positive.items()),
            rec["seconds"]), flush=True)
        # Rewritten each iteration: a run cut short still leaves a log to compare.
        name = "torch.json" if own_init is None else "torch-init-%d.json" % own_init
        with open(os.path.join(out, name), "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="The PyTorch side of the trainer's replay (see the module docstring).")
    ap.add_argument("dir", help="what replayKindling wrote")
    ap.add_argument("--iters", type=int, help="replay only the first N of the iterations Kindling ran")
    ap.add_argument("--own-init", type=int, metavar="SEED",
                    help="start from PyTorch's own default init after torch.manual_seed(SEED) instead of Kindling's "
                         "weights (writes torch-init-SEED.json; no gradient comparison)")
    ap.add_argument("--follow", action="store_true",
                    help="wait (up to 10 minutes each) for batch files Kindling's side has not written yet")
    ap.add_argument("--no-f64", action="store_true",
                    help="skip the float64 step of iteration 0 (minutes for the 224x224 networks on one thread)")
    a = ap.parse_args()
    main(a.dir, a.iters, a.own_init, a.follow, a.no_f64)
