/**
 * The golden files hold the exact stdout of small Python loops over a model. Each entry here
 * builds that stdout from Kindling's API (the loop written in TypeScript), keyed by the Python
 * code it mirrors.
 */
import type { Module } from '@kindling/nn';
import { torchSize } from '@kindling/nn';
import { pyPrint } from './golden.js';

export const MODEL_PRINTERS: Record<string, (model: Module) => string> = {
  'print(model)': (model) => pyPrint(String(model)),
  'for m in model.modules():\n    print(m)': (model) => model.modules().map((m) => pyPrint(String(m))).join(''),
  'for name, m in model.named_modules():\n    print(name, m)': (model) =>
    model.namedModules().map(([name, m]) => pyPrint(name, String(m))).join(''),
  'for c in model.children():\n    print(c)': (model) => model.children().map((c) => pyPrint(String(c))).join(''),
  'for name, c in model.named_children():\n    print(name, c)': (model) =>
    model.namedChildren().map(([name, c]) => pyPrint(name, String(c))).join(''),
  'for name, p in model.named_parameters():\n    print(name, p.shape)': (model) =>
    model.namedParameters().map(([name, p]) => pyPrint(name, torchSize(p.shape))).join(''),
  'for k, v in model.state_dict().items():\n    print(k, v.shape)': (model) =>
    [...model.stateDict()].map(([k, v]) => pyPrint(k, torchSize(v.shape))).join(''),
};
