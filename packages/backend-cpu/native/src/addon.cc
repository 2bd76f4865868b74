// The N-API surface of the native path. Every function takes the CpuBuffers' typed arrays and
// element offsets (zero copy), checks that each array is float32/int32 as expected and that the
// elements the kernel will touch lie inside it (a bad view throws instead of corrupting memory),
// and runs synchronously: outputs are final when the call returns.
//
// This file is compiled once per ISA level, like the kernels (namespace kd is renamed per level by
// CMakeLists.txt); module.cc checks the CPU and calls the chosen level's register_bindings.
#include <napi.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "activation.h"
#include "batchnorm.h"
#include "conv.h"
#include "elementwise.h"
#include "gemm.h"
#include "isa.h"
#include "linear.h"
#include "optim.h"
#include "pool2d.h"
#include "reduce.h"
#include "threadpool.h"

namespace {

using kd::Mat;
using kd::MutMat;

// Thrown as a JavaScript error at the end of a binding.
struct ArgError {
  bool is_range;
  std::string message;
};

// The binding being run, for error messages (set by guarded(); calls are synchronous, one per thread).
thread_local const char* g_op = "kindling native";

// What a JavaScript value is, for error messages.
std::string js_type(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "a boolean";
    case napi_number: return "a number";
    case napi_string: return "a string (\"" + v.As<Napi::String>().Utf8Value().substr(0, 32) + "\")";
    case napi_object: return v.IsTypedArray() ? "a typed array of another type" : v.IsArray() ? "an array" : "an object";
    default: return "a value of another type";
  }
}

[[noreturn]] void bad_arg(size_t i, const char* expected, const Napi::Value& v) {
  throw ArgError{false, std::string(g_op) + ": argument " + std::to_string(i) + " must be " + expected + ", got " + js_type(v)};
}

// Every scalar argument is type-checked here: reading a string with .As<Napi::Number>() would
// leave a pending napi error that aborts the process (exceptions are disabled in node-addon-api).
constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1: beyond it doubles skip integers
int64_t I(const Napi::CallbackInfo& info, size_t i) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) bad_arg(i, "an integer", v);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= -kMaxSafe && d <= kMaxSafe) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw ArgError{true, std::string(g_op) + ": argument " + std::to_string(i) + " must be a safe integer, got " + std::to_string(d)};
  }
  return static_cast<int64_t>(d);
}
double D(const Napi::CallbackInfo& info, size_t i) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) bad_arg(i, "a number", v);
  return v.As<Napi::Number>().DoubleValue();
}
bool B(const Napi::CallbackInfo& info, size_t i) {
  const Napi::Value v = info[i];
  if (!v.IsBoolean()) bad_arg(i, "a boolean", v);
  return v.As<Napi::Boolean>().Value();
}

// Overflow-checked int64 arithmetic for extents: a product that wraps would pass a bounds check.
int64_t mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw ArgError{true, std::string(g_op) + ": extent " + std::to_string(a) + " x " + std::to_string(b) + " overflows int64"};
  return r;
}
int64_t add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw ArgError{true, std::string(g_op) + ": extent " + std::to_string(a) + " + " + std::to_string(b) + " overflows int64"};
  return r;
}
int64_t sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) throw ArgError{true, std::string(g_op) + ": extent " + std::to_string(a) + " - " + std::to_string(b) + " overflows int64"};
  return r;
}
// The product of non-negative sizes (a negative one is refused).
int64_t prod(std::initializer_list<int64_t> sizes) {
  int64_t n = 1;
  for (int64_t s : sizes) {
    if (s < 0) throw ArgError{true, std::string(g_op) + ": negative size " + std::to_string(s)};
    n = mul(n, s);
  }
  return n;
}

template <typename T, napi_typedarray_type kType>
T* typed(const Napi::CallbackInfo& info, size_t i, int64_t offset, int64_t need, const char* what, bool nullable = false) {
  const Napi::Value v = info[i];
  if (nullable && (v.IsNull() || v.IsUndefined())) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != kType) {
    throw ArgError{false, std::string(what) + ": expected a " + (kType == napi_float32_array ? "Float32Array" : kType == napi_int32_array ? "Int32Array" : "Uint8Array") +
                              ", got " + js_type(v)};
  }
  auto arr = v.As<Napi::TypedArrayOf<T>>();
  // A detached buffer (transferred to a worker) has length 0 and no data: every access is refused.
  const int64_t len = static_cast<int64_t>(arr.ElementLength());
  if (offset < 0 || need < 0 || offset > len || need > len - offset) {
    throw ArgError{true, std::string(what) + ": " + std::to_string(need) + " elements at offset " + std::to_string(offset) +
                             " overflow an array of " + std::to_string(len)};
  }
  return arr.Data() + offset;
}

