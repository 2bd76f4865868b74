#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "isa.h"
#include "sigmoid.h"
#include "simd.h"
#include "strided.h"
#include "threadpool.h"
#include "unary_avx512.h"

namespace kd {
namespace {

constexpr int64_t kGrain = 1 << 16;  // elements per thread at least (memory-bound: smaller splits do not pay)

// Contiguous float32 runs of the transcendental ops, 8 lanes at a time.
void exp_run(const float* x, float* y, int64_t n) {
  int64_t i = 0;
#ifdef __AVX2__
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp256(_mm256_loadu_ps(x + i)));
#endif
  for (; i < n; i++) y[i] = std::exp(x[i]);
}

// sigmoid as the TypeScript kernel: x >= 0 ? 1/(1+e^-x) : e^x/(1+e^x), here with e = exp(-|x|).
void sigmoid_run(const float* x, float* y, int64_t n) {
  int64_t i = 0;
#ifdef __AVX2__
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_and_ps(v, absmask)));
    const __m256 d = _mm256_add_ps(one, e);
    const __m256 pos = _mm256_div_ps(one, d);  // one division: e/(1+e) is e·(1/(1+e)), within an ulp
    const __m256 neg = _mm256_mul_ps(e, pos);
    __m256 r = _mm256_blendv_ps(neg, pos, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GE_OQ));
    r = _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    _mm256_storeu_ps(y + i, r);
  }
#endif
  for (; i < n; i++) y[i] = sigmoid_scalar(x[i]);
}

// The unary ops these kernels implement; unary_f32 returns false for the others, which the
// TypeScript kernels then run (the same codes arrive for every op of core's table).
bool unary_supported(int op) {
  switch (op) {
    case U_NEG: case U_ABS: case U_EXP: case U_LOG: case U_SQRT: case U_RSQRT: case U_RECIPROCAL: case U_SQUARE:
    case U_TANH: case U_SIGMOID: case U_RELU: case U_FLOOR: case U_CEIL:
      return true;
    default:
      return false;
  }
}

inline float scalar_unary(int op, float v) {
  switch (op) {
    case U_NEG: return -v;
    case U_ABS: return std::fabs(v);
    case U_EXP: return std::exp(v);
    case U_LOG: return std::log(v);
    case U_SQRT: return std::sqrt(v);
    case U_RSQRT: return static_cast<float>(1.0 / std::sqrt(static_cast<double>(v)));
    case U_RECIPROCAL: return 1.0f / v;
    case U_SQUARE: return v * v;
    case U_TANH: return std::tanh(v);
    case U_SIGMOID: return sigmoid_scalar(v);
    case U_RELU: return (v > 0.0f || v != v) ? v : 0.0f;  // relu(NaN) = NaN, relu(-0) = +0
    case U_FLOOR: return std::floor(v);
    case U_CEIL: return std::ceil(v);
    default: return v;
  }
}

// One run with unit strides: specialised loops the compiler vectorises.
void unary_contiguous(int op, const float* x, float* y, int64_t n) {
  switch (op) {
    case U_EXP: exp_run(x, y, n); return;
    case U_SIGMOID:
#ifdef __AVX2__
      if (use_avx512()) {
        avx512::sigmoid_run(x, y, n);
        return;
      }
#endif
      sigmoid_run(x, y, n);
      return;
    case U_NEG: for (int64_t i = 0; i < n; i++) y[i] = -x[i]; return;
    case U_ABS: for (int64_t i = 0; i < n; i++) y[i] = std::fabs(x[i]); return;
    case U_SQRT: for (int64_t i = 0; i < n; i++) y[i] = std::sqrt(x[i]); return;
    case U_RECIPROCAL: for (int64_t i = 0; i < n; i++) y[i] = 1.0f / x[i]; return;
    case U_SQUARE: for (int64_t i = 0; i < n; i++) y[i] = x[i] * x[i]; return;
    case U_RELU:
      for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        y[i] = (v > 0.0f || v != v) ? v : 0.0f;
      }
      return;
    default:
      for (int64_t i = 0; i < n; i++) y[i] = scalar_unary(op, x[i]);
  }
}

