// d2l's LeNet (6.6): sigmoid activations, average pooling, 28×28 inputs, 10 classes. The same
// layers and names as the PyTorch version in ../safetensors-torch/torch_roundtrip.py.
import * as kd from 'kindling';

const { nn } = kd;

export function lenet() {
  return new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2 }), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }),
    new nn.Conv2d(6, 16, 5), new nn.Sigmoid(), new nn.AvgPool2d(2, { stride: 2 }),
    new nn.Flatten(),
    new nn.Linear(16 * 5 * 5, 120), new nn.Sigmoid(),
    new nn.Linear(120, 84), new nn.Sigmoid(),
    new nn.Linear(84, 10),
  );
}
