// The cpu addon's entry points: for each code of core's KERNEL_ENTRY_POINTS that has a kernel
// here, the layout of its packed block (read in order through Args, args.h) and the kernel call.
// src/native/kernels.ts writes the same layouts; the comment above each entry is the one place
// the order is written down. Array operands are [slot, offset] (dense) or [slot, offset,
// strides...] (strided); `?` marks an optional one (slot -1). Entries answer undefined, or `handled?`
// (false: the TypeScript kernel runs instead) where the kernel covers only some cases.
//
// Compiled once per ISA level (namespace kd is renamed per level by CMakeLists.txt).
#include "dispatch.h"

#include <array>
#include <string>
#include <vector>

#include "activation.h"
#include "batchnorm.h"
#include "conv.h"
#include "elementwise.h"
#include "gemm.h"
#include "kindling_ops.h"
#include "linear.h"
#include "optim.h"
#include "pool2d.h"
#include "reduce.h"
#include "threadpool.h"

namespace kd {
namespace {

using kindling::checked_add;
using kindling::checked_mul;

// The product of non-negative sizes.
int64_t prod(std::initializer_list<int64_t> sizes) {
  int64_t n = 1;
  for (int64_t s : sizes) {
    if (s < 0) throw PackedError("negative size " + std::to_string(s), true);
    n = checked_mul(n, s);
  }
  return n;
}

// Tensors of higher rank are refused (core has no such limit, but no kernel needs more).
constexpr int64_t kMaxRank = 64;

int rank(Args& a) {
  const int64_t nd = a.int64();
  if (nd < 0 || nd > kMaxRank) throw PackedError("rank " + std::to_string(nd) + " is outside [0, " + std::to_string(kMaxRank) + "]", true);
  return static_cast<int>(nd);
}

Napi::Value done(Napi::Env env) { return env.Undefined(); }
Napi::Value handled(Napi::Env env, bool ok) { return Napi::Boolean::New(env, ok); }

// ---- GEMM ----

// Bt, M, N, K, accumulate, a [slot, off, bs, rs, cs], b [...], out [...]: out = a·b per batch.
Napi::Value matmul(Napi::Env env, Args& a) {
  const int64_t Bt = a.size(), M = a.size(), N = a.size(), K = a.size();
  const bool acc = a.flag();
  const int64_t ash[3] = {Bt, M, K}, bsh[3] = {Bt, K, N}, csh[3] = {Bt, M, N};
  const StridedArg<float> A = a.strided<float>(3, ash, "matmul a");
  const StridedArg<float> B = a.strided<float>(3, bsh, "matmul b");
  const StridedArg<float> C = a.strided<float>(3, csh, "matmul out");
  auto one = [&](int64_t i) {
    sgemm(M, N, K, Mat{A.base + A.offset + i * A.strides[0], A.strides[1], A.strides[2]},
          Mat{B.base + B.offset + i * B.strides[0], B.strides[1], B.strides[2]},
          MutMat{C.base + C.offset + i * C.strides[0], C.strides[1], C.strides[2]}, acc);
  };
  if (Bt == 1) {
    one(0);
  } else {
    parallel_for(Bt, 1, [&](int64_t lo, int64_t hi, int) {
      for (int64_t i = lo; i < hi; i++) one(i);
    });
  }
  return done(env);
}

// M, N, K, x, w, bias?, out (all dense): out = x·wᵀ + bias.
Napi::Value linear(Napi::Env env, Args& a) {
  const int64_t M = a.size(), N = a.size(), K = a.size();
  const float* x = a.dense<float>(prod({M, K}), "linear x");
  const float* w = a.dense<float>(prod({N, K}), "linear weight");
  const float* b = a.dense<float>(N, "linear bias", true);
  float* y = a.dense<float>(prod({M, N}), "linear out");
  linear_forward(M, N, K, x, w, b, y);
  return done(env);
}

// ---- conv2d: geometry N C H W O G kH kW oH oW sH sW pH pW dH dW ----

ConvGeo conv_geo(Args& a) {
  const int64_t* g = a.ints(16);
  ConvGeo c{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]};
  for (size_t k = 0; k < 16; k++) {
    if (g[k] < 0) throw PackedError("negative geometry value " + std::to_string(g[k]), true);
  }
  if (c.G <= 0 || c.C % c.G != 0 || c.O % c.G != 0) throw PackedError("channels are not divisible by groups", true);
  if (c.sH < 1 || c.sW < 1 || c.dH < 1 || c.dW < 1) throw PackedError("stride and dilation must be >= 1", true);
  // The output size must be the one the input, padding, dilation and stride give (PyTorch's
  // formula): the kernels trust it when they map output positions back to input rows.
  auto out = [](int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
    const int64_t span = checked_add(in, checked_mul(2, p)) - checked_mul(d, k - 1) - 1;
    return span < 0 ? int64_t(0) : span / s + 1;
  };
  if (c.kH < 1 || c.kW < 1 || c.oH != out(c.H, c.kH, c.sH, c.pH, c.dH) || c.oW != out(c.W, c.kW, c.sW, c.pW, c.dW)) {
    throw PackedError("output size " + std::to_string(c.oH) + "x" + std::to_string(c.oW) + " does not match the input, kernel and options", true);
  }
  return c;
}

int64_t conv_in(const ConvGeo& g) { return prod({g.N, g.C, g.H, g.W}); }
int64_t conv_weight(const ConvGeo& g) { return prod({g.O, g.C / g.G, g.kH, g.kW}); }
int64_t conv_out(const ConvGeo& g) { return prod({g.N, g.O, g.oH, g.oW}); }

// geometry, x, w, bias?, out
Napi::Value conv2d(Napi::Env env, Args& a) {
  const ConvGeo g = conv_geo(a);
  const float* x = a.dense<float>(conv_in(g), "conv2d x");
  const float* w = a.dense<float>(conv_weight(g), "conv2d weight");
  const float* b = a.dense<float>(g.O, "conv2d bias", true);
  float* y = a.dense<float>(conv_out(g), "conv2d out");
  conv2d_forward(g, x, w, b, y);
  return done(env);
}

// geometry, gradOut, w, gradIn
Napi::Value conv2d_backward_input_entry(Napi::Env env, Args& a) {
  const ConvGeo g = conv_geo(a);
  const float* gy = a.dense<float>(conv_out(g), "conv2dBackwardInput gradOut");
  const float* w = a.dense<float>(conv_weight(g), "conv2dBackwardInput weight");
  float* gx = a.dense<float>(conv_in(g), "conv2dBackwardInput gradIn");
  conv2d_backward_input(g, gy, w, gx);
  return done(env);
}

// geometry, gradOut, x, gradWeight
Napi::Value conv2d_backward_weight_entry(Napi::Env env, Args& a) {
  const ConvGeo g = conv_geo(a);
  const float* gy = a.dense<float>(conv_out(g), "conv2dBackwardWeight gradOut");
  const float* x = a.dense<float>(conv_in(g), "conv2dBackwardWeight x");
  float* gw = a.dense<float>(conv_weight(g), "conv2dBackwardWeight gradWeight");
  conv2d_backward_weight(g, gy, x, gw);
  return done(env);
}

// ---- pooling: geometry planes H W oH oW sH sW pH pW dH dW, then the windows [lo, hi, padded]
// of each output row (3·oH values) and column (3·oW) ----

struct Pool {
  PoolGeo g;
  std::vector<int32_t> hwin, wwin;
};

// One axis's windows: every tap [lo, hi) must land inside the plane (size n).
std::vector<int32_t> pool_windows(Args& a, int64_t outs, int64_t stride, int64_t pad, int64_t dil, int64_t n) {
  const int64_t* w = a.ints(static_cast<size_t>(checked_mul(3, outs)));
  std::vector<int32_t> out(static_cast<size_t>(3 * outs));
  for (int64_t o = 0; o < outs; o++) {
    const int64_t lo = w[3 * o], hi = w[3 * o + 1], s = checked_add(checked_mul(o, stride), -pad);
    if (lo < hi && (lo < 0 || checked_add(s, checked_mul(lo, dil)) < 0 || checked_add(s, checked_mul(hi - 1, dil)) >= n)) throw PackedError("window outside the input", true);
    for (int k = 0; k < 3; k++) {
      if (w[3 * o + k] < INT32_MIN || w[3 * o + k] > INT32_MAX) throw PackedError("window value outside int32", true);
      out[static_cast<size_t>(3 * o + k)] = static_cast<int32_t>(w[3 * o + k]);
    }
  }
  return out;
}

Pool pool_geo(Args& a) {
  const int64_t* g = a.ints(11);
  for (size_t k = 0; k < 11; k++) {
    if (g[k] < 0) throw PackedError("negative geometry value " + std::to_string(g[k]), true);
  }
  Pool p;
  p.g = PoolGeo{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], nullptr, nullptr};
  p.hwin = pool_windows(a, p.g.oH, p.g.sH, p.g.pH, p.g.dH, p.g.H);
  p.wwin = pool_windows(a, p.g.oW, p.g.sW, p.g.pW, p.g.dW, p.g.W);
  p.g.hwin = p.hwin.data();
  p.g.wwin = p.wwin.data();
  return p;
}