template <int OP>
inline float fop(float a, float b) {
  if constexpr (OP == B_ADD) return a + b;
  if constexpr (OP == B_SUB) return a - b;
  if constexpr (OP == B_MUL) return a * b;
  return a / b;
}
template <int OP>
inline double dop(double a, double b) {
  if constexpr (OP == B_ADD) return a + b;
  if constexpr (OP == B_SUB) return a - b;
  if constexpr (OP == B_MUL) return a * b;
  return a / b;
}

// One run of a binary op. Array-array is computed in float (identical to rounding the float64
// result for + - * /); with a scalar operand, in double like the TypeScript kernel (the scalar
// is a float64 JavaScript number).
template <int OP>
void binary_run(const float* a, double sa, int64_t as, const float* b, double sb, int64_t bs, float* y, int64_t ys, int64_t n) {
  if (a && b) {
    if (as == 1 && bs == 1 && ys == 1) {
      for (int64_t i = 0; i < n; i++) y[i] = fop<OP>(a[i], b[i]);
    } else if (as == 1 && bs == 0 && ys == 1) {
      const float bv = b[0];
      for (int64_t i = 0; i < n; i++) y[i] = fop<OP>(a[i], bv);
    } else if (as == 0 && bs == 1 && ys == 1) {
      const float av = a[0];
      for (int64_t i = 0; i < n; i++) y[i] = fop<OP>(av, b[i]);
    } else {
      for (int64_t i = 0; i < n; i++) y[i * ys] = fop<OP>(a[i * as], b[i * bs]);
    }
  } else if (a) {
    if (as == 1 && ys == 1) {
      for (int64_t i = 0; i < n; i++) y[i] = static_cast<float>(dop<OP>(a[i], sb));
    } else {
      for (int64_t i = 0; i < n; i++) y[i * ys] = static_cast<float>(dop<OP>(a[i * as], sb));
    }
  } else if (b) {
    if (bs == 1 && ys == 1) {
      for (int64_t i = 0; i < n; i++) y[i] = static_cast<float>(dop<OP>(sa, b[i]));
    } else {
      for (int64_t i = 0; i < n; i++) y[i * ys] = static_cast<float>(dop<OP>(sa, b[i * bs]));
    }
  } else {
    const float v = static_cast<float>(dop<OP>(sa, sb));
    for (int64_t i = 0; i < n; i++) y[i * ys] = v;
  }
}

template <int OP>
void binary_plan(const Plan& p, const float* a, double sa, const float* b, double sb, float* y) {
  parallel_runs(p, kGrain, [&](const int64_t* off, int64_t n, const int64_t* in) {
    binary_run<OP>(a ? a + off[0] : nullptr, sa, in[0], b ? b + off[1] : nullptr, sb, in[1], y + off[2], in[2], n);
  });
}

}  // namespace

bool unary_f32(int op, const Operands& g, const float* x, float* y) {
  Plan p;
  const int64_t* strides[2] = {g.strides[0], g.strides[1]};
  if (!unary_supported(op) || !make_plan(g.nd, g.shape, 2, strides, g.offsets, p)) return false;
  parallel_runs(p, kGrain, [&](const int64_t* off, int64_t n, const int64_t* in) {
    if (in[0] == 1 && in[1] == 1) {
      unary_contiguous(op, x + off[0], y + off[1], n);
    } else {
      for (int64_t i = 0; i < n; i++) y[off[1] + i * in[1]] = scalar_unary(op, x[off[0] + i * in[0]]);
    }
  });
  return true;
}

