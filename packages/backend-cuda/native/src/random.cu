// Philox-4x32-10, bit-identical to core's reference (packages/core/src/philox.ts): element i of
// the view (row-major) takes lane i % k of block counter + floor(i / k), with k = 4 for uniform
// and 2 for normal (Box–Muller over lane pairs, in double as the reference computes it).
#include "kernels.h"
#include "strided.cuh"

namespace kc {
namespace {

__device__ __forceinline__ void philox(uint32_t c[4], uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xd2511f53u, M1 = 0xcd9e8d57u, W0 = 0x9e3779b9u, W1 = 0xbb67ae85u;
#pragma unroll
  for (int r = 0; r < 10; r++) {
    if (r > 0) {
      k0 += W0;
      k1 += W1;
    }
    const uint32_t hi0 = __umulhi(M0, c[0]), lo0 = M0 * c[0];
    const uint32_t hi1 = __umulhi(M1, c[2]), lo1 = M1 * c[2];
    const uint32_t n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
  }
}

__global__ void random_kernel(Indexer<1> ix, int n, int normal, uint32_t k0, uint32_t k1, unsigned long long counter, void* out, int odt) {
  const int per = normal ? 2 : 4;
  const int blocks = (n + per - 1) / per;
  for (int b = blockIdx.x * blockDim.x + threadIdx.x; b < blocks; b += gridDim.x * blockDim.x) {
    const unsigned long long ctr = counter + static_cast<unsigned long long>(b);
    uint32_t w[4] = {static_cast<uint32_t>(ctr), static_cast<uint32_t>(ctr >> 32), 0u, 0u};
    philox(w, k0, k1);
    for (int l = 0; l < per; l++) {
      const int i = b * per + l;
      if (i >= n) break;
      float v;
      if (!normal) {
        v = static_cast<float>(w[l] >> 8) * (1.0f / 16777216.0f);
      } else {
        const double u1 = (static_cast<double>(w[2 * l] >> 8) + 1.0) * (1.0 / 16777216.0);
        const double u2 = static_cast<double>(w[2 * l + 1] >> 8) * (1.0 / 16777216.0);
        v = static_cast<float>(sqrt(-2.0 * log(u1)) * cos(2.0 * 3.141592653589793 * u2));
      }
      int o[1];
      index_offsets(ix, i, o);
      store_as<float>(out, odt, o[0], v);
    }
  }
}

}  // namespace

void random(Context& c, int normal, uint32_t k0, uint32_t k1, double counter, const View& out) {
  const int n = checked_numel(out, "random");
  if (n == 0) return;
  // Element i of the view is draw i in row-major order (collapsing dims keeps that order).
  const int64_t* st[1] = {out.strides};
  const int64_t of[1] = {out.offset};
  auto ix = make_indexer<1>(out.nd, out.shape, st, of);
  const int per = normal ? 2 : 4;
  random_kernel<<<grid_for((n + per - 1) / per), 256, 0, c.stream()>>>(ix, n, normal, k0, k1, static_cast<unsigned long long>(counter), out.ptr, out.dtype);
}

}  // namespace kc
