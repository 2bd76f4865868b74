import { UNARY_OPS, type BinaryOp, type UnaryOp } from '@kindling/core';

export const UNARY_OPS_FOR_TEST: readonly UnaryOp[] = UNARY_OPS;
export const BINARY_OPS_FOR_TEST: readonly BinaryOp[] = [
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr',
];