int64_t pool_in(const PoolGeo& g) { return prod({g.planes, g.H, g.W}); }
int64_t pool_out(const PoolGeo& g) { return prod({g.planes, g.oH, g.oW}); }

// pool, x, out, indices
Napi::Value max_pool2d(Napi::Env env, Args& a) {
  const Pool p = pool_geo(a);
  const float* x = a.dense<float>(pool_in(p.g), "maxPool2d x");
  float* y = a.dense<float>(pool_out(p.g), "maxPool2d out");
  int32_t* idx = a.dense<int32_t>(pool_out(p.g), "maxPool2d indices");
  maxpool_forward(p.g, x, y, idx);
  return done(env);
}

// pool, gradOut, indices, gradIn (accumulated) → null, or the first index outside the plane
Napi::Value max_pool2d_backward(Napi::Env env, Args& a) {
  const Pool p = pool_geo(a);
  const float* gy = a.dense<float>(pool_out(p.g), "maxPool2dBackward gradOut");
  const int32_t* idx = a.dense<int32_t>(pool_out(p.g), "maxPool2dBackward indices");
  float* gx = a.dense<float>(pool_in(p.g), "maxPool2dBackward gradIn");
  int32_t bad = 0;
  if (!maxpool_backward(p.g, gy, idx, gx, &bad)) return Napi::Number::New(env, bad);
  return env.Null();
}