float* f32(const Napi::CallbackInfo& info, size_t i, int64_t off, int64_t need, const char* what, bool nullable = false) {
  return typed<float, napi_float32_array>(info, i, off, need, what, nullable);
}
int32_t* i32(const Napi::CallbackInfo& info, size_t i, int64_t off, int64_t need, const char* what) {
  return typed<int32_t, napi_int32_array>(info, i, off, need, what);
}

// A Float64Array of geometry numbers (shapes, strides, offsets), converted to int64.
struct Geo {
  std::vector<int64_t> v;
  Geo(const Napi::CallbackInfo& info, size_t i, size_t min_len) {
    if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throw ArgError{false, "geometry: expected a Float64Array"};
    auto a = info[i].As<Napi::Float64Array>();
    if (a.ElementLength() < min_len) throw ArgError{true, "geometry: too short"};
    v.resize(a.ElementLength());
    for (size_t k = 0; k < v.size(); k++) {
      const double d = a[k];
      if (!(d >= -kMaxSafe && d <= kMaxSafe) || d != static_cast<double>(static_cast<int64_t>(d))) {
        throw ArgError{true, std::string(g_op) + ": geometry[" + std::to_string(k) + "] is not a safe integer (" + std::to_string(d) + ")"};
      }
      v[k] = static_cast<int64_t>(d);
    }
  }
  int64_t operator[](size_t k) const {
    if (k >= v.size()) throw ArgError{true, std::string(g_op) + ": geometry too short"};
    return v[k];
  }
  // n values starting at k, all present.
  const int64_t* at(size_t k, size_t n) const {
    if (k > v.size() || n > v.size() - k) throw ArgError{true, std::string(g_op) + ": geometry too short"};
    return v.data() + k;
  }
};

// Elements [min, max] a strided view reaches, relative to its offset; for bounds checks.
void extent(int nd, const int64_t* shape, const int64_t* strides, int64_t& lo, int64_t& hi) {
  lo = 0;
  hi = 0;
  for (int d = 0; d < nd; d++) {
    if (shape[d] < 0) throw ArgError{true, std::string(g_op) + ": negative size " + std::to_string(shape[d])};
    if (shape[d] == 0) {
      lo = 0;
      hi = -1;
      return;
    }
  }
  for (int d = 0; d < nd; d++) {
    const int64_t span = mul(shape[d] - 1, strides[d]);
    if (span < 0) lo = add(lo, span);
    else hi = add(hi, span);
  }
}

// The array behind a strided operand, checked against the elements the view reaches.
template <typename T, napi_typedarray_type kType>
T* strided_arg(const Napi::CallbackInfo& info, size_t i, int nd, const int64_t* shape, const int64_t* strides, int64_t offset, const char* what) {
  int64_t lo, hi;
  extent(nd, shape, strides, lo, hi);
  if (hi < lo) return typed<T, kType>(info, i, 0, 0, what);  // empty view: nothing is touched
  const int64_t first = add(offset, lo);
  T* base = typed<T, kType>(info, i, first, add(sub(hi, lo), 1), what);
  return base - first;  // callers add the view's own offsets
}

template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* op, F&& body) {
  g_op = op;
  try {
    return body();
  } catch (const ArgError& e) {
    if (e.is_range) {
      Napi::RangeError::New(info.Env(), e.message).ThrowAsJavaScriptException();
    } else {
      Napi::TypeError::New(info.Env(), e.message).ThrowAsJavaScriptException();
    }
  } catch (const std::exception& e) {
    Napi::Error::New(info.Env(), std::string("kindling native: ") + e.what()).ThrowAsJavaScriptException();
  }
  return info.Env().Undefined();
}

// ---- setup ----

// Environments (the main thread, worker_threads) that called init(); the pool stops with the last.
std::mutex g_env_lock;
int g_envs = 0;

void ReleaseEnv(void*) {
  std::lock_guard<std::mutex> lk(g_env_lock);
  if (--g_envs == 0) kd::pool_shutdown();
}

// Tells V8 how many bytes tensor storage holds (napi_adjust_external_memory): V8 then starts a
// collection when they grow, not only when its own heap does, so tensors a program drops without
// dispose() are found in proportion to their size (issue 13, docs/memory.md).
Napi::Value AdjustExternalMemory(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "adjustExternalMemory: expected a byte count");
  const int64_t delta = info[0].As<Napi::Number>().Int64Value();
  return Napi::Number::New(info.Env(), static_cast<double>(Napi::MemoryManagement::AdjustExternalMemory(info.Env(), delta)));
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  return guarded(info, "init", [&]() -> Napi::Value {
    kd::blas_single_thread();
    {
      std::lock_guard<std::mutex> lk(g_env_lock);
      if (info.Env().GetInstanceData<int>() == nullptr) {
        info.Env().SetInstanceData<int>(new int(1));
        g_envs++;
        napi_add_env_cleanup_hook(info.Env(), ReleaseEnv, nullptr);
      }
    }
    kd::pool_init(static_cast<int>(I(info, 0)));
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("threads", kd::pool_threads());
    o.Set("blas", std::string(kd::blas_config()));
    o.Set("blasCore", std::string(kd::blas_corename()));
    o.Set("avx512", kd::use_avx512());
    return o;
  });
}