bool binary_f32(int op, const Operands& g, const float* a, double sa, const float* b, double sb, float* y) {
  Plan p;
  const int64_t* strides[3] = {g.strides[0], g.strides[1], g.strides[2]};
  if (!make_plan(g.nd, g.shape, 3, strides, g.offsets, p)) return false;
  switch (op) {
    case B_ADD: binary_plan<B_ADD>(p, a, sa, b, sb, y); return true;
    case B_SUB: binary_plan<B_SUB>(p, a, sa, b, sb, y); return true;
    case B_MUL: binary_plan<B_MUL>(p, a, sa, b, sb, y); return true;
    case B_DIV: binary_plan<B_DIV>(p, a, sa, b, sb, y); return true;
    default: return false;
  }
}

namespace {

template <int OP>
inline bool cmp(double a, double b) {
  if constexpr (OP == B_EQ) return a == b;
  if constexpr (OP == B_NE) return a != b;
  if constexpr (OP == B_LT) return a < b;
  if constexpr (OP == B_LE) return a <= b;
  if constexpr (OP == B_GT) return a > b;
  return a >= b;
}

template <int OP>
void compare_plan(const Plan& p, const float* a, double sa, const float* b, double sb, uint8_t* y) {
  parallel_runs(p, kGrain, [&](const int64_t* off, int64_t n, const int64_t* in) {
    const float* A = a ? a + off[0] : nullptr;
    const float* B = b ? b + off[1] : nullptr;
    uint8_t* Y = y + off[2];
    if (A && B) {
      for (int64_t i = 0; i < n; i++) Y[i * in[2]] = cmp<OP>(A[i * in[0]], B[i * in[1]]);
    } else if (A) {
      if (in[0] == 1 && in[2] == 1) {
        const float bv = static_cast<float>(sb);
        if (static_cast<double>(bv) == sb) {  // a float scalar: compare in float, vectorisable
          for (int64_t i = 0; i < n; i++) Y[i] = cmp<OP>(A[i], bv);
          return;
        }
      }
      for (int64_t i = 0; i < n; i++) Y[i * in[2]] = cmp<OP>(A[i * in[0]], sb);
    } else if (B) {
      for (int64_t i = 0; i < n; i++) Y[i * in[2]] = cmp<OP>(sa, B[i * in[1]]);
    } else {
      for (int64_t i = 0; i < n; i++) Y[i * in[2]] = cmp<OP>(sa, sb);
    }
  });
}

template <typename S, typename D>
void cast_plan(const Plan& p, const S* src, D* dst) {
  parallel_runs(p, kGrain, [&](const int64_t* off, int64_t n, const int64_t* in) {
    const S* s = src + off[0];
    D* d = dst + off[1];
    if (in[0] == 1 && in[1] == 1) {
      for (int64_t i = 0; i < n; i++) d[i] = static_cast<D>(s[i]);
    } else {
      for (int64_t i = 0; i < n; i++) d[i * in[1]] = static_cast<D>(s[i * in[0]]);
    }
  });
}

template <typename S>
void to_bool_plan(const Plan& p, const S* src, uint8_t* dst) {
  parallel_runs(p, kGrain, [&](const int64_t* off, int64_t n, const int64_t* in) {
    for (int64_t i = 0; i < n; i++) dst[off[1] + i * in[1]] = src[off[0] + i * in[0]] != 0;  // NaN != 0
  });
}

}  // namespace

bool compare_f32(int op, const Operands& g, const float* a, double sa, const float* b, double sb, uint8_t* y) {
  Plan p;
  const int64_t* strides[3] = {g.strides[0], g.strides[1], g.strides[2]};
  if (!make_plan(g.nd, g.shape, 3, strides, g.offsets, p)) return false;
  switch (op) {
    case B_EQ: compare_plan<B_EQ>(p, a, sa, b, sb, y); return true;
    case B_NE: compare_plan<B_NE>(p, a, sa, b, sb, y); return true;
    case B_LT: compare_plan<B_LT>(p, a, sa, b, sb, y); return true;
    case B_LE: compare_plan<B_LE>(p, a, sa, b, sb, y); return true;
    case B_GT: compare_plan<B_GT>(p, a, sa, b, sb, y); return true;
    case B_GE: compare_plan<B_GE>(p, a, sa, b, sb, y); return true;
    default: return false;
  }
}

