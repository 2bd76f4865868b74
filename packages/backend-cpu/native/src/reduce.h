// Sum over trailing dims: x.shape = [...kept, ...reduced] → out[kept]; float64 accumulation.
#pragma once
#include <cstdint>

namespace kd {

struct ReduceGeo {
  int nk, nr;
  const int64_t* kept_shape;
  const int64_t* x_kept_strides;
  const int64_t* out_strides;
  const int64_t* red_shape;
  const int64_t* x_red_strides;
  int64_t x_offset, out_offset;
};

bool reduce_sum_f32(const ReduceGeo& g, const float* x, float* out);

}  // namespace kd
