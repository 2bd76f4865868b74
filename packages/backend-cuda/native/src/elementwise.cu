// Data movement and elementwise kernels: strided copy with cast, accumulate (atomic, so views that
// overlap themselves add every contribution), fill, unary, binary and where. Each kernel reads its
// dtypes at run time (a uniform branch) and computes in float32 when a float is involved, else in
// integer arithmetic with two's-complement wrap-around, as PyTorch's CUDA kernels do.
#include <cmath>
#include <memory>
#include <type_traits>

#include "kernels.h"
#include "ops.h"
#include "strided.cuh"

namespace kc {
namespace {

constexpr int kBlock = 256;

// ---- copy / fill / accumulate ----

template <typename C>
__global__ void copy_kernel(Indexer<2> ix, int n, const void* src, int sdt, void* dst, int ddt) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int o[2];
    index_offsets(ix, i, o);
    store_as<C>(dst, ddt, o[1], load_as<C>(src, sdt, o[0]));
  }
}

// Copies whose innermost dim is long and unit-stride on both sides (permutes, slices, the conv
// backward's regrouping): a block per row, so the index arithmetic is paid once per row and every
// warp moves contiguous memory.
template <typename C>
__global__ void copy_rows_kernel(Indexer<2> ix, int rows, int inner, const void* src, int sdt, void* dst, int ddt) {
  for (int row = blockIdx.x; row < rows; row += gridDim.x) {
    int o[2];
    index_offsets(ix, row * inner, o);
    for (int j = threadIdx.x; j < inner; j += blockDim.x) store_as<C>(dst, ddt, o[1] + j, load_as<C>(src, sdt, o[0] + j));
  }
}

// Same dtype, both dense: plain 4-byte (or 1-byte) moves.
template <typename T>
__global__ void copy_dense_kernel(int n, const T* __restrict__ src, T* __restrict__ dst) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) dst[i] = src[i];
}

__global__ void fill_kernel(Indexer<1> ix, int n, void* dst, int ddt, float fv, int iv) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int o[1];
    index_offsets(ix, i, o);
    if (ddt == F32) static_cast<float*>(dst)[o[0]] = fv;
    else if (ddt == I32) static_cast<int*>(dst)[o[0]] = iv;
    else static_cast<uint8_t*>(dst)[o[0]] = iv ? 1 : 0;
  }
}

__global__ void accumulate_f32_kernel(Indexer<2> ix, int n, const void* src, int sdt, float* dst) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int o[2];
    index_offsets(ix, i, o);
    atomicAdd(dst + o[1], load_as<float>(src, sdt, o[0]));
  }
}

__global__ void accumulate_i32_kernel(Indexer<2> ix, int n, const void* src, int sdt, int* dst) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int o[2];
    index_offsets(ix, i, o);
    atomicAdd(dst + o[1], load_as<int>(src, sdt, o[0]));
  }
}

// ---- unary ----

__device__ __forceinline__ float unary_f(int op, float v) {
  switch (op) {
    case U_NEG: return -v;
    case U_ABS: return fabsf(v);
    case U_SIGN: return static_cast<float>((v > 0.f) - (v < 0.f));  // sign(NaN) = 0, as PyTorch
    case U_EXP: return expf(v);
    case U_LOG: return logf(v);
    case U_SQRT: return sqrtf(v);
    case U_RSQRT: return 1.f / sqrtf(v);
    case U_RECIPROCAL: return 1.f / v;
    case U_SQUARE: return v * v;
    case U_SIN: return sinf(v);
    case U_COS: return cosf(v);
    case U_TANH: return tanhf(v);
    case U_SIGMOID: return v >= 0.f ? 1.f / (1.f + expf(-v)) : expf(v) / (1.f + expf(v));
    case U_RELU: return v > 0.f ? v : (v != v ? v : 0.f);  // NaN stays NaN, -0 becomes +0
    case U_ERF: return erff(v);
    case U_FLOOR: return floorf(v);
    case U_CEIL: return ceilf(v);
    case U_ROUND: return rintf(v);  // half to even
    case U_LOGICAL_NOT: return v == 0.f ? 1.f : 0.f;
    default: return v;
  }
}

// Integer unary ops that stay integral; the others are computed in float by the host's choice.
__device__ __forceinline__ int unary_i(int op, int v) {
  switch (op) {
    case U_NEG: return static_cast<int>(0u - static_cast<unsigned>(v));
    case U_ABS: return v < 0 ? static_cast<int>(0u - static_cast<unsigned>(v)) : v;
    case U_SIGN: return (v > 0) - (v < 0);
    case U_SQUARE: return static_cast<int>(static_cast<unsigned>(v) * static_cast<unsigned>(v));
    case U_RELU: return v > 0 ? v : 0;
    case U_LOGICAL_NOT: return v == 0;
    default: return v;  // floor, ceil, round of an integer
  }
}

