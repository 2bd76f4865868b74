// Elementwise float32 kernels over strided operands (see strided.h), parallel over the flat index.
#pragma once
#include <cstdint>

namespace kd {

// Op codes shared with src/native/addon.ts (keep in sync).
enum UnaryCode : int {
  U_NEG = 0, U_ABS, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_RECIPROCAL, U_SQUARE, U_TANH, U_SIGMOID, U_RELU, U_FLOOR, U_CEIL,
  U_COUNT
};
enum BinaryCode : int { B_ADD = 0, B_SUB, B_MUL, B_DIV, B_COUNT };
enum CompareCode : int { C_EQ = 0, C_NE, C_LT, C_LE, C_GT, C_GE, C_COUNT };
// Element types of copy_cast.
enum DTypeCode : int { T_F32 = 0, T_I32 = 1, T_BOOL = 2 };

// Geometry for k operands: shape[nd], and per operand an offset and strides (null: scalar).
struct Operands {
  int nd;
  const int64_t* shape;
  const int64_t* strides[3];
  int64_t offsets[3];
};

// y = op(x); false when the rank is too large (the caller falls back).
bool unary_f32(int op, const Operands& g, const float* x, float* y);
// y = a op b; a or b may be a scalar (its pointer null, its value in sa / sb).
bool binary_f32(int op, const Operands& g, const float* a, double sa, const float* b, double sb, float* y);
// y = (a op b) ? 1 : 0 into a bool (uint8) output; scalars as in binary_f32.
bool compare_f32(int op, const Operands& g, const float* a, double sa, const float* b, double sb, uint8_t* y);
// dst = cast(src) for the pairs f32→f32, i32→i32, bool→bool, i32→f32, bool→f32, f32→bool
// (x != 0, so NaN → 1), i32→bool; false for any other pair.
bool copy_cast(const Operands& g, const void* src, int src_type, void* dst, int dst_type);
// y[0, n) = v over dense float32 memory, split across the pool for large n.
void fill_f32(float* y, int64_t n, float v);
// y[rows, cols] = softmax or log-softmax of each row of x (dense).
void softmax_f32(const float* x, float* y, int64_t rows, int64_t cols, bool log);
void softmax_backward_f32(const float* y, const float* gy, float* gx, int64_t rows, int64_t cols, bool log);

}  // namespace kd
