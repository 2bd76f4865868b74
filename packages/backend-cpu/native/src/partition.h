// Reproducible parallel sums over a batch (convolution weight gradients).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "threadpool.h"

namespace kd {

// Splits [0, N) into a fixed number of partitions (min(N, max(4, 2·threads))), runs
// body(lo, hi, acc) for each with its own zeroed accumulator of `size` floats (partition 0: `out`
// itself, zeroed here), spread over the pool, then adds the partitions into `out` in partition
// order. Which thread ran which partition does not change a bit of the result, so training is
// reproducible run to run (a resumed run matches an uninterrupted one).
template <typename F>
void partitioned_sum(int64_t N, int64_t size, float* out, F&& body) {
  std::fill(out, out + size, 0.0f);
  if (N <= 0) return;
  const int64_t parts = std::min<int64_t>(N, std::max<int64_t>(4, 2 * pool_threads()));
  std::vector<std::vector<float>> partial(static_cast<size_t>(parts - 1));
  for (auto& p : partial) p.assign(static_cast<size_t>(size), 0.0f);
  parallel_for(parts, 1, [&](int64_t lo, int64_t hi, int) {
    for (int64_t p = lo; p < hi; p++) body(N * p / parts, N * (p + 1) / parts, p == 0 ? out : partial[p - 1].data());
  });
  for (auto& p : partial)
    for (int64_t i = 0; i < size; i++) out[i] += p[i];
}

}  // namespace kd