__global__ void unary_f_kernel(Indexer<2> ix, int n, int op, const void* x, int xdt, void* y, int ydt) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int o[2];
    index_offsets(ix, i, o);
    store_as<float>(y, ydt, o[1], unary_f(op, load_as<float>(x, xdt, o[0])));
  }
}

// float32 → float32, dense: the common case of activations, without the dtype branches.
__global__ void unary_f_dense_kernel(int n, int op, const float* __restrict__ x, float* __restrict__ y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) y[i] = unary_f(op, x[i]);
}

__global__ void unary_i_kernel(Indexer<2> ix, int n, int op, const void* x, int xdt, void* y, int ydt) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int o[2];
    index_offsets(ix, i, o);
    store_as<int>(y, ydt, o[1], unary_i(op, load_as<int>(x, xdt, o[0])));
  }
}

// ---- binary ----

__device__ __forceinline__ float binary_f(int op, float a, float b) {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_POW: return powf(a, b);
    case B_MAXIMUM: return (a != a || b != b) ? __int_as_float(0x7fc00000) : fmaxf(a, b);
    case B_MINIMUM: return (a != a || b != b) ? __int_as_float(0x7fc00000) : fminf(a, b);
    case B_EQ: return a == b;
    case B_NE: return a != b;
    case B_LT: return a < b;
    case B_LE: return a <= b;
    case B_GT: return a > b;
    case B_GE: return a >= b;
    case B_LOGICAL_AND: return (a != 0.f) && (b != 0.f);
    case B_LOGICAL_OR: return (a != 0.f) || (b != 0.f);
    default: return 0.f;
  }
}

__device__ __forceinline__ int int_pow(int base, int exp) {
  if (exp < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exp & 1) ? -1 : 1;
    return 0;
  }
  unsigned r = 1, b = static_cast<unsigned>(base);
  while (exp > 0) {
    if (exp & 1) r *= b;
    b *= b;
    exp >>= 1;
  }
  return static_cast<int>(r);
}

// Integer arithmetic wraps; division is true division (core casts to float first, so this only
// serves a direct backend call), returned as double so the store truncates as the CPU does.
__device__ __forceinline__ double binary_i(int op, int a, int b) {
  const unsigned ua = static_cast<unsigned>(a), ub = static_cast<unsigned>(b);
  switch (op) {
    case B_ADD: return static_cast<int>(ua + ub);
    case B_SUB: return static_cast<int>(ua - ub);
    case B_MUL: return static_cast<int>(ua * ub);
    case B_DIV: return static_cast<double>(a) / static_cast<double>(b);
    case B_POW: return int_pow(a, b);
    case B_MAXIMUM: return a > b ? a : b;
    case B_MINIMUM: return a < b ? a : b;
    case B_EQ: return a == b;
    case B_NE: return a != b;
    case B_LT: return a < b;
    case B_LE: return a <= b;
    case B_GT: return a > b;
    case B_GE: return a >= b;
    case B_LOGICAL_AND: return (a != 0) && (b != 0);
    case B_LOGICAL_OR: return (a != 0) || (b != 0);
    default: return 0;
  }
}

// A kernel-side operand: a pointer and dtype, or (p == nullptr) a scalar.
struct DevOperand {
  const void* p;
  int dt;
  float fv;
  int iv;
};

template <typename C>
__device__ __forceinline__ C operand_value(const DevOperand& x, int off) {
  if (!x.p) return std::is_floating_point<C>::value ? static_cast<C>(x.fv) : static_cast<C>(x.iv);
  return load_as<C>(x.p, x.dt, off);
}

__global__ void binary_f_kernel(Indexer<3> ix, int n, int op, DevOperand a, DevOperand b, void* y, int ydt) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int o[3];
    index_offsets(ix, i, o);
    store_as<float>(y, ydt, o[2], binary_f(op, operand_value<float>(a, o[0]), operand_value<float>(b, o[1])));
  }
}

__global__ void binary_i_kernel(Indexer<3> ix, int n, int op, DevOperand a, DevOperand b, void* y, int ydt) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int o[3];
    index_offsets(ix, i, o);
    store_as<double>(y, ydt, o[2], binary_i(op, operand_value<int>(a, o[0]), operand_value<int>(b, o[1])));
  }
}