bool copy_cast(const Operands& g, const void* src, int st, void* dst, int dt) {
  Plan p;
  const int64_t* strides[2] = {g.strides[0], g.strides[1]};
  if (!make_plan(g.nd, g.shape, 2, strides, g.offsets, p)) return false;
  const auto* f = static_cast<const float*>(src);
  const auto* i = static_cast<const int32_t*>(src);
  const auto* u = static_cast<const uint8_t*>(src);
  if (st == T_F32 && dt == T_F32) cast_plan(p, f, static_cast<float*>(dst));
  else if (st == T_I32 && dt == T_I32) cast_plan(p, i, static_cast<int32_t*>(dst));
  else if (st == T_BOOL && dt == T_BOOL) cast_plan(p, u, static_cast<uint8_t*>(dst));
  else if (st == T_I32 && dt == T_F32) cast_plan(p, i, static_cast<float*>(dst));
  else if (st == T_BOOL && dt == T_F32) cast_plan(p, u, static_cast<float*>(dst));
  else if (st == T_F32 && dt == T_BOOL) to_bool_plan(p, f, static_cast<uint8_t*>(dst));
  else if (st == T_I32 && dt == T_BOOL) to_bool_plan(p, i, static_cast<uint8_t*>(dst));
  else return false;
  return true;
}

void fill_f32(float* y, int64_t n, float v) {
  parallel_for(n, kGrain * 4, [&](int64_t lo, int64_t hi, int) {
    if (v == 0.0f && !std::signbit(v)) std::memset(y + lo, 0, sizeof(float) * (hi - lo));
    else std::fill(y + lo, y + hi, v);
  });
}

void softmax_f32(const float* x, float* y, int64_t rows, int64_t cols, bool log) {
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, cols)), [&](int64_t lo, int64_t hi, int) {
    for (int64_t r = lo; r < hi; r++) {
      const float* X = x + r * cols;
      float* Y = y + r * cols;
      float mx = -__builtin_inff();
      for (int64_t j = 0; j < cols; j++)
        if (X[j] > mx || X[j] != X[j]) mx = X[j];
      // A row of all -inf has no finite shift: 0 makes the result NaN, as in PyTorch.
      const double shift = mx == -__builtin_inff() ? 0.0 : mx;
      double sum = 0;
      for (int64_t j = 0; j < cols; j++) sum += std::exp(X[j] - shift);
      if (log) {
        const double lse = std::log(sum);
        for (int64_t j = 0; j < cols; j++) Y[j] = static_cast<float>(X[j] - shift - lse);
      } else {
        const double inv = 1.0 / sum;
        for (int64_t j = 0; j < cols; j++) Y[j] = static_cast<float>(std::exp(X[j] - shift) * inv);
      }
    }
  });
}

// softmax: gx = y·(gy − Σgy·y); log-softmax: gx = gy − exp(y)·Σgy.
void softmax_backward_f32(const float* y, const float* gy, float* gx, int64_t rows, int64_t cols, bool log) {
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, cols)), [&](int64_t lo, int64_t hi, int) {
    for (int64_t r = lo; r < hi; r++) {
      const float* Y = y + r * cols;
      const float* GY = gy + r * cols;
      float* GX = gx + r * cols;
      double s = 0;
      if (log) {
        for (int64_t j = 0; j < cols; j++) s += GY[j];
        for (int64_t j = 0; j < cols; j++) GX[j] = static_cast<float>(GY[j] - std::exp(static_cast<double>(Y[j])) * s);
      } else {
        for (int64_t j = 0; j < cols; j++) s += static_cast<double>(GY[j]) * Y[j];
        for (int64_t j = 0; j < cols; j++) GX[j] = static_cast<float>(Y[j] * (GY[j] - s));
      }
    }
  });
}

}  // namespace kd