// pool, divisorOverride (0: none), countIncludePad, x, out
Napi::Value avg_pool2d(Napi::Env env, Args& a) {
  const Pool p = pool_geo(a);
  const double divisor = a.num();
  const bool include_pad = a.flag();
  const float* x = a.dense<float>(pool_in(p.g), "avgPool2d x");
  float* y = a.dense<float>(pool_out(p.g), "avgPool2d out");
  avgpool_forward(p.g, divisor, include_pad, x, y);
  return done(env);
}

// pool, divisorOverride, countIncludePad, gradInIsZero, gradOut, gradIn (accumulated)
Napi::Value avg_pool2d_backward(Napi::Env env, Args& a) {
  const Pool p = pool_geo(a);
  const double divisor = a.num();
  const bool include_pad = a.flag(), gx_is_zero = a.flag();
  const float* gy = a.dense<float>(pool_out(p.g), "avgPool2dBackward gradOut");
  float* gx = a.dense<float>(pool_in(p.g), "avgPool2dBackward gradIn");
  avgpool_backward(p.g, divisor, include_pad, gy, gx, gx_is_zero);
  return done(env);
}

// ---- elementwise: rank, shape, then each operand's [slot, offset, strides] ----

struct Walk {
  int nd;
  const int64_t* shape;
  Operands ops;
};

