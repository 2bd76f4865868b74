// The CUDA emulator's <mma.h>: the part of nvcuda::wmma the addon uses (TF32 m16n16k8 with a float
// accumulator). On a GPU a fragment is spread over the warp's 32 lanes in an unspecified layout;
// here a fragment holds the whole tile, and each warp-wide operation (load, fill, mma, store) is
// done by the warp's lane 0 alone, for all of them: the other lanes' calls do nothing, and their
// fragments are never read. Element-wise loops over x[0 .. num_elements) mean the same in both.
// The emulator checks what the hardware requires and a GPU would not report: 256-bit aligned
// pointers and ldm a multiple of 4.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "cuda_runtime.h"

namespace nvcuda {
namespace wmma {

struct row_major;
struct col_major;
struct matrix_a;
struct matrix_b;
struct accumulator;
namespace precision {
struct tf32;
}
enum layout_t { mem_row_major, mem_col_major };

// cvt.rna.tf32.f32: round to 10 mantissa bits, ties away from zero; NaN and infinity pass through.
inline float __float_to_tf32(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
  std::memcpy(&f, &u, 4);
  return f;
}

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment;

template <int M, int N, int K, typename L>
struct fragment<matrix_a, M, N, K, precision::tf32, L> {
  static constexpr int num_elements = M * K;
  float x[M * K] = {};
};
template <int M, int N, int K, typename L>
struct fragment<matrix_b, M, N, K, precision::tf32, L> {
  static constexpr int num_elements = K * N;
  float x[K * N] = {};
};
template <int M, int N, int K>
struct fragment<accumulator, M, N, K, float, void> {
  static constexpr int num_elements = M * N;
  float x[M * N] = {};
};

namespace detail {
// The lane that performs the warp's collective operations.
inline bool leader() { return ::emu::lane_id() == 0; }
inline void check(const void* p, unsigned ldm, const char* what) {
  if (reinterpret_cast<uintptr_t>(p) % 32 != 0 || ldm % 4 != 0) {
    std::fprintf(stderr, "cuda emulator: %s needs a 256-bit aligned pointer and ldm a multiple of 4 (got %p, ldm %u)\n", what, p, ldm);
    std::abort();
  }
}
// The tensor cores read only a TF32's 19 bits of an operand.
inline float as_tf32(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u &= 0xffffe000u;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace detail

namespace detail {
// A rows×cols operand tile into a fragment's row-major x[], from memory in layout L.
template <typename L>
inline void load_tile(float* x, int rows, int cols, const float* p, unsigned ldm, const char* what) {
  check(p, ldm, what);
  if (!leader()) return;
  const bool row = std::is_same<L, row_major>::value;
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) x[r * cols + c] = row ? p[r * ldm + c] : p[c * ldm + r];
}
}  // namespace detail

template <typename L>
inline void load_matrix_sync(fragment<matrix_a, 16, 16, 8, precision::tf32, L>& a, const float* p, unsigned ldm) {
  detail::load_tile<L>(a.x, 16, 8, p, ldm, "load_matrix_sync(matrix_a)");
}
template <typename L>
inline void load_matrix_sync(fragment<matrix_b, 16, 16, 8, precision::tf32, L>& b, const float* p, unsigned ldm) {
  detail::load_tile<L>(b.x, 8, 16, p, ldm, "load_matrix_sync(matrix_b)");
}
inline void fill_fragment(fragment<accumulator, 16, 16, 8, float>& c, float v) {
  if (!detail::leader()) return;
  for (float& e : c.x) e = v;
}
template <typename LA, typename LB>
inline void mma_sync(fragment<accumulator, 16, 16, 8, float>& d, const fragment<matrix_a, 16, 16, 8, precision::tf32, LA>& a,
                     const fragment<matrix_b, 16, 16, 8, precision::tf32, LB>& b, const fragment<accumulator, 16, 16, 8, float>& c) {
  if (!detail::leader()) return;
  float out[256];
  for (int m = 0; m < 16; m++)
    for (int n = 0; n < 16; n++) {
      float acc = c.x[m * 16 + n];
      // TF32 products are exact in FP32 (11-bit significands); the sum is rounded as it goes.
      for (int k = 0; k < 8; k++) acc += detail::as_tf32(a.x[m * 8 + k]) * detail::as_tf32(b.x[k * 16 + n]);
      out[m * 16 + n] = acc;
    }
  std::memcpy(d.x, out, sizeof(out));
}
inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 8, float>& c, unsigned ldm, layout_t layout) {
  detail::check(p, ldm, "store_matrix_sync");
  if (!detail::leader()) return;
  for (int m = 0; m < 16; m++)
    for (int n = 0; n < 16; n++) (layout == mem_row_major ? p[m * ldm + n] : p[n * ldm + m]) = c.x[m * 16 + n];
}

}  // namespace wmma
}  // namespace nvcuda
