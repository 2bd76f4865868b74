// Reductions over the trailing dims of a strided view: x.shape = [...out.shape, ...reduced].
// Two shapes of launch: a block (32–256 threads) per output element, which reads rows coalesced
// when the reduced dims are dense; and a thread per output element, for many outputs whose reduced
// elements lie far apart (a sum over the batch dim of a [N, C] gradient, seen as [C, N] strided),
// where neighbouring threads then read neighbouring addresses.
//
// Semantics (PyTorch): float sums accumulate in float32, integer sums in 64-bit; max/min propagate
// NaN; argmax/argmin take the first occurrence on ties and treat NaN as the extreme (first NaN
// wins); empty reductions give 0 for sum, ∓inf for max/min and index 0.
#include <climits>
#include <cmath>

#include "kernels.h"
#include "ops.h"
#include "strided.cuh"

namespace kc {
namespace {

template <typename T>
struct RVal {
  T v;
  int i;
};

template <typename T>
__device__ __forceinline__ bool is_nan(T v) { return v != v; }

template <typename T>
__device__ __forceinline__ T lowest();
template <>
__device__ __forceinline__ float lowest<float>() { return -INFINITY; }
template <>
__device__ __forceinline__ long long lowest<long long>() { return LLONG_MIN; }
template <typename T>
__device__ __forceinline__ T highest();
template <>
__device__ __forceinline__ float highest<float>() { return INFINITY; }
template <>
__device__ __forceinline__ long long highest<long long>() { return LLONG_MAX; }

template <int OP, typename T>
__device__ __forceinline__ RVal<T> rinit() {
  if (OP == R_SUM) return {T(0), 0};
  if (OP == R_MAX || OP == R_ARGMAX) return {lowest<T>(), INT_MAX};
  return {highest<T>(), INT_MAX};
}

template <int OP, typename T>
__device__ __forceinline__ RVal<T> rcombine(RVal<T> a, RVal<T> b) {
  if (OP == R_SUM) return {a.v + b.v, 0};
  const bool an = is_nan(a.v), bn = is_nan(b.v);
  if (an || bn) {
    if (an && bn) return a.i <= b.i ? a : b;
    return an ? a : b;
  }
  if (OP == R_MAX || OP == R_ARGMAX) {
    if (a.v > b.v) return a;
    if (b.v > a.v) return b;
  } else {
    if (a.v < b.v) return a;
    if (b.v < a.v) return b;
  }
  return a.i <= b.i ? a : b;
}

template <int OP, typename T>
__device__ __forceinline__ void rstore(void* out, int odt, int off, RVal<T> r) {
  if (OP == R_ARGMAX || OP == R_ARGMIN) store_as<int>(out, odt, off, r.i == INT_MAX ? 0 : r.i);
  else store_as<T>(out, odt, off, r.v);
}

template <int OP, typename T>
__device__ RVal<T> block_reduce(RVal<T> acc) {
  __shared__ RVal<T> part[32];
  for (int d = 16; d > 0; d >>= 1) {
    RVal<T> o;
    o.v = __shfl_down_sync(0xffffffffu, acc.v, d);
    o.i = __shfl_down_sync(0xffffffffu, acc.i, d);
    acc = rcombine<OP, T>(acc, o);
  }
  const int warps = blockDim.x / 32;
  if (warps == 1) return acc;
  const int lane = threadIdx.x % 32, w = threadIdx.x / 32;
  __syncthreads();  // part[] may still be read by the previous row's reduction
  if (lane == 0) part[w] = acc;
  __syncthreads();
  if (w == 0) {
    acc = lane < warps ? part[lane] : rinit<OP, T>();
    for (int d = 16; d > 0; d >>= 1) {
      RVal<T> o;
      o.v = __shfl_down_sync(0xffffffffu, acc.v, d);
      o.i = __shfl_down_sync(0xffffffffu, acc.i, d);
      acc = rcombine<OP, T>(acc, o);
    }
  }
  return acc;
}

// Walks the reduced elements r, r + step, … of a two-dim reduced extent (a conv's bias gradient:
// [N, H·W] at strides [C·H·W, 1]) without a division per element: the (outer, inner) position
// advances by (step / s1, step % s1) and carries.
struct Walk2 {
  int q, m;                  // outer and inner index of the current element
  int s1, dq, dm, st0, st1;  // inner extent, the step split as (outer, inner), the two strides
  __device__ __forceinline__ Walk2(const Indexer<1>& rix, int r, int step)
      : s1(rix.shape[1]), st0(rix.strides[0][0]), st1(rix.strides[0][1]) {
    q = r / s1;
    m = r - q * s1;
    dq = step / s1;
    dm = step - dq * s1;
  }
  __device__ __forceinline__ int offset() const { return q * st0 + m * st1; }
  __device__ __forceinline__ void next() {
    q += dq;
    m += dm;
    if (m >= s1) {
      m -= s1;
      q++;
    }
  }
};

// Folds the reduced elements r0, r0 + step, … (below r1) of the row at `base` into acc, with four
// loads in flight per iteration. A reduction is bound by memory latency: with one outstanding load
// per thread, ~100k threads × 4 B / ~600 ns is about 1 TB/s, a fifth of an H200's bandwidth.
// rcombine breaks ties by index, so the order of the combines does not change argmax/argmin.
// Offsets come from index_offsets (a division per dim) except over one or two reduced dims, the
// common cases, which step without dividing.
template <int OP, typename T>
__device__ __forceinline__ RVal<T> fold(RVal<T> acc, const Indexer<1>& rix, int base, int r0, int r1, int step, const void* x, int xdt) {
  int r = r0;
  // Walk2 divides by the inner extent: with nothing to fold (an empty reduced extent, or more
  // threads than elements) skip it. A GPU's integer division by 0 gives garbage; the emulator's
  // (a CPU's) raises SIGFPE.
  if (rix.nd == 2 && r0 < r1) {
    base += rix.offset[0];
    Walk2 w(rix, r0, step);
    for (; r < r1 - 3 * step; r += 4 * step) {
      const int o0 = w.offset();
      w.next();
      const int o1 = w.offset();
      w.next();
      const int o2 = w.offset();
      w.next();
      const int o3 = w.offset();
      w.next();
      const T v0 = load_as<T>(x, xdt, base + o0), v1 = load_as<T>(x, xdt, base + o1);
      const T v2 = load_as<T>(x, xdt, base + o2), v3 = load_as<T>(x, xdt, base + o3);
      acc = rcombine<OP, T>(acc, RVal<T>{v0, r});
      acc = rcombine<OP, T>(acc, RVal<T>{v1, r + step});
      acc = rcombine<OP, T>(acc, RVal<T>{v2, r + 2 * step});
      acc = rcombine<OP, T>(acc, RVal<T>{v3, r + 3 * step});
    }
    for (; r < r1; r += step, w.next()) acc = rcombine<OP, T>(acc, RVal<T>{load_as<T>(x, xdt, base + w.offset()), r});
    return acc;
  }
  for (; r < r1 - 3 * step; r += 4 * step) {
    int o0[1], o1[1], o2[1], o3[1];
    index_offsets(rix, r, o0);
    index_offsets(rix, r + step, o1);
    index_offsets(rix, r + 2 * step, o2);
    index_offsets(rix, r + 3 * step, o3);
    const T v0 = load_as<T>(x, xdt, base + o0[0]), v1 = load_as<T>(x, xdt, base + o1[0]);
    const T v2 = load_as<T>(x, xdt, base + o2[0]), v3 = load_as<T>(x, xdt, base + o3[0]);
    acc = rcombine<OP, T>(acc, RVal<T>{v0, r});
    acc = rcombine<OP, T>(acc, RVal<T>{v1, r + step});
    acc = rcombine<OP, T>(acc, RVal<T>{v2, r + 2 * step});
    acc = rcombine<OP, T>(acc, RVal<T>{v3, r + 3 * step});
  }
  for (; r < r1; r += step) {
    int ro[1];
    index_offsets(rix, r, ro);
    acc = rcombine<OP, T>(acc, RVal<T>{load_as<T>(x, xdt, base + ro[0]), r});
  }
  return acc;
}

template <int OP, typename T>
__global__ void reduce_block_kernel(Indexer<2> oix, int nout, Indexer<1> rix, int R, const void* x, int xdt, void* out, int odt) {
  for (int row = blockIdx.x; row < nout; row += gridDim.x) {
    int o[2];
    index_offsets(oix, row, o);
    RVal<T> acc = fold<OP, T>(rinit<OP, T>(), rix, o[0], threadIdx.x, R, blockDim.x, x, xdt);
    acc = block_reduce<OP, T>(acc);
    if (threadIdx.x == 0) rstore<OP, T>(out, odt, o[1], acc);
  }
}

template <int OP, typename T>
__global__ void reduce_thread_kernel(Indexer<2> oix, int nout, Indexer<1> rix, int R, const void* x, int xdt, void* out, int odt) {
  for (int row = blockIdx.x * blockDim.x + threadIdx.x; row < nout; row += gridDim.x * blockDim.x) {
    int o[2];
    index_offsets(oix, row, o);
    rstore<OP, T>(out, odt, o[1], fold<OP, T>(rinit<OP, T>(), rix, o[0], 0, R, 1, x, xdt));
  }
}

// Few outputs over a long reduced extent (a conv's bias gradient: C outputs over N·H·W): one block
// per output would leave most SMs idle, so S blocks per output reduce chunks into partials first.
template <int OP, typename T>
__global__ void reduce_partial_kernel(Indexer<2> oix, Indexer<1> rix, int R, int chunk, const void* x, int xdt, T* pv, int* pi) {
  const int row = blockIdx.y, s = blockIdx.x, S = gridDim.x;
  int o[2];
  index_offsets(oix, row, o);
  const int r1 = min(R, (s + 1) * chunk);
  RVal<T> acc = fold<OP, T>(rinit<OP, T>(), rix, o[0], s * chunk + threadIdx.x, r1, blockDim.x, x, xdt);
  acc = block_reduce<OP, T>(acc);
  if (threadIdx.x == 0) {
    pv[row * S + s] = acc.v;
    pi[row * S + s] = acc.i;
  }
}

template <int OP, typename T>
__global__ void reduce_final_kernel(Indexer<2> oix, int nout, int S, const T* pv, const int* pi, void* out, int odt) {
  for (int row = blockIdx.x; row < nout; row += gridDim.x) {
    RVal<T> acc = rinit<OP, T>();
    for (int s = threadIdx.x; s < S; s += blockDim.x) acc = rcombine<OP, T>(acc, RVal<T>{pv[row * S + s], pi[row * S + s]});
    acc = block_reduce<OP, T>(acc);
    if (threadIdx.x == 0) {
      int o[2];
      index_offsets(oix, row, o);
      rstore<OP, T>(out, odt, o[1], acc);
    }
  }
}

template <int OP, typename T>
void launch(Context& c, const Indexer<2>& oix, int nout, const Indexer<1>& rix, int R, const View& x, const View& out) {
  const int sms = c.props().multiProcessorCount;
  if (nout < 2 * sms && R >= 16384) {
    int S = (4 * sms + nout - 1) / nout;
    const int most = (R + 4095) / 4096;
    if (S > most) S = most;
    if (S > 1) {
      const int chunk = (R + S - 1) / S;
      Temp pv(c, static_cast<size_t>(nout) * S * sizeof(T)), pi(c, static_cast<size_t>(nout) * S * sizeof(int));
      reduce_partial_kernel<OP, T><<<dim3(S, nout), 256, 0, c.stream()>>>(oix, rix, R, chunk, x.ptr, x.dtype, pv.as<T>(), pi.as<int>());
      const int threads = block_threads(S);
      reduce_final_kernel<OP, T><<<nout, threads, 0, c.stream()>>>(oix, nout, S, pv.as<T>(), pi.as<int>(), out.ptr, out.dtype);
      return;
    }
  }
  const bool dense_rows = rix.strides[0][rix.nd - 1] == 1;
  if (!dense_rows && nout >= 1024) {
    reduce_thread_kernel<OP, T><<<grid_for(nout), 256, 0, c.stream()>>>(oix, nout, rix, R, x.ptr, x.dtype, out.ptr, out.dtype);
    return;
  }
  const int threads = block_threads(R);
  const unsigned grid = static_cast<unsigned>(nout < (1 << 20) ? nout : (1 << 20));
  reduce_block_kernel<OP, T><<<grid, threads, 0, c.stream()>>>(oix, nout, rix, R, x.ptr, x.dtype, out.ptr, out.dtype);
}

template <typename T>
void dispatch(Context& c, int op, const Indexer<2>& oix, int nout, const Indexer<1>& rix, int R, const View& x, const View& out) {
  switch (op) {
    case R_SUM: return launch<R_SUM, T>(c, oix, nout, rix, R, x, out);
    case R_MAX: return launch<R_MAX, T>(c, oix, nout, rix, R, x, out);
    case R_MIN: return launch<R_MIN, T>(c, oix, nout, rix, R, x, out);
    case R_ARGMAX: return launch<R_ARGMAX, T>(c, oix, nout, rix, R, x, out);
    case R_ARGMIN: return launch<R_ARGMIN, T>(c, oix, nout, rix, R, x, out);
    default: throw Error("reduce: unknown op code " + std::to_string(op));
  }
}

}  // namespace

void reduce(Context& c, int op, const View& x, int reduce_dims, const View& out) {
  const int keep = x.nd - reduce_dims;
  if (keep < 0) throw Error("reduce: more reduced dims than x has", true);
  int64_t nout64 = 1, R64 = 1;
  for (int d = 0; d < keep; d++) nout64 *= x.shape[d];
  for (int d = keep; d < x.nd; d++) R64 *= x.shape[d];
  if (nout64 == 0) return;
  if (nout64 >= (int64_t(1) << 31) || R64 >= (int64_t(1) << 31)) throw Error("reduce: tensors of 2^31 or more elements are not supported on cuda", true);
  const int nout = static_cast<int>(nout64), R = static_cast<int>(R64);
  // out.shape is the kept prefix; a contiguous out of another rank (keepdim-style) is read densely.
  int64_t out_strides[kMaxDims];
  if (out.nd == keep) {
    for (int d = 0; d < keep; d++) out_strides[d] = out.strides[d];
  } else if (out.contiguous()) {
    int64_t s = 1;
    for (int d = keep - 1; d >= 0; d--) {
      out_strides[d] = s;
      s *= x.shape[d];
    }
  } else {
    throw Error("reduce: out does not match the kept dims of x", true);
  }
  const int64_t* ost[2] = {x.strides, out_strides};
  const int64_t oof[2] = {x.offset, out.offset};
  auto oix = make_indexer<2>(keep, x.shape, ost, oof);
  const int64_t* rst[1] = {x.strides + keep};
  const int64_t rof[1] = {0};
  auto rix = make_indexer<1>(x.nd - keep, x.shape + keep, rst, rof);
  if (x.dtype == F32) dispatch<float>(c, op, oix, nout, rix, R, x, out);
  else dispatch<long long>(c, op, oix, nout, rix, R, x, out);
}

}  // namespace kc