template <typename C>
__global__ void where_kernel(Indexer<4> ix, int n, const void* cond, int cdt, DevOperand a, DevOperand b, void* y, int ydt) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int o[4];
    index_offsets(ix, i, o);
    const bool c = load_as<float>(cond, cdt, o[0]) != 0.f;
    store_as<C>(y, ydt, o[3], c ? operand_value<C>(a, o[1]) : operand_value<C>(b, o[2]));
  }
}

DevOperand dev_operand(const Operand& x) {
  DevOperand d{};
  if (x.scalar) {
    d.p = nullptr;
    d.dt = F32;
    d.fv = static_cast<float>(x.value);
    d.iv = static_cast<int>(x.value);
  } else {
    d.p = x.view.ptr;
    d.dt = x.view.dtype;
  }
  return d;
}

bool operand_is_float(const Operand& x) {
  return x.scalar ? x.value != std::floor(x.value) || !std::isfinite(x.value) : x.view.dtype == F32;
}

}  // namespace

void copy(Context& c, const View& src, const View& dst) {
  const int n = checked_numel(dst, "copy");
  if (n == 0) return;
  if (src.dtype == dst.dtype && src.contiguous() && dst.contiguous()) {
    const size_t bytes = static_cast<size_t>(n) * dtype_bytes(dst.dtype);
    const char* s = static_cast<const char*>(src.ptr) + src.offset * dtype_bytes(src.dtype);
    char* d = static_cast<char*>(dst.ptr) + dst.offset * dtype_bytes(dst.dtype);
    check_cuda(cudaMemcpyAsync(d, s, bytes, cudaMemcpyDeviceToDevice, c.stream()), "copy");
    return;
  }
  const int64_t* st[2] = {src.strides, dst.strides};
  const int64_t of[2] = {src.offset, dst.offset};
  auto ix = make_indexer<2>(dst.nd, dst.shape, st, of);
  const int last = ix.nd - 1;
  if (ix.nd >= 2 && ix.shape[last] >= 64 && ix.strides[0][last] == 1 && ix.strides[1][last] == 1) {
    const int inner = ix.shape[last], rows = n / inner;
    const int threads = inner >= 256 ? 256 : inner >= 128 ? 128 : 64;
    const unsigned grid = static_cast<unsigned>(rows < (1 << 20) ? rows : (1 << 20));
    if (src.dtype == F32) copy_rows_kernel<float><<<grid, threads, 0, c.stream()>>>(ix, rows, inner, src.ptr, src.dtype, dst.ptr, dst.dtype);
    else copy_rows_kernel<int><<<grid, threads, 0, c.stream()>>>(ix, rows, inner, src.ptr, src.dtype, dst.ptr, dst.dtype);
    return;
  }
  if (src.dtype == F32) copy_kernel<float><<<grid_for(n), kBlock, 0, c.stream()>>>(ix, n, src.ptr, src.dtype, dst.ptr, dst.dtype);
  else copy_kernel<int><<<grid_for(n), kBlock, 0, c.stream()>>>(ix, n, src.ptr, src.dtype, dst.ptr, dst.dtype);
}

void accumulate(Context& c, const View& src, const View& dst) {
  const int n = checked_numel(dst, "accumulate");
  if (n == 0) return;
  const int64_t* st[2] = {src.strides, dst.strides};
  const int64_t of[2] = {src.offset, dst.offset};
  auto ix = make_indexer<2>(dst.nd, dst.shape, st, of);
  if (dst.dtype == F32) accumulate_f32_kernel<<<grid_for(n), kBlock, 0, c.stream()>>>(ix, n, src.ptr, src.dtype, static_cast<float*>(dst.ptr));
  else if (dst.dtype == I32) accumulate_i32_kernel<<<grid_for(n), kBlock, 0, c.stream()>>>(ix, n, src.ptr, src.dtype, static_cast<int*>(dst.ptr));
  else throw Error("accumulate: a bool destination is not supported on cuda");
}