// ---- GEMM ----

// matmul(Bt, M, N, K, A, aOff, aBs, aRs, aCs, B, bOff, bBs, bRs, bCs, C, cOff, cBs, cRs, cCs, accumulate)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  return guarded(info, "matmul", [&]() -> Napi::Value {
    const int64_t Bt = I(info, 0), M = I(info, 1), N = I(info, 2), K = I(info, 3);
    const int64_t as[3] = {I(info, 6), I(info, 7), I(info, 8)}, bs[3] = {I(info, 11), I(info, 12), I(info, 13)},
                  cs[3] = {I(info, 16), I(info, 17), I(info, 18)};
    const int64_t ash[3] = {Bt, M, K}, bsh[3] = {Bt, K, N}, csh[3] = {Bt, M, N};
    const float* A = strided_arg<float, napi_float32_array>(info, 4, 3, ash, as, I(info, 5), "matmul a");
    const float* Bm = strided_arg<float, napi_float32_array>(info, 9, 3, bsh, bs, I(info, 10), "matmul b");
    float* C = strided_arg<float, napi_float32_array>(info, 14, 3, csh, cs, I(info, 15), "matmul out");
    const int64_t aOff = I(info, 5), bOff = I(info, 10), cOff = I(info, 15);
    const bool acc = B(info, 19);
    auto one = [&](int64_t i) {
      kd::sgemm(M, N, K, Mat{A + aOff + i * as[0], as[1], as[2]}, Mat{Bm + bOff + i * bs[0], bs[1], bs[2]},
                MutMat{C + cOff + i * cs[0], cs[1], cs[2]}, acc);
    };
    if (Bt == 1) {
      one(0);
    } else {
      kd::parallel_for(Bt, 1, [&](int64_t lo, int64_t hi, int) {
        for (int64_t i = lo; i < hi; i++) one(i);
      });
    }
    return info.Env().Undefined();
  });
}

// linear(M, N, K, x, xOff, w, wOff, bias|null, bOff, y, yOff): y = x·wᵀ + bias, all dense
Napi::Value Linear(const Napi::CallbackInfo& info) {
  return guarded(info, "linear", [&]() -> Napi::Value {
    const int64_t M = I(info, 0), N = I(info, 1), K = I(info, 2);
    const float* x = f32(info, 3, I(info, 4), prod({M, K}), "linear x");
    const float* w = f32(info, 5, I(info, 6), prod({N, K}), "linear weight");
    const float* b = f32(info, 7, I(info, 8), N, "linear bias", true);
    float* y = f32(info, 9, I(info, 10), prod({M, N}), "linear out");
    kd::linear_forward(M, N, K, x, w, b, y);
    return info.Env().Undefined();
  });
}

// ---- conv2d ----

// geometry: N C H W O G kH kW oH oW sH sW pH pW dH dW
kd::ConvGeo conv_geo(const Napi::CallbackInfo& info, size_t i) {
  Geo g(info, i, 16);
  kd::ConvGeo c{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]};
  for (size_t k = 0; k < 16; k++) {
    if (g[k] < 0) throw ArgError{true, std::string(g_op) + ": negative geometry value " + std::to_string(g[k])};
  }
  if (c.G <= 0 || c.C % c.G != 0 || c.O % c.G != 0) throw ArgError{true, std::string(g_op) + ": channels are not divisible by groups"};
  if (c.sH < 1 || c.sW < 1 || c.dH < 1 || c.dW < 1) throw ArgError{true, std::string(g_op) + ": stride and dilation must be >= 1"};
  // The output size must be the one the input, padding, dilation and stride give (PyTorch's
  // formula): the kernels trust it when they map output positions back to input rows.
  auto out = [](int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
    const int64_t span = add(in, mul(2, p)) - mul(d, k - 1) - 1;
    return span < 0 ? int64_t(0) : span / s + 1;
  };
  if (c.kH < 1 || c.kW < 1 || c.oH != out(c.H, c.kH, c.sH, c.pH, c.dH) || c.oW != out(c.W, c.kW, c.sW, c.pW, c.dW)) {
    throw ArgError{true, std::string(g_op) + ": output size " + std::to_string(c.oH) + "x" + std::to_string(c.oW) + " does not match the input, kernel and options"};
  }
  return c;
}

