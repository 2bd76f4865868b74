// Op codes, numbered as the TypeScript side sends them (src/pack.ts keeps the same tables).
#pragma once

namespace kc {

enum UnaryOp : int {
  U_NEG, U_ABS, U_SIGN, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_RECIPROCAL, U_SQUARE, U_SIN, U_COS, U_TANH, U_SIGMOID,
  U_RELU, U_ERF, U_FLOOR, U_CEIL, U_ROUND, U_LOGICAL_NOT, U_COUNT
};

enum BinaryOp : int {
  B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAXIMUM, B_MINIMUM, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE, B_LOGICAL_AND,
  B_LOGICAL_OR, B_COUNT
};

enum ReduceOp : int { R_SUM, R_MAX, R_MIN, R_ARGMAX, R_ARGMIN, R_COUNT };

}  // namespace kc
