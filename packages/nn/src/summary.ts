/**
 * summary(model, inputShape): runs the model once on zeros of `inputShape` (batch included,
 * e.g. [1, 1, 28, 28]) in eval mode without recording a graph, and reports every layer's output
 * shape and parameter count, in call order. For feature maps the shape reads
 * [batch, channels, height, width]: channels are the feature maps, height × width their size.
 */
import { Tensor, getDefaultDevice, noGrad, tidy, zeros } from '@kindling/core';
import type { Module } from './module.js';

export interface SummaryRow {
  /** Dotted name ('features.0'), as namedModules() gives it. */
  name: string;
  /** Class name ('Conv2d'). */
  type: string;
  /** The output shape, or null when the output is not a tensor. */
  outputShape: number[] | null;
  /** Parameters owned by this layer itself (not its children). */
  params: number;
}

export interface ModelSummary {
  rows: SummaryRow[];
  /** Every parameter of the model once (shared ones counted once). */
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** The printed table. */
  text: string;
}

export interface SummaryOptions {
  /** Device for the zeros input (default: the device of the first parameter, else the default device). */
  device?: string;
  /** Print the table with console.log (default true). */
  print?: boolean;
}

const group3 = (n: number): string => n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** Runs the model on zeros of inputShape and tabulates each layer; see the file comment. */
export function summary(model: Module, inputShape: readonly number[], opts: SummaryOptions = {}): ModelSummary {
  const named = model.namedModules();
  const nameOf = new Map(named.map(([n, m]) => [m, n] as const));
  // Layers: the leaves, plus any container that owns parameters itself.
  const layers = named.filter(([, m]) => m._modules.size === 0 || [...m._parameters.values()].some((p) => p !== null));
  const rows: SummaryRow[] = [];
  const handles = layers.map(([, m]) =>
    m.registerForwardHook((mod, _inputs, out) => {
      rows.push({
        name: nameOf.get(mod) ?? '',
        type: mod._getName(),
        outputShape: out instanceof Tensor ? [...out.shape] : null,
        params: mod.parameters(false).reduce((a, p) => a + p.size, 0),
      });
    }),
  );
  const modes = named.map(([, m]) => [m, m.training] as const);
  const device = opts.device ?? model.parameters()[0]?.device ?? getDefaultDevice();
  try {
    model.eval();
    noGrad(() => tidy(() => void model.call(zeros(inputShape, { device }))));
  } finally {
    for (const h of handles) h.remove();
    for (const [m, t] of modes) m.training = t;
  }
  const params = model.parameters();
  const totalParams = params.reduce((a, p) => a + p.size, 0);
  const trainableParams = params.filter((p) => p.requiresGrad).reduce((a, p) => a + p.size, 0);

  const header = ['Layer (type)', 'Output Shape', 'Param #'];
  const cells = rows.map((r) => [
    `${r.name || '(model)'} (${r.type})`,
    r.outputShape ? `[${r.outputShape.join(', ')}]` : '-',
    group3(r.params),
  ]);
  const w0 = Math.max(header[0]!.length, ...cells.map((c) => c[0]!.length)) + 2;
  const w1 = Math.max(header[1]!.length, ...cells.map((c) => c[1]!.length)) + 2;
  const w2 = Math.max(header[2]!.length, ...cells.map((c) => c[2]!.length));
  const line = (c: string[]): string => c[0]!.padEnd(w0) + c[1]!.padEnd(w1) + c[2]!.padStart(w2);
  const width = w0 + w1 + w2;
  const text = [
    '-'.repeat(width),
    line(header),
    '='.repeat(width),
    ...cells.map(line),
    '='.repeat(width),
    `Input shape: [${inputShape.join(', ')}]`,
    `Total params: ${group3(totalParams)}`,
    `Trainable params: ${group3(trainableParams)}`,
    `Non-trainable params: ${group3(totalParams - trainableParams)}`,
    '-'.repeat(width),
    'Output shapes are [batch, channels, height, width] for feature maps, [batch, features] after Flatten.',
  ].join('\n');
  if (opts.print ?? true) console.log(text);
  return { rows, totalParams, trainableParams, nonTrainableParams: totalParams - trainableParams, text };
}