Napi::Value Conv2d(const Napi::CallbackInfo& info) {  // (geo, x, xOff, w, wOff, bias|null, bOff, y, yOff)
  return guarded(info, "conv2d", [&]() -> Napi::Value {
    const kd::ConvGeo g = conv_geo(info, 0);
    const float* x = f32(info, 1, I(info, 2), prod({g.N, g.C, g.H, g.W}), "conv2d x");
    const float* w = f32(info, 3, I(info, 4), prod({g.O, g.C / g.G, g.kH, g.kW}), "conv2d weight");
    const float* b = f32(info, 5, I(info, 6), g.O, "conv2d bias", true);
    float* y = f32(info, 7, I(info, 8), prod({g.N, g.O, g.oH, g.oW}), "conv2d out");
    kd::conv2d_forward(g, x, w, b, y);
    return info.Env().Undefined();
  });
}

Napi::Value Conv2dBackwardInput(const Napi::CallbackInfo& info) {  // (geo, gy, gyOff, w, wOff, gx, gxOff)
  return guarded(info, "conv2dBackwardInput", [&]() -> Napi::Value {
    const kd::ConvGeo g = conv_geo(info, 0);
    const float* gy = f32(info, 1, I(info, 2), prod({g.N, g.O, g.oH, g.oW}), "conv2dBackwardInput gradOut");
    const float* w = f32(info, 3, I(info, 4), prod({g.O, g.C / g.G, g.kH, g.kW}), "conv2dBackwardInput weight");
    float* gx = f32(info, 5, I(info, 6), prod({g.N, g.C, g.H, g.W}), "conv2dBackwardInput gradIn");
    kd::conv2d_backward_input(g, gy, w, gx);
    return info.Env().Undefined();
  });
}

Napi::Value Conv2dBackwardWeight(const Napi::CallbackInfo& info) {  // (geo, gy, gyOff, x, xOff, gw, gwOff)
  return guarded(info, "conv2dBackwardWeight", [&]() -> Napi::Value {
    const kd::ConvGeo g = conv_geo(info, 0);
    const float* gy = f32(info, 1, I(info, 2), prod({g.N, g.O, g.oH, g.oW}), "conv2dBackwardWeight gradOut");
    const float* x = f32(info, 3, I(info, 4), prod({g.N, g.C, g.H, g.W}), "conv2dBackwardWeight x");
    float* gw = f32(info, 5, I(info, 6), prod({g.O, g.C / g.G, g.kH, g.kW}), "conv2dBackwardWeight gradWeight");
    kd::conv2d_backward_weight(g, gy, x, gw);
    return info.Env().Undefined();
  });
}

// ---- pooling ----

// geometry: planes H W oH oW sH sW pH pW dH dW; windows: Int32Array 3·oH and 3·oW
kd::PoolGeo pool_geo(const Napi::CallbackInfo& info, size_t i) {
  Geo g(info, i, 11);
  kd::PoolGeo p{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], nullptr, nullptr};
  for (size_t k = 0; k < 11; k++) {
    if (g[k] < 0) throw ArgError{true, std::string(g_op) + ": negative geometry value " + std::to_string(g[k])};
  }
  p.hwin = i32(info, i + 1, 0, mul(3, p.oH), "pool windows");
  p.wwin = i32(info, i + 2, 0, mul(3, p.oW), "pool windows");
  // Every tap [lo, hi) must land inside the plane.
  for (int64_t o = 0; o < p.oH; o++) {
    const int64_t lo = p.hwin[3 * o], hi = p.hwin[3 * o + 1], s = add(mul(o, p.sH), -p.pH);
    if (lo < hi && (lo < 0 || add(s, mul(lo, p.dH)) < 0 || add(s, mul(hi - 1, p.dH)) >= p.H)) throw ArgError{true, std::string(g_op) + ": window outside the input"};
  }
  for (int64_t o = 0; o < p.oW; o++) {
    const int64_t lo = p.wwin[3 * o], hi = p.wwin[3 * o + 1], s = add(mul(o, p.sW), -p.pW);
    if (lo < hi && (lo < 0 || add(s, mul(lo, p.dW)) < 0 || add(s, mul(hi - 1, p.dW)) >= p.W)) throw ArgError{true, std::string(g_op) + ": window outside the input"};
  }
  return p;
}

Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {  // (geo, hwin, wwin, x, xOff, y, yOff, idx, idxOff)
  return guarded(info, "maxPool2d", [&]() -> Napi::Value {
    const kd::PoolGeo g = pool_geo(info, 0);
    const float* x = f32(info, 3, I(info, 4), prod({g.planes, g.H, g.W}), "maxPool2d x");
    float* y = f32(info, 5, I(info, 6), prod({g.planes, g.oH, g.oW}), "maxPool2d out");
    int32_t* idx = i32(info, 7, I(info, 8), prod({g.planes, g.oH, g.oW}), "maxPool2d indices");
    kd::maxpool_forward(g, x, y, idx);
    return info.Env().Undefined();
  });
}

