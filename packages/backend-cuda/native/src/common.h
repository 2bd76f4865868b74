// Shared definitions of the CUDA backend: dtypes, strided views as the host sees them, the
// error type every binding turns into a JavaScript error, and the per-device context.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace kc {

// Element types, numbered as the TypeScript side packs them (src/pack.ts).
enum DType : int { F32 = 0, I32 = 1, BOOL = 2 };

inline size_t dtype_bytes(int dt) { return dt == BOOL ? 1 : 4; }

constexpr int kMaxDims = 8;

// A strided view: element (i0..in) lives at ptr + (offset + Σ ik·strides[k]) · elementSize.
// Counts are int64 on the host; kernels index with int32 after the size checks in addon.cc.
struct View {
  void* ptr = nullptr;  // null for an absent optional view
  int dtype = F32;
  int64_t offset = 0;
  int nd = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};

  bool present() const { return ptr != nullptr; }
  int64_t numel() const {
    int64_t n = 1;
    for (int d = 0; d < nd; d++) n *= shape[d];
    return n;
  }
  bool contiguous() const {
    int64_t expect = 1;
    for (int d = nd - 1; d >= 0; d--) {
      if (shape[d] != 1 && strides[d] != expect) return false;
      expect *= shape[d];
    }
    return true;
  }
  // A dense row-major view of this one's shape over the buffer at p (offset 0).
  View dense_at(void* p, int dt) const {
    View d;
    d.ptr = p;
    d.dtype = dt;
    d.nd = nd;
    int64_t s = 1;
    for (int k = nd - 1; k >= 0; k--) {
      d.shape[k] = shape[k];
      d.strides[k] = s;
      s *= shape[k];
    }
    return d;
  }
  template <typename T>
  T* data() const { return static_cast<T*>(ptr) + offset; }
};

// Errors thrown by kernels' host code; addon.cc turns them into JS errors (RangeError when is_range).
struct Error : std::runtime_error {
  bool is_range;
  explicit Error(const std::string& m, bool range = false) : std::runtime_error(m), is_range(range) {}
};

// Codes a kernel can raise through the context's device-side error word (see Context::raise).
enum DeviceErrorCode : int { DEV_OK = 0, DEV_GATHER_INDEX = 1, DEV_SCATTER_INDEX = 2, DEV_MAXPOOL_INDEX = 3 };

// Throws "cuda <op>: cudaErrorName: description" for a failed runtime call.
void check_cuda(cudaError_t e, const char* op);

}  // namespace kc
