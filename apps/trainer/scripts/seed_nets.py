"""print(net) of the seed's six chapter 5 networks (Dive-into-DL-PyTorch), for the trainer's repr test.

Run with PyTorch 1.13 (Debian: apt-get install python3-torch, which reports 1.13.0a0; use
/usr/bin/python3 where a pyenv python3 shadows it):
    /usr/bin/python3 apps/trainer/scripts/seed_nets.py apps/trainer/test/fixtures/seed-nets
writes one <model>.txt per network, exactly what print(net) prints, and state.json: each
network's parameter count and state_dict keys with their shapes. The definitions are the
chapter's code (d2lzh_pytorch's FlattenLayer, 5.5-5.10); moving_mean/moving_var are registered
as buffers, as issue 15 asks, which does not change the printout.
"""
import json
import os
import sys
import torch
from torch import nn
import torch.nn.functional as F


class FlattenLayer(nn.Module):
    def __init__(self):
        super(FlattenLayer, self).__init__()

    def forward(self, x):
        return x.view(x.shape[0], -1)


class GlobalAvgPool2d(nn.Module):
    def __init__(self):
        super(GlobalAvgPool2d, self).__init__()

    def forward(self, x):
        return F.avg_pool2d(x, kernel_size=x.size()[2:])


class LeNet(nn.Module):
    def __init__(self):
        super(LeNet, self).__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.Sigmoid(), nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.MaxPool2d(2, 2))
        self.fc = nn.Sequential(
            nn.Linear(16 * 4 * 4, 120), nn.Sigmoid(),
            nn.Linear(120, 84), nn.Sigmoid(),
            nn.Linear(84, 10))

    def forward(self, img):
        feature = self.conv(img)
        return self.fc(feature.view(img.shape[0], -1))


class AlexNet(nn.Module):
    def __init__(self):
        super(AlexNet, self).__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 96, 11, 4), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(384, 384, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, 1, 1), nn.ReLU(),
            nn.MaxPool2d(3, 2))
        self.fc = nn.Sequential(
            nn.Linear(256 * 5 * 5, 4096), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(4096, 10))

    def forward(self, img):
        feature = self.conv(img)
        return self.fc(feature.view(img.shape[0], -1))


def vgg_block(num_convs, in_channels, out_channels):
    blk = []
    for i in range(num_convs):
        blk.append(nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, kernel_size=3, padding=1))
        blk.append(nn.ReLU())
    blk.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*blk)


def vgg(conv_arch, fc_features, fc_hidden_units=4096):
    net = nn.Sequential()
    for i, (num_convs, in_channels, out_channels) in enumerate(conv_arch):
        net.add_module("vgg_block_" + str(i + 1), vgg_block(num_convs, in_channels, out_channels))
    net.add_module("fc", nn.Sequential(FlattenLayer(),
                                       nn.Linear(fc_features, fc_hidden_units), nn.ReLU(), nn.Dropout(0.5),
                                       nn.Linear(fc_hidden_units, fc_hidden_units), nn.ReLU(), nn.Dropout(0.5),
                                       nn.Linear(fc_hidden_units, 10)))
    return net


def vgg11():
    conv_arch = ((1, 1, 64), (1, 64, 128), (2, 128, 256), (2, 256, 512), (2, 512, 512))
    ratio = 8
    small_conv_arch = [(1, 1, 64 // ratio), (1, 64 // ratio, 128 // ratio), (2, 128 // ratio, 256 // ratio),
                       (2, 256 // ratio, 512 // ratio), (2, 512 // ratio, 512 // ratio)]
    assert len(small_conv_arch) == len(conv_arch)
    return vgg(small_conv_arch, 512 * 7 * 7 // ratio, 4096 // ratio)


def nin_block(in_channels, out_channels, kernel_size, stride, padding):
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU(),
                         nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
                         nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU())


def nin():
    return nn.Sequential(
        nin_block(1, 96, kernel_size=11, stride=4, padding=0), nn.MaxPool2d(kernel_size=3, stride=2),
        nin_block(96, 256, kernel_size=5, stride=1, padding=2), nn.MaxPool2d(kernel_size=3, stride=2),
        nin_block(256, 384, kernel_size=3, stride=1, padding=1), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Dropout(0.5),
        nin_block(384, 10, kernel_size=3, stride=1, padding=1),
        GlobalAvgPool2d(),
        FlattenLayer())


class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super(BatchNorm, self).__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.register_buffer("moving_var", torch.zeros(shape))


def lenet_bn(bn2d, bn1d):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), bn2d(6), nn.Sigmoid(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), bn2d(16), nn.Sigmoid(), nn.MaxPool2d(2, 2),
        FlattenLayer(),
        nn.Linear(16 * 4 * 4, 120), bn1d(120), nn.Sigmoid(),
        nn.Linear(120, 84), bn1d(84), nn.Sigmoid(),
        nn.Linear(84, 10))


NETS = {
    "lenet": LeNet,
    "lenet-bn": lambda: lenet_bn(nn.BatchNorm2d, nn.BatchNorm1d),
    "lenet-bn-scratch": lambda: lenet_bn(lambda c: BatchNorm(c, num_dims=4), lambda c: BatchNorm(c, num_dims=2)),
    "alexnet": AlexNet,
    "vgg11": vgg11,
    "nin": nin,
}

if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    state = {"torch": torch.__version__, "nets": {}}
    for name, build in NETS.items():
        net = build()
        with open(os.path.join(out, name + ".txt"), "w") as f:
            f.write(str(net) + "\n")
        state["nets"][name] = {
            "num_parameters": sum(p.numel() for p in net.parameters()),
            "state_dict": ["%s %s" % (k, list(v.shape)) for k, v in net.state_dict().items()],
        }
    with open(os.path.join(out, "state.json"), "w") as f:
        json.dump(state, f, indent=1)
        f.write("\n")