// (geo, hwin, wwin, gy, gyOff, idx, idxOff, gx, gxOff) → null, or the first bad index found
Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  return guarded(info, "maxPool2dBackward", [&]() -> Napi::Value {
    const kd::PoolGeo g = pool_geo(info, 0);
    const float* gy = f32(info, 3, I(info, 4), prod({g.planes, g.oH, g.oW}), "maxPool2dBackward gradOut");
    const int32_t* idx = i32(info, 5, I(info, 6), prod({g.planes, g.oH, g.oW}), "maxPool2dBackward indices");
    float* gx = f32(info, 7, I(info, 8), prod({g.planes, g.H, g.W}), "maxPool2dBackward gradIn");
    int32_t bad = 0;
    if (!kd::maxpool_backward(g, gy, idx, gx, &bad)) return Napi::Number::New(info.Env(), bad);
    return info.Env().Null();
  });
}

// (geo, hwin, wwin, divisorOverride (0: none), countIncludePad, x, xOff, y, yOff)
Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  return guarded(info, "avgPool2d", [&]() -> Napi::Value {
    const kd::PoolGeo g = pool_geo(info, 0);
    const float* x = f32(info, 5, I(info, 6), prod({g.planes, g.H, g.W}), "avgPool2d x");
    float* y = f32(info, 7, I(info, 8), prod({g.planes, g.oH, g.oW}), "avgPool2d out");
    kd::avgpool_forward(g, D(info, 3), B(info, 4), x, y);
    return info.Env().Undefined();
  });
}

// (geo, hwin, wwin, divisorOverride, countIncludePad, gy, gyOff, gx, gxOff, gxIsZero); gx accumulates
Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  return guarded(info, "avgPool2dBackward", [&]() -> Napi::Value {
    const kd::PoolGeo g = pool_geo(info, 0);
    const float* gy = f32(info, 5, I(info, 6), prod({g.planes, g.oH, g.oW}), "avgPool2dBackward gradOut");
    float* gx = f32(info, 7, I(info, 8), prod({g.planes, g.H, g.W}), "avgPool2dBackward gradIn");
    kd::avgpool_backward(g, D(info, 3), B(info, 4), gy, gx, B(info, 9));
    return info.Env().Undefined();
  });
}

// ---- elementwise ----

// geometry for k operands: nd, shape[nd], then per operand: offset, strides[nd]
// Tensors of higher rank are refused (core has no such limit, but no kernel needs more).
constexpr int64_t kMaxRank = 64;

struct StridedGeo {
  Geo g;
  int nd;
  kd::Operands ops;
  StridedGeo(const Napi::CallbackInfo& info, size_t i, int k) : g(info, i, 1) {
    if (g[0] < 0 || g[0] > kMaxRank) throw ArgError{true, std::string(g_op) + ": rank " + std::to_string(g[0]) + " is outside [0, " + std::to_string(kMaxRank) + "]"};
    nd = static_cast<int>(g[0]);
    ops.nd = nd;
    ops.shape = g.at(1, nd);
    for (int j = 0; j < k; j++) {
      ops.offsets[j] = g[1 + nd + j * (1 + nd)];
      ops.strides[j] = g.at(2 + nd + j * (1 + nd), nd);
    }
  }
};

Napi::Value Unary(const Napi::CallbackInfo& info) {  // (op, geo{x, y}, x, y) → handled?
  return guarded(info, "unary", [&]() -> Napi::Value {
    StridedGeo s(info, 1, 2);
    const float* x = strided_arg<float, napi_float32_array>(info, 2, s.nd, s.ops.shape, s.ops.strides[0], s.ops.offsets[0], "unary x");
    float* y = strided_arg<float, napi_float32_array>(info, 3, s.nd, s.ops.shape, s.ops.strides[1], s.ops.offsets[1], "unary out");
    return Napi::Boolean::New(info.Env(), kd::unary_f32(static_cast<int>(I(info, 0)), s.ops, x, y));
  });
}

// A float32 operand of a binary or comparison op: argument i is a Float32Array walked by operand
// k of the geometry, or a JS number (then operand k is a scalar: no strides, value in *scalar).
const float* float_operand(const Napi::CallbackInfo& info, size_t i, StridedGeo& s, int k, double* scalar, const char* what) {
  if (info[i].IsNumber()) {
    *scalar = D(info, i);
    s.ops.strides[k] = nullptr;
    s.ops.offsets[k] = 0;
    return nullptr;
  }
  return strided_arg<float, napi_float32_array>(info, i, s.nd, s.ops.shape, s.ops.strides[k], s.ops.offsets[k], what);
}