Walk walk(Args& a) {
  Walk w;
  w.nd = rank(a);
  w.shape = a.ints(static_cast<size_t>(w.nd));
  w.ops.nd = w.nd;
  w.ops.shape = w.shape;
  return w;
}

// Operand k of the walk, an array of T.
template <typename T>
T* walked(Args& a, Walk& w, int k, const char* what) {
  const StridedArg<T> s = a.strided<T>(w.nd, w.shape, what);
  w.ops.offsets[k] = s.offset;
  w.ops.strides[k] = s.strides;
  return s.base;
}

// A float32 operand of a binary op: [0, slot, offset, strides] or [1, value] (a scalar: no strides).
const float* float_operand(Args& a, Walk& w, int k, double* scalar, const char* what) {
  if (a.flag()) {
    *scalar = a.num();
    w.ops.strides[k] = nullptr;
    w.ops.offsets[k] = 0;
    return nullptr;
  }
  return walked<float>(a, w, k, what);
}

// code, walk, x, out → handled?
Napi::Value unary(Napi::Env env, Args& a) {
  const int op = a.integer();
  Walk w = walk(a);
  const float* x = walked<float>(a, w, 0, "unary x");
  float* y = walked<float>(a, w, 1, "unary out");
  return handled(env, unary_f32(op, w.ops, x, y));
}

// code, walk, a (operand), b (operand), out → handled? An op of the compare family writes a bool
// (Uint8Array) out, the others float32 (kBinaryBoolResult, from core's table).
Napi::Value binary(Napi::Env env, Args& a) {
  const int op = a.integer();
  if (op < 0 || op >= B_COUNT) throw PackedError("unknown binary op code " + std::to_string(op), true);
  Walk w = walk(a);
  double sa = 0, sb = 0;
  const float* x = float_operand(a, w, 0, &sa, "binary a");
  const float* y = float_operand(a, w, 1, &sb, "binary b");
  if (kBinaryBoolResult[op]) return handled(env, compare_f32(op, w.ops, x, sa, y, sb, walked<uint8_t>(a, w, 2, "compare out")));
  return handled(env, binary_f32(op, w.ops, x, sa, y, sb, walked<float>(a, w, 2, "binary out")));
}

// An array operand of copy, of element type `code` (DTypeCode).
void* typed_operand(Args& a, Walk& w, int k, int code, const char* what) {
  switch (code) {
    case T_F32: return walked<float>(a, w, k, what);
    case T_I32: return walked<int32_t>(a, w, k, what);
    case T_BOOL: return walked<uint8_t>(a, w, k, what);
    default: throw PackedError(std::string(what) + ": unknown element type code " + std::to_string(code), true);
  }
}

// srcType, dstType (DTypeCode), walk, src, dst → handled? (a strided copy with a cast)
Napi::Value copy(Napi::Env env, Args& a) {
  const int st = a.integer(), dt = a.integer();
  Walk w = walk(a);
  const void* src = typed_operand(a, w, 0, st, "copy src");
  void* dst = typed_operand(a, w, 1, dt, "copy dst");
  return handled(env, copy_cast(w.ops, src, st, dst, dt));
}

// n, value, out (dense float32, split across the pool)
Napi::Value fill(Napi::Env env, Args& a) {
  const int64_t n = a.size();
  const float value = static_cast<float>(a.num());
  fill_f32(a.dense<float>(n, "fill out"), n, value);
  return done(env);
}

