// Elementwise float32 kernels over strided operands (see strided.h), parallel over the flat index.
#pragma once
#include <cstdint>

// UnaryOp / BinaryOp codes: generated from core's op table by scripts/build-native.mjs.
#include "kindling_ops.h"

namespace kd {

// Element types of copy_cast.
enum DTypeCode : int { T_F32 = 0, T_I32 = 1, T_BOOL = 2 };

// Geometry for k operands: shape[nd], and per operand an offset and strides (null: scalar).
struct Operands {
  int nd;
  const int64_t* shape;
  const int64_t* strides[3];
  int64_t offsets[3];
};

// y = op(x); false when the rank is too large or the op has no kernel here (the caller falls back).
bool unary_f32(int op, const Operands& g, const float* x, float* y);
// y = a op b for add/sub/mul/div (false for the other codes); a or b may be a scalar (its pointer null, its value in sa / sb).
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