Napi::Value Binary(const Napi::CallbackInfo& info) {  // (op, geo{a, b, y}, a|number, b|number, y) → handled?
  return guarded(info, "binary", [&]() -> Napi::Value {
    StridedGeo s(info, 1, 3);
    double sa = 0, sb = 0;
    const float* a = float_operand(info, 2, s, 0, &sa, "binary a");
    const float* b = float_operand(info, 3, s, 1, &sb, "binary b");
    float* y = strided_arg<float, napi_float32_array>(info, 4, s.nd, s.ops.shape, s.ops.strides[2], s.ops.offsets[2], "binary out");
    return Napi::Boolean::New(info.Env(), kd::binary_f32(static_cast<int>(I(info, 0)), s.ops, a, sa, b, sb, y));
  });
}

// (op, geo{a, b, y}, a|number, b|number, y: Uint8Array) → handled?
Napi::Value Compare(const Napi::CallbackInfo& info) {
  return guarded(info, "compare", [&]() -> Napi::Value {
    StridedGeo s(info, 1, 3);
    double sa = 0, sb = 0;
    const float* a = float_operand(info, 2, s, 0, &sa, "compare a");
    const float* b = float_operand(info, 3, s, 1, &sb, "compare b");
    uint8_t* y = strided_arg<uint8_t, napi_uint8_array>(info, 4, s.nd, s.ops.shape, s.ops.strides[2], s.ops.offsets[2], "compare out");
    return Napi::Boolean::New(info.Env(), kd::compare_f32(static_cast<int>(I(info, 0)), s.ops, a, sa, b, sb, y));
  });
}

// The element type code of a typed array argument (kd::DTypeCode), or -1.
int type_code(const Napi::Value& v) {
  if (!v.IsTypedArray()) return -1;
  switch (v.As<Napi::TypedArray>().TypedArrayType()) {
    case napi_float32_array: return kd::T_F32;
    case napi_int32_array: return kd::T_I32;
    case napi_uint8_array: return kd::T_BOOL;
    default: return -1;
  }
}

template <typename T, napi_typedarray_type K>
void* any_arg(const Napi::CallbackInfo& info, size_t i, const StridedGeo& s, int j, const char* what) {
  return strided_arg<T, K>(info, i, s.nd, s.ops.shape, s.ops.strides[j], s.ops.offsets[j], what);
}

void* typed_strided(const Napi::CallbackInfo& info, size_t i, int code, const StridedGeo& s, int j, const char* what) {
  switch (code) {
    case kd::T_F32: return any_arg<float, napi_float32_array>(info, i, s, j, what);
    case kd::T_I32: return any_arg<int32_t, napi_int32_array>(info, i, s, j, what);
    default: return any_arg<uint8_t, napi_uint8_array>(info, i, s, j, what);
  }
}

Napi::Value Copy(const Napi::CallbackInfo& info) {  // (geo{src, dst}, src, dst) → handled?
  return guarded(info, "copy", [&]() -> Napi::Value {
    StridedGeo s(info, 0, 2);
    const int st = type_code(info[1]), dt = type_code(info[2]);
    if (st < 0 || dt < 0) return Napi::Boolean::New(info.Env(), false);
    const void* src = typed_strided(info, 1, st, s, 0, "copy src");
    void* dst = typed_strided(info, 2, dt, s, 1, "copy dst");
    return Napi::Boolean::New(info.Env(), kd::copy_cast(s.ops, src, st, dst, dt));
  });
}

Napi::Value Fill(const Napi::CallbackInfo& info) {  // (y, yOff, n, value): dense float32
  return guarded(info, "fill", [&]() -> Napi::Value {
    const int64_t n = I(info, 2);
    float* y = f32(info, 0, I(info, 1), n, "fill out");
    kd::fill_f32(y, n, static_cast<float>(D(info, 3)));
    return info.Env().Undefined();
  });
}

