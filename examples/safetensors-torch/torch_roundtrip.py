"""The PyTorch half of the round trip: loads Kindling's LeNet checkpoint into torch's LeNet, checks
its output on the input Kindling used, takes one SGD step (lr 0.1, cross-entropy on labels 0..3)
and writes the new weights back as safetensors, with torch's output for Kindling to compare.

safetensors without the `safetensors` module (Debian's python3-torch 1.13 has none): 8 bytes of
little-endian header length, the JSON header, then each tensor's raw little-endian bytes.

    python3 torch_roundtrip.py IN.safetensors OUT.safetensors EXPECTED.json
"""
import json
import struct
import sys

import torch
from torch import nn

DTYPES = {"F32": torch.float32, "I64": torch.int64, "I32": torch.int32}


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    body = raw[8 + n :]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(body[begin:end]), dtype=DTYPES[e["dtype"]])
        out[name] = t.reshape(e["shape"])
    return out


def save(tensors, path):
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, stride=2),
        nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10),
    )


def main(src, dst, expected_path):
    state = load(src)
    x = state.pop("input")
    kindling_out = state.pop("output")
    net = lenet()
    net.load_state_dict(state)  # strict: every name and shape must match
    out = net(x)
    diff = (out - kindling_out).abs().max().item()
    if diff > 1e-5:
        raise SystemExit(f"torch's output differs from Kindling's by {diff}")
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    loss = nn.functional.cross_entropy(out, torch.arange(x.shape[0]) % 4)
    loss.backward()
    opt.step()
    save(net.state_dict(), dst)
    with torch.no_grad():
        after = net(x)
    with open(expected_path, "w") as f:
        json.dump({"forward_diff": diff, "loss": loss.item(), "output": after.flatten().tolist()}, f)
    print(f"torch: loaded {len(state)} tensors, output matches Kindling's within {diff:.2e}, one SGD step, wrote {dst}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