// code, nk, kept[nk], xKeptStrides[nk], outStrides[nk], nr, red[nr], xRedStrides[nr], x [slot, off],
// out [slot, off] → handled? (sum only)
Napi::Value reduce(Napi::Env env, Args& a) {
  const int op = a.integer();
  ReduceGeo r;
  r.nk = rank(a);
  r.kept_shape = a.ints(static_cast<size_t>(r.nk));
  r.x_kept_strides = a.ints(static_cast<size_t>(r.nk));
  r.out_strides = a.ints(static_cast<size_t>(r.nk));
  r.nr = rank(a);
  r.red_shape = a.ints(static_cast<size_t>(r.nr));
  r.x_red_strides = a.ints(static_cast<size_t>(r.nr));
  const int64_t x_slot = a.int64();
  r.x_offset = a.int64();
  const int64_t out_slot = a.int64();
  r.out_offset = a.int64();
  // Bounds: x over kept + reduced dims, out over kept dims.
  std::vector<int64_t> xs(r.kept_shape, r.kept_shape + r.nk), xst(r.x_kept_strides, r.x_kept_strides + r.nk);
  xs.insert(xs.end(), r.red_shape, r.red_shape + r.nr);
  xst.insert(xst.end(), r.x_red_strides, r.x_red_strides + r.nr);
  const float* x = a.placed<float>(x_slot, r.x_offset, r.nk + r.nr, xs.data(), xst.data(), "reduce x").base;
  float* out = a.placed<float>(out_slot, r.out_offset, r.nk, r.kept_shape, r.out_strides, "reduce out").base;
  if (op != R_SUM) return handled(env, false);
  return handled(env, reduce_sum_f32(r, x, out));
}

// rows, cols, log, x, out (dense, softmax over the last dim)
Napi::Value softmax(Napi::Env env, Args& a) {
  const int64_t rows = a.size(), cols = a.size();
  const bool log = a.flag();
  const float* x = a.dense<float>(prod({rows, cols}), "softmax x");
  float* y = a.dense<float>(prod({rows, cols}), "softmax out");
  softmax_f32(x, y, rows, cols, log);
  return done(env);
}

// rows, cols, log, y, gradOut, gradIn
Napi::Value softmax_backward(Napi::Env env, Args& a) {
  const int64_t rows = a.size(), cols = a.size();
  const bool log = a.flag();
  const float* y = a.dense<float>(prod({rows, cols}), "softmaxBackward y");
  const float* gy = a.dense<float>(prod({rows, cols}), "softmaxBackward gradOut");
  float* gx = a.dense<float>(prod({rows, cols}), "softmaxBackward gradIn");
  softmax_backward_f32(y, gy, gx, rows, cols, log);
  return done(env);
}

// code (ActivationOp), n, y, gradOut, gradIn → handled?
Napi::Value activation_backward_entry(Napi::Env env, Args& a) {
  const int op = a.integer();
  const int64_t n = a.size();
  const float* y = a.dense<float>(n, "activationBackward y");
  const float* gy = a.dense<float>(n, "activationBackward gradOut");
  float* gx = a.dense<float>(n, "activationBackward gradIn");
  return handled(env, activation_backward(op, y, gy, gx, n));
}

// ---- batch norm (x dense [N, C, L]) ----

// N, C, L, eps, x, w?, b?, out, mean, invstd, stats (a Float64Array of 2·C: float64 means, then
// biased variances, for the running-stat update in TypeScript)
Napi::Value batch_norm_train_entry(Napi::Env env, Args& a) {
  const int64_t N = a.size(), C = a.size(), L = a.size();
  const double eps = a.num();
  const int64_t n = prod({N, C, L});
  const float* x = a.dense<float>(n, "batchNormTrain input");
  const float* w = a.dense<float>(C, "batchNormTrain weight", true);
  const float* b = a.dense<float>(C, "batchNormTrain bias", true);
  float* y = a.dense<float>(n, "batchNormTrain output");
  float* mean = a.dense<float>(C, "batchNormTrain mean");
  float* invstd = a.dense<float>(C, "batchNormTrain invstd");
  double* stats = a.dense<double>(checked_mul(2, C), "batchNormTrain stats");
  batch_norm_train(x, w, b, y, mean, invstd, stats, stats + C, N, C, L, eps);
  return done(env);
}