// geometry: nk, kept[nk], xKeptStrides[nk], outStrides[nk], nr, red[nr], xRedStrides[nr], xOff, outOff
Napi::Value ReduceSum(const Napi::CallbackInfo& info) {  // (geo, x, out) → handled?
  return guarded(info, "reduceSum", [&]() -> Napi::Value {
    Geo g(info, 0, 1);
    kd::ReduceGeo r;
    auto rank = [&](size_t k) {
      if (g[k] < 0 || g[k] > kMaxRank) throw ArgError{true, std::string(g_op) + ": rank " + std::to_string(g[k]) + " is outside [0, " + std::to_string(kMaxRank) + "]"};
      return static_cast<int>(g[k]);
    };
    r.nk = rank(0);
    r.kept_shape = g.at(1, r.nk);
    r.x_kept_strides = g.at(1 + r.nk, r.nk);
    r.out_strides = g.at(1 + 2 * r.nk, r.nk);
    size_t at = 1 + 3 * r.nk;
    r.nr = rank(at);
    r.red_shape = g.at(at + 1, r.nr);
    r.x_red_strides = g.at(at + 1 + r.nr, r.nr);
    r.x_offset = g[at + 1 + 2 * r.nr];
    r.out_offset = g[at + 2 + 2 * r.nr];
    // Bounds: x over kept + reduced dims, out over kept dims.
    std::vector<int64_t> xs(r.kept_shape, r.kept_shape + r.nk), xst(r.x_kept_strides, r.x_kept_strides + r.nk);
    xs.insert(xs.end(), r.red_shape, r.red_shape + r.nr);
    xst.insert(xst.end(), r.x_red_strides, r.x_red_strides + r.nr);
    const float* x = strided_arg<float, napi_float32_array>(info, 1, r.nk + r.nr, xs.data(), xst.data(), r.x_offset, "reduce x");
    float* out = strided_arg<float, napi_float32_array>(info, 2, r.nk, r.kept_shape, r.out_strides, r.out_offset, "reduce out");
    return Napi::Boolean::New(info.Env(), kd::reduce_sum_f32(r, x, out));
  });
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {  // (x, xOff, y, yOff, rows, cols, log)
  return guarded(info, "softmax", [&]() -> Napi::Value {
    const int64_t rows = I(info, 4), cols = I(info, 5);
    const float* x = f32(info, 0, I(info, 1), prod({rows, cols}), "softmax x");
    float* y = f32(info, 2, I(info, 3), prod({rows, cols}), "softmax out");
    kd::softmax_f32(x, y, rows, cols, B(info, 6));
    return info.Env().Undefined();
  });
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {  // (y, yOff, gy, gyOff, gx, gxOff, rows, cols, log)
  return guarded(info, "softmaxBackward", [&]() -> Napi::Value {
    const int64_t rows = I(info, 6), cols = I(info, 7);
    const float* y = f32(info, 0, I(info, 1), prod({rows, cols}), "softmaxBackward y");
    const float* gy = f32(info, 2, I(info, 3), prod({rows, cols}), "softmaxBackward gradOut");
    float* gx = f32(info, 4, I(info, 5), prod({rows, cols}), "softmaxBackward gradIn");
    kd::softmax_backward_f32(y, gy, gx, rows, cols, B(info, 8));
    return info.Env().Undefined();
  });
}

// (op, y, yOff, gy, gyOff, gx, gxOff, n) → handled?
Napi::Value ActivationBackward(const Napi::CallbackInfo& info) {
  return guarded(info, "activationBackward", [&]() -> Napi::Value {
    const int64_t n = I(info, 7);
    const float* y = f32(info, 1, I(info, 2), n, "activationBackward y");
    const float* gy = f32(info, 3, I(info, 4), n, "activationBackward gradOut");
    float* gx = f32(info, 5, I(info, 6), n, "activationBackward gradIn");
    return Napi::Boolean::New(info.Env(), kd::activation_backward(static_cast<int>(I(info, 0)), y, gy, gx, n));
  });
}

// ---- batch norm (x dense [N, C, L]) ----

// (x, xOff, w|null, wOff, b|null, bOff, y, yOff, mean, meanOff, invstd, invstdOff, stats, N, C, L, eps):
// stats is a Float64Array of 2·C that receives the float64 means then biased variances.
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  return guarded(info, "batchNormTrain", [&]() -> Napi::Value {
    const int64_t N = I(info, 13), C = I(info, 14), L = I(info, 15);
    const int64_t n = prod({N, C, L});
    const float* x = f32(info, 0, I(info, 1), n, "batchNormTrain input");
    const float* w = f32(info, 2, I(info, 3), C, "batchNormTrain weight", true);
    const float* b = f32(info, 4, I(info, 5), C, "batchNormTrain bias", true);
    float* y = f32(info, 6, I(info, 7), n, "batchNormTrain output");
    float* mean = f32(info, 8, I(info, 9), C, "batchNormTrain mean");
    float* invstd = f32(info, 10, I(info, 11), C, "batchNormTrain invstd");
    if (!info[12].IsTypedArray() || info[12].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        static_cast<int64_t>(info[12].As<Napi::Float64Array>().ElementLength()) < mul(2, C))
      throw ArgError{false, "batchNormTrain stats: expected a Float64Array of 2 x " + std::to_string(C) + " elements"};
    double* stats = info[12].As<Napi::Float64Array>().Data();
    kd::batch_norm_train(x, w, b, y, mean, invstd, stats, stats + C, N, C, L, D(info, 16));
    return info.Env().Undefined();
  });
}

// (gy, gyOff, x, xOff, w|null, wOff, mean, meanOff, invstd, invstdOff, gx, gxOff, gw|null, gwOff, gb|null, gbOff, N, C, L)
Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  return guarded(info, "batchNormBackward", [&]() -> Napi::Value {
    const int64_t N = I(info, 16), C = I(info, 17), L = I(info, 18);
    const int64_t n = prod({N, C, L});
    const float* gy = f32(info, 0, I(info, 1), n, "batchNormBackward gradOut");
    const float* x = f32(info, 2, I(info, 3), n, "batchNormBackward input");
    const float* w = f32(info, 4, I(info, 5), C, "batchNormBackward weight", true);
    const float* mean = f32(info, 6, I(info, 7), C, "batchNormBackward mean");
    const float* invstd = f32(info, 8, I(info, 9), C, "batchNormBackward invstd");
    float* gx = f32(info, 10, I(info, 11), n, "batchNormBackward gradIn");
    float* gw = f32(info, 12, I(info, 13), C, "batchNormBackward gradWeight", true);
    float* gb = f32(info, 14, I(info, 15), C, "batchNormBackward gradBias", true);
    kd::batch_norm_backward(gy, x, w, mean, invstd, gx, gw, gb, N, C, L);
    return info.Env().Undefined();
  });
}

