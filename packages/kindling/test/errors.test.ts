import { describe, expect, it } from 'vitest';
import * as kd from 'kindling';
import { CpuBackend } from '@kindling/backend-cpu';

// A second device, so device-mismatch errors can be exercised on a GPU-less machine: a CPU
// backend instance registered under another device name.
kd.registerBackend({
  kind: 'other',
  unavailableReason: () => null,
  create: () => Object.assign(new CpuBackend(), { device: 'other' }) as unknown as kd.Backend,
});

const f = (shape: number[]) => kd.zeros(shape);
const i32 = (shape: number[]) => kd.zeros(shape, { dtype: 'int32' });

describe('errors name the op and the shapes, dtypes or devices', () => {
  it('elementwise: broadcasting', () => {
    expect(() => kd.add(f([2, 3]), f([4, 3]))).toThrow('add: shapes [2,3] and [4,3] cannot be broadcast together');
    expect(() => kd.where(kd.zeros([2], { dtype: 'bool' }), f([3]), f([2]))).toThrow(/^where: shapes \[2\] and \[3\] and \[2\] cannot be broadcast/);
  });

  it('devices: ops across devices name both', () => {
    const a = f([2]);
    const b = kd.zeros([2], { device: 'other' });
    expect(() => kd.mul(a, b)).toThrow('mul: expected all tensors on the same device, but found cpu [2] and other [2]');
    expect(() => kd.matmul(a, b)).toThrow(/^matmul: expected all tensors on the same device/);
    expect(() => kd.getBackend('nope')).toThrow("device: no backend registered for 'nope'");
  });

  it('reductions: dims out of range, dtypes', () => {
    expect(() => kd.sum(f([2, 3]), 2)).toThrow('sum: dim 2 is out of range for a tensor of rank 2 (expected in [-2, 1])');
    expect(() => kd.softmax(i32([2, 3]), 1)).toThrow('softmax: input [2,3] has dtype int32, expected float32');
    expect(() => kd.argmax(f([2, 0]), 1)).toThrow('argmax: cannot reduce over a zero-size dim of input [2,0]');
  });

  it('shape ops', () => {
    expect(() => f([2, 3]).reshape([4, 2])).toThrow('reshape: shape [4,2] is invalid for input of size 6 (shape [2,3])');
    expect(() => f([2, 3]).t().view([6])).toThrow(/^view: view size \[6\] is not compatible with input \[3,2\] strides \[1,3\]/);
    expect(() => f([2, 3]).permute([0])).toThrow('permute: dims [0] must list all 2 dims of input [2,3]');
    expect(() => f([2, 3]).expand([4, 3])).toThrow('expand: cannot expand [2,3] to [4,3]: dim 0 has size 2, which is not 1');
    expect(() => kd.cat([f([2, 3]), f([2, 4])], 0)).toThrow('cat: tensor 1 has shape [2,4], incompatible with [2,3] outside dim 0');
    expect(() => f([3]).slice([5])).toThrow('slice: index 5 is out of bounds for dim 0 with size 3 (input [3])');
  });

  it('matmul and linear', () => {
    expect(() => kd.matmul(f([64, 400]), f([256, 120]))).toThrow('matmul: cannot multiply [64,400] by [256,120]');
    expect(() => kd.linear(f([8, 400]), f([120, 256]))).toThrow('linear: input [8,400] does not match weight [120,256] (expects last dim 256)');
    expect(() => kd.bmm(f([2, 3, 4]), f([3, 4, 5]))).toThrow('bmm: cannot multiply [2,3,4] by [3,4,5]');
  });

  it('conv2d: channels, ranks, kernel larger than input', () => {
    expect(() => kd.conv2d(f([8, 3, 28, 28]), f([6, 1, 5, 5]))).toThrow('conv2d: input [8,3,28,28] has 3 channels, weight [6,1,5,5] expects 1');
    expect(() => kd.conv2d(f([3, 28, 28]), f([6, 3, 5, 5]))).toThrow('conv2d: input [3,28,28] must have 4 dims, got 3');
    expect(() => kd.conv2d(f([1, 1, 3, 3]), f([1, 1, 5, 5]))).toThrow(/^conv2d: input \[1,1,3,3\] \(padded 3×3\) is smaller than the dilated kernel 5×5/);
    expect(() => kd.conv2d(f([1, 4, 8, 8]), f([6, 2, 3, 3]), null, { groups: 3 })).toThrow('conv2d: groups=3 must divide input channels 4 and output channels 6');
  });

  it('pooling', () => {
    expect(() => kd.maxPool2d(f([1, 1, 1, 1]), { kernelSize: 2 })).toThrow('maxPool2d: input [1,1,1,1] is too small for kernel [2,2] with padding [0,0]');
    expect(() => kd.avgPool2d(f([1, 1, 4, 4]), { kernelSize: 2, padding: 2 })).toThrow('avgPool2d: padding [2,2] should be at most half of kernel size [2,2]');
  });

  it('batch norm', () => {
    expect(() => kd.batchNorm(f([4, 3]), f([2]), f([3]), null, null, { training: true })).toThrow('batchNorm: runningMean [2] must be [3] for input [4,3] with 3 channels');
    expect(() => kd.batchNorm(f([1, 3]), null, null, null, null, { training: true })).toThrow('batchNorm: expected more than 1 value per channel when training, got input [1,3]');
  });

  it('losses: target dtype and shape', () => {
    expect(() => kd.crossEntropy(f([4, 10]), f([4]))).toThrow('crossEntropy: target [4] has dtype float32, expected int32');
    expect(() => kd.crossEntropy(f([4, 10]), i32([5]))).toThrow('crossEntropy: expected input [N,C] and target [N], got input [4,10] and target [5]');
    expect(() => kd.mseLoss(f([4]), f([5]))).toThrow('mseLoss: input [4] and target [5] must have the same shape');
    expect(() => kd.nllLoss(f([2, 3]), kd.tensor([0, 5], { dtype: 'int32' }))).toThrow(/gather/);
  });

  it('creation and readback', () => {
    expect(() => kd.tensor([[1, 2], [3]])).toThrow('tensor: ragged nested array: expected 2 entries at depth 1');
    expect(() => kd.tensor([1, 2, 3], { shape: [2, 2] })).toThrow('tensor: shape [2,2] needs 4 values, got 3');
    expect(() => kd.randint(3, 3, [2])).toThrow('randint: expected integers low < high, got low=3 high=3');
    const t = f([2]);
    t.dispose();
    expect(() => t.add(1)).toThrow('add: tensor [2] float32 on cpu was disposed');
    expect(() => f([2]).itemSync()).toThrow('item: a tensor with 2 elements [2] cannot be converted to a scalar');
  });

  it('autograd', () => {
    const x = kd.ones([2], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow('backward: grad can be implicitly created only for scalar outputs; got [2]: pass a gradient');
    expect(() => f([1]).backward()).toThrow('backward: element 0 of tensors does not require grad and does not have a grad_fn');
    expect(() => x.add_(1)).toThrow(/^copy_: a tensor \[2\] that requires grad cannot be modified in place while recording/);
    const y = x.mul(x).sum();
    y.backward();
    expect(() => y.backward()).toThrow(/backward: trying to backward through the graph a second time \(op mul\)/);
    expect(() => kd.zeros([2], { dtype: 'int32', requiresGrad: true })).toThrow('requiresGrad: only float32 tensors can require gradients, got int32');
  });
});