// N, C, L, gradOut, x, w?, mean, invstd, gradIn, gradWeight?, gradBias?
Napi::Value batch_norm_backward_entry(Napi::Env env, Args& a) {
  const int64_t N = a.size(), C = a.size(), L = a.size();
  const int64_t n = prod({N, C, L});
  const float* gy = a.dense<float>(n, "batchNormBackward gradOut");
  const float* x = a.dense<float>(n, "batchNormBackward input");
  const float* w = a.dense<float>(C, "batchNormBackward weight", true);
  const float* mean = a.dense<float>(C, "batchNormBackward mean");
  const float* invstd = a.dense<float>(C, "batchNormBackward invstd");
  float* gx = a.dense<float>(n, "batchNormBackward gradIn");
  float* gw = a.dense<float>(C, "batchNormBackward gradWeight", true);
  float* gb = a.dense<float>(C, "batchNormBackward gradBias", true);
  batch_norm_backward(gy, x, w, mean, invstd, gx, gw, gb, N, C, L);
  return done(env);
}

// ---- optimizers (in place, dense) ----

// n, lr, momentum, dampening, weightDecay, nesterov, maximize, firstStep, param, grad, momentumBuffer?
Napi::Value sgd_step_entry(Napi::Env env, Args& a) {
  const int64_t n = a.size();
  const SgdArgs o = kindling::read_sgd<double>(a);
  float* p = a.dense<float>(n, "sgdStep param");
  const float* g = a.dense<float>(n, "sgdStep grad");
  float* buf = a.dense<float>(n, "sgdStep momentum buffer", true);
  sgd_step(p, g, buf, n, o);
  return done(env);
}

// n, lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, maximize, step, param, grad, expAvg,
// expAvgSq, maxExpAvgSq? (needed with amsgrad)
Napi::Value adam_step_entry(Napi::Env env, Args& a) {
  const int64_t n = a.size();
  const AdamArgs o = kindling::read_adam<double>(a);
  float* p = a.dense<float>(n, "adamStep param");
  const float* g = a.dense<float>(n, "adamStep grad");
  float* m = a.dense<float>(n, "adamStep expAvg");
  float* v = a.dense<float>(n, "adamStep expAvgSq");
  float* vmax = a.dense<float>(n, "adamStep maxExpAvgSq", true);
  if (o.amsgrad && !vmax) throw PackedError("adamStep: amsgrad needs maxExpAvgSq", false);
  adam_step(p, g, m, v, vmax, n, o);
  return done(env);
}

// The table, indexed by EntryOp; entry points without a kernel here stay null.
std::array<Entry, OP_COUNT> make_table() {
  std::array<Entry, OP_COUNT> t{};
  t[OP_MATMUL] = matmul;
  t[OP_LINEAR] = linear;
  t[OP_CONV2D] = conv2d;
  t[OP_CONV2D_BACKWARD_INPUT] = conv2d_backward_input_entry;
  t[OP_CONV2D_BACKWARD_WEIGHT] = conv2d_backward_weight_entry;
  t[OP_MAX_POOL2D] = max_pool2d;
  t[OP_MAX_POOL2D_BACKWARD] = max_pool2d_backward;
  t[OP_AVG_POOL2D] = avg_pool2d;
  t[OP_AVG_POOL2D_BACKWARD] = avg_pool2d_backward;
  t[OP_UNARY] = unary;
  t[OP_BINARY] = binary;
  t[OP_COPY] = copy;
  t[OP_FILL] = fill;
  t[OP_REDUCE] = reduce;
  t[OP_SOFTMAX] = softmax;
  t[OP_SOFTMAX_BACKWARD] = softmax_backward;
  t[OP_ACTIVATION_BACKWARD] = activation_backward_entry;
  t[OP_BATCH_NORM_TRAIN] = batch_norm_train_entry;
  t[OP_BATCH_NORM_BACKWARD] = batch_norm_backward_entry;
  t[OP_SGD_STEP] = sgd_step_entry;
  t[OP_ADAM_STEP] = adam_step_entry;
  return t;
}

const std::array<Entry, OP_COUNT> kTable = make_table();

}  // namespace

Entry entry_for(int op) { return op >= 0 && op < OP_COUNT ? kTable[static_cast<size_t>(op)] : nullptr; }

}  // namespace kd