// ---- optimizers ----

// (p, pOff, g, gOff, buf|null, bufOff, n, lr, momentum, dampening, weightDecay, nesterov, maximize, firstStep)
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  return guarded(info, "sgdStep", [&]() -> Napi::Value {
    const int64_t n = I(info, 6);
    float* p = f32(info, 0, I(info, 1), n, "sgdStep param");
    const float* g = f32(info, 2, I(info, 3), n, "sgdStep grad");
    float* buf = f32(info, 4, I(info, 5), n, "sgdStep momentum buffer", true);
    kd::SgdArgs a{D(info, 7), D(info, 8), D(info, 9), D(info, 10), B(info, 11), B(info, 12), B(info, 13)};
    kd::sgd_step(p, g, buf, n, a);
    return info.Env().Undefined();
  });
}

// (p, pOff, g, gOff, m, mOff, v, vOff, vmax|null, vmaxOff, n, lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, maximize, step)
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  return guarded(info, "adamStep", [&]() -> Napi::Value {
    const int64_t n = I(info, 10);
    float* p = f32(info, 0, I(info, 1), n, "adamStep param");
    const float* g = f32(info, 2, I(info, 3), n, "adamStep grad");
    float* m = f32(info, 4, I(info, 5), n, "adamStep expAvg");
    float* v = f32(info, 6, I(info, 7), n, "adamStep expAvgSq");
    float* x = f32(info, 8, I(info, 9), n, "adamStep maxExpAvgSq", true);
    kd::AdamArgs a{D(info, 11), D(info, 12), D(info, 13), D(info, 14), D(info, 15), B(info, 16), B(info, 17), B(info, 18), D(info, 19)};
    if (a.amsgrad && !x) throw ArgError{false, "adamStep: amsgrad needs maxExpAvgSq"};
    kd::adam_step(p, g, m, v, x, n, a);
    return info.Env().Undefined();
  });
}

}  // namespace

namespace kd {

void register_bindings(Napi::Env env, Napi::Object exports) {
  // The op names behind the codes this build was compiled with (kindling_ops.h), per family: a
  // test compares them with core's op table.
  Napi::Object names = Napi::Object::New(env);
  for (const OpFamilyNames& f : kOpFamilies) {
    Napi::Array a = Napi::Array::New(env, f.count);
    for (int i = 0; i < f.count; i++) a.Set(i, f.names[i]);
    names.Set(f.family, a);
  }
  exports.Set("opNames", names);
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("adjustExternalMemory", Napi::Function::New(env, AdjustExternalMemory));
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("linear", Napi::Function::New(env, Linear));
  exports.Set("activationBackward", Napi::Function::New(env, ActivationBackward));
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackwardInput", Napi::Function::New(env, Conv2dBackwardInput));
  exports.Set("conv2dBackwardWeight", Napi::Function::New(env, Conv2dBackwardWeight));
  exports.Set("maxPool2d", Napi::Function::New(env, MaxPool2d));
  exports.Set("maxPool2dBackward", Napi::Function::New(env, MaxPool2dBackward));
  exports.Set("avgPool2d", Napi::Function::New(env, AvgPool2d));
  exports.Set("avgPool2dBackward", Napi::Function::New(env, AvgPool2dBackward));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("compare", Napi::Function::New(env, Compare));
  exports.Set("copy", Napi::Function::New(env, Copy));
  exports.Set("fill", Napi::Function::New(env, Fill));
  exports.Set("reduceSum", Napi::Function::New(env, ReduceSum));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("softmaxBackward", Napi::Function::New(env, SoftmaxBackward));
  exports.Set("batchNormTrain", Napi::Function::New(env, BatchNormTrain));
  exports.Set("batchNormBackward", Napi::Function::New(env, BatchNormBackward));
  exports.Set("sgdStep", Napi::Function::New(env, SgdStep));
  exports.Set("adamStep", Napi::Function::New(env, AdamStep));
}

}  // namespace kd
