// Strided iteration for the elementwise kernels, mirroring src/strided.ts: size-1 dims are
// dropped, neighbouring dims merged wherever every operand is contiguous across them, and the
// innermost remaining dim becomes a run the kernel loops over. A flat range [lo, hi) of the
// logical index can be walked on its own, which is how kernels split work across threads.
#pragma once
#include <algorithm>
#include <cstdint>

#include "threadpool.h"

namespace kd {

constexpr int kMaxDims = 12;
constexpr int kMaxOperands = 3;

struct Plan {
  int nd = 0;   // collapsed dims (0 means a single element)
  int k = 0;    // operands
  int64_t shape[kMaxDims];
  int64_t strides[kMaxOperands][kMaxDims];
  int64_t offset[kMaxOperands];
  int64_t total = 1;
};

// Builds a plan; false when the rank exceeds kMaxDims. strides[j] may be null for a scalar (all 0).
inline bool make_plan(int nd, const int64_t* shape, int k, const int64_t* const* strides, const int64_t* offsets, Plan& p) {
  if (nd > kMaxDims || k > kMaxOperands) return false;
  p.k = k;
  p.nd = 0;
  p.total = 1;
  for (int j = 0; j < k; j++) p.offset[j] = offsets[j];
  for (int d = 0; d < nd; d++) {
    const int64_t size = shape[d];
    p.total *= size;
    if (size == 1) continue;
    bool merge = p.nd > 0;
    for (int j = 0; merge && j < k; j++) {
      const int64_t s = strides[j] ? strides[j][d] : 0;
      if (p.strides[j][p.nd - 1] != s * size) merge = false;
    }
    if (merge) {
      p.shape[p.nd - 1] *= size;
      for (int j = 0; j < k; j++) p.strides[j][p.nd - 1] = strides[j] ? strides[j][d] : 0;
    } else {
      p.shape[p.nd] = size;
      for (int j = 0; j < k; j++) p.strides[j][p.nd] = strides[j] ? strides[j][d] : 0;
      p.nd++;
    }
  }
  return true;
}

// Calls fn(off[k], n, inner[k]) for consecutive runs covering logical indices [lo, hi).
template <typename F>
void for_runs(const Plan& p, int64_t lo, int64_t hi, F&& fn) {
  if (lo >= hi) return;
  int64_t off[kMaxOperands], inner[kMaxOperands];
  if (p.nd == 0) {
    for (int j = 0; j < p.k; j++) inner[j] = 0;
    fn(p.offset, 1, inner);
    return;
  }
  const int last = p.nd - 1;
  const int64_t n = p.shape[last];
  for (int j = 0; j < p.k; j++) inner[j] = p.strides[j][last];
  // Multi-index of the outer dims at lo, and the operands' offsets there.
  int64_t idx[kMaxDims];
  int64_t outer = lo / n, i0 = lo % n;
  for (int j = 0; j < p.k; j++) off[j] = p.offset[j];
  for (int d = last - 1; d >= 0; d--) {
    idx[d] = outer % p.shape[d];
    outer /= p.shape[d];
    for (int j = 0; j < p.k; j++) off[j] += idx[d] * p.strides[j][d];
  }
  int64_t pos = lo;
  while (pos < hi) {
    const int64_t len = std::min(n - i0, hi - pos);
    int64_t start[kMaxOperands];
    for (int j = 0; j < p.k; j++) start[j] = off[j] + i0 * inner[j];
    fn(start, len, inner);
    pos += len;
    i0 = 0;
    // Odometer over the outer dims.
    for (int d = last - 1; d >= 0; d--) {
      if (++idx[d] < p.shape[d]) {
        for (int j = 0; j < p.k; j++) off[j] += p.strides[j][d];
        break;
      }
      idx[d] = 0;
      for (int j = 0; j < p.k; j++) off[j] -= p.strides[j][d] * (p.shape[d] - 1);
    }
  }
}

}  // namespace kd

namespace kd {

// True when a 2-d plan reads or writes an operand transposed (large inner stride, unit outer
// stride): walking it row by row would touch a new cache line per element.
inline bool wants_tiles(const Plan& p) {
  if (p.nd != 2) return false;
  for (int j = 0; j < p.k; j++) {
    const int64_t in = p.strides[j][1] < 0 ? -p.strides[j][1] : p.strides[j][1];
    const int64_t out = p.strides[j][0] < 0 ? -p.strides[j][0] : p.strides[j][0];
    if (in > 16 && out < in) return true;
  }
  return false;
}

// Runs fn(off[k], n, inner[k]) over every run of the plan, split across the pool (at least
// `grain` elements per thread); transposed 2-d plans go in 32×32 tiles so both the row-major and
// the transposed operand stay in cache.
template <typename F>
void parallel_runs(const Plan& p, int64_t grain, F&& fn) {
  // Nothing to visit; also keeps a zero-width tiled plan from dividing by its 0 columns (SIGFPE).
  if (p.total == 0) return;
  if (!wants_tiles(p)) {
    parallel_for(p.total, grain, [&](int64_t lo, int64_t hi, int) { for_runs(p, lo, hi, fn); });
    return;
  }
  constexpr int64_t T = 32;
  const int64_t rows = p.shape[0], cols = p.shape[1];
  const int64_t row_tiles = (rows + T - 1) / T;
  parallel_for(row_tiles, std::max<int64_t>(1, grain / (T * cols)), [&](int64_t lo, int64_t hi, int) {
    int64_t off[kMaxOperands], inner[kMaxOperands];
    for (int j = 0; j < p.k; j++) inner[j] = p.strides[j][1];
    for (int64_t rt = lo; rt < hi; rt++)
      for (int64_t c0 = 0; c0 < cols; c0 += T) {
        const int64_t n = std::min(T, cols - c0);
        for (int64_t r = rt * T; r < std::min(rows, rt * T + T); r++) {
          for (int j = 0; j < p.k; j++) off[j] = p.offset[j] + r * p.strides[j][0] + c0 * p.strides[j][1];
          fn(off, n, inner);
        }
      }
  });
}

}  // namespace kd
