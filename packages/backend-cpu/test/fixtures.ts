/**
 * Fixtures the other backends' tests share with these (backend-webgpu/test imports this file), so
 * that every backend is checked on the same cases with the same numbers.
 */
import type { Conv2dParams } from '@kindling/core';

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ConvCase {
  name: string;
  N: number; C: number; H: number; W: number; O: number; kH: number; kW: number;
  p: Conv2dParams;
  bias: boolean;
}

/** conv2d geometries: stride, padding, dilation, groups, depthwise, a 1×1 kernel, uncovered pixels. */
export const CONV_CASES: readonly ConvCase[] = [
  { name: 'k3 s1 p1 bias', N: 2, C: 3, H: 6, W: 5, O: 4, kH: 3, kW: 3, p: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 }, bias: true },
  { name: 'k3x2 s[2,1] p[1,0] d[1,2] g2', N: 2, C: 4, H: 7, W: 6, O: 6, kH: 3, kW: 2, p: { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 }, bias: true },
  { name: 'pointwise 1x1', N: 2, C: 5, H: 4, W: 3, O: 3, kH: 1, kW: 1, p: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 }, bias: false },
  { name: 'depthwise k3 s2 p1', N: 1, C: 4, H: 9, W: 8, O: 4, kH: 3, kW: 3, p: { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 4 }, bias: true },
  { name: 'stride 3 > kernel 1 (uncovered pixels)', N: 1, C: 2, H: 7, W: 7, O: 2, kH: 1, kW: 1, p: { stride: [3, 3], padding: [0, 0], dilation: [1, 1], groups: 1 }, bias: false },
  { name: 'k5 p2 d2', N: 1, C: 2, H: 10, W: 9, O: 3, kH: 5, kW: 5, p: { stride: [1, 1], padding: [2, 2], dilation: [2, 2], groups: 1 }, bias: false },
  { name: 'k11 s4 p2 (AlexNet-like)', N: 1, C: 1, H: 31, W: 29, O: 4, kH: 11, kW: 11, p: { stride: [4, 4], padding: [2, 2], dilation: [1, 1], groups: 1 }, bias: true },
];

/** A conv output's spatial size along one axis (PyTorch's formula). */
export function convOutSize(i: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((i + 2 * p - d * (k - 1) - 1) / s) + 1;
}