void fill(Context& c, const View& dst, double value) {
  const int n = checked_numel(dst, "fill");
  if (n == 0) return;
  if (value == 0 && !std::signbit(value) && dst.contiguous()) {
    // All-zero bits in every dtype: a memset, the cheapest way to clear gradients and accumulators.
    const size_t b = dtype_bytes(dst.dtype);
    check_cuda(cudaMemsetAsync(static_cast<char*>(dst.ptr) + dst.offset * b, 0, static_cast<size_t>(n) * b, c.stream()), "fill");
    return;
  }
  const int64_t* st[1] = {dst.strides};
  const int64_t of[1] = {dst.offset};
  auto ix = make_indexer<1>(dst.nd, dst.shape, st, of);
  int iv = std::isnan(value) ? 0 : static_cast<int>(std::fmax(std::fmin(std::trunc(value), 2147483647.0), -2147483648.0));
  if (dst.dtype == BOOL) iv = value != 0 ? 1 : 0;
  fill_kernel<<<grid_for(n), kBlock, 0, c.stream()>>>(ix, n, dst.ptr, dst.dtype, static_cast<float>(value), iv);
}

void unary(Context& c, int op, const View& x, const View& out) {
  if (op < 0 || op >= U_COUNT) throw Error("unary: unknown op code " + std::to_string(op));
  const int n = checked_numel(out, "unary");
  if (n == 0) return;
  if (x.dtype == F32 && out.dtype == F32 && x.contiguous() && out.contiguous()) {
    unary_f_dense_kernel<<<grid_for(n), kBlock, 0, c.stream()>>>(n, op, x.data<float>(), out.data<float>());
    return;
  }
  const int64_t* st[2] = {x.strides, out.strides};
  const int64_t of[2] = {x.offset, out.offset};
  auto ix = make_indexer<2>(out.nd, out.shape, st, of);
  // The int-preserving ops of core's table, and logicalNot (bool in, bool out).
  const bool int_op = kUnaryIntPreserving[op] || op == U_LOGICAL_NOT;
  if (x.dtype != F32 && out.dtype != F32 && int_op) unary_i_kernel<<<grid_for(n), kBlock, 0, c.stream()>>>(ix, n, op, x.ptr, x.dtype, out.ptr, out.dtype);
  else unary_f_kernel<<<grid_for(n), kBlock, 0, c.stream()>>>(ix, n, op, x.ptr, x.dtype, out.ptr, out.dtype);
}

void binary(Context& c, int op, const Operand& a, const Operand& b, const View& out) {
  if (op < 0 || op >= B_COUNT) throw Error("binary: unknown op code " + std::to_string(op));
  const int n = checked_numel(out, "binary");
  if (n == 0) return;
  const int64_t* st[3] = {a.scalar ? nullptr : a.view.strides, b.scalar ? nullptr : b.view.strides, out.strides};
  const int64_t of[3] = {a.scalar ? 0 : a.view.offset, b.scalar ? 0 : b.view.offset, out.offset};
  auto ix = make_indexer<3>(out.nd, out.shape, st, of);
  const DevOperand da = dev_operand(a), db = dev_operand(b);
  if (operand_is_float(a) || operand_is_float(b)) binary_f_kernel<<<grid_for(n), kBlock, 0, c.stream()>>>(ix, n, op, da, db, out.ptr, out.dtype);
  else binary_i_kernel<<<grid_for(n), kBlock, 0, c.stream()>>>(ix, n, op, da, db, out.ptr, out.dtype);
}

void where(Context& c, const View& cond, const Operand& a, const Operand& b, const View& out) {
  const int n = checked_numel(out, "where");
  if (n == 0) return;
  const int64_t* st[4] = {cond.strides, a.scalar ? nullptr : a.view.strides, b.scalar ? nullptr : b.view.strides, out.strides};
  const int64_t of[4] = {cond.offset, a.scalar ? 0 : a.view.offset, b.scalar ? 0 : b.view.offset, out.offset};
  auto ix = make_indexer<4>(out.nd, out.shape, st, of);
  const DevOperand da = dev_operand(a), db = dev_operand(b);
  if (out.dtype == F32) where_kernel<float><<<grid_for(n), kBlock, 0, c.stream()>>>(ix, n, cond.ptr, cond.dtype, da, db, out.ptr, out.dtype);
  else where_kernel<int><<<grid_for(n), kBlock, 0, c.stream()>>>(ix, n, cond.ptr, cond.dtype, da, db, out.ptr, out.dtype);
}

const float* contiguous_f32(Context& c, const View& v, std::unique_ptr<Temp>& tmp, const char* op) {
  if (!v.present()) return nullptr;
  if (v.dtype == F32 && v.contiguous()) return v.data<float>();
  const int64_t n = v.numel();
  tmp = std::make_unique<Temp>(c, static_cast<size_t>(n) * 4);
  copy(c, v, v.dense_at(tmp->as<void>(), F32));
  return tmp->as<float>();
}

}  // namespace kc
