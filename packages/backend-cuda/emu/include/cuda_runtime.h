// The CUDA emulator's stand-in for <cuda_runtime.h>: just enough of the CUDA runtime API and of the
// device built-ins for the addon's own sources to compile with g++ and run on the CPU, so that the
// kernels' logic (indexing, tiling, reductions, shuffles, barriers, atomics, launch limits) can be
// tested on machines without a GPU (scripts/build-emulator.mjs, test/emulated.test.ts).
//
// It is not a model of a GPU's speed or memory system: a launch runs at once, its blocks one after
// another, each block's threads as fibers that switch only at __syncthreads() and warp shuffles.
// So it finds wrong results, out-of-range writes (with ASan), missing barriers' deadlocks and bad
// launch configurations, but not races between threads that a barrier should have ordered, nor
// anything about tensor cores or libraries (cuBLAS and cuDNN are absent under it).
#pragma once

#include <math.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>

// ---- declaration specifiers -------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// Blocks run one at a time, so a function-local static is exactly one block's shared memory.
#define __shared__ static

// ---- types --------------------------------------------------------------------------------------
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevice = 101,
  cudaErrorNotReady = 600,
  cudaErrorLaunchFailure = 719,
};
using cudaError = cudaError_t;

enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3, cudaMemcpyDefault = 4 };

struct CUstream_st;
struct CUevent_st;
using cudaStream_t = CUstream_st*;
using cudaEvent_t = CUevent_st*;

constexpr unsigned cudaStreamNonBlocking = 1;
constexpr unsigned cudaEventDisableTiming = 2;
constexpr unsigned cudaHostAllocDefault = 0;
constexpr unsigned cudaHostAllocMapped = 2;

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  int major, minor;
  int multiProcessorCount;
  int warpSize;
  int maxThreadsPerBlock;
};

// ---- runtime API (emu/runtime.cc) -------------------------------------------------------------
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaRuntimeGetVersion(int* v);
cudaError_t cudaDriverGetVersion(int* v);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetLastError();
const char* cudaGetErrorName(cudaError_t e);
const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned flags);
cudaError_t cudaHostGetDevicePointer(void** d, void* h, unsigned flags);
cudaError_t cudaFreeHost(void* p);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s = nullptr);
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t s = nullptr);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaEventCreate(cudaEvent_t* e);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr);
cudaError_t cudaEventQuery(cudaEvent_t e);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b);

// ---- the running thread and its block ---------------------------------------------------------
namespace emu {

struct ThreadState {
  uint3 tid;
};
extern ThreadState* current;
extern uint3 block_idx;
extern dim3 block_dim, grid_dim;

void sync_block();
void sync_warp();
// Every live lane of the calling warp deposits `bits` and gets back lane `src`'s (its own when src
// is outside the warp): the one exchange behind all shuffles.
uint64_t warp_exchange(uint64_t bits, int src);

}  // namespace emu

#define threadIdx (::emu::current->tid)
#define blockIdx (::emu::block_idx)
#define blockDim (::emu::block_dim)
#define gridDim (::emu::grid_dim)
constexpr int warpSize = 32;

inline void __syncthreads() { ::emu::sync_block(); }
inline void __syncwarp(unsigned = 0xffffffffu) { ::emu::sync_warp(); }

namespace emu {
inline int lane_id() { return static_cast<int>((threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y) % 32); }
template <typename T>
T shuffle(T v, int src) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffles move at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = warp_exchange(bits, src);
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}
}  // namespace emu

template <typename T>
T __shfl_down_sync(unsigned, T v, unsigned delta) {
  return ::emu::shuffle(v, ::emu::lane_id() + static_cast<int>(delta));
}
template <typename T>
T __shfl_xor_sync(unsigned, T v, int mask) {
  return ::emu::shuffle(v, ::emu::lane_id() ^ mask);
}

namespace emu {
template <typename T>
struct same {
  using type = T;
};
}  // namespace emu

// Threads never run at the same time, so plain read-modify-writes are atomic here. The value
// converts to the pointee's type, as CUDA's overloads for int, unsigned and float do.
template <typename T>
T atomicAdd(T* p, typename emu::same<T>::type v) {
  const T old = *p;
  *p = old + v;
  return old;
}
template <typename T>
T atomicExch(T* p, typename emu::same<T>::type v) {
  const T old = *p;
  *p = v;
  return old;
}

inline unsigned __umulhi(unsigned a, unsigned b) { return static_cast<unsigned>((static_cast<uint64_t>(a) * b) >> 32); }
inline float __int_as_float(int i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}
inline int __float_as_int(float f) {
  int i;
  std::memcpy(&i, &f, 4);
  return i;
}
// Rounded, never contracted into an FMA (the emulator is built with -ffp-contract=off).
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fadd_rn(float a, float b) { return a + b; }

// CUDA's device min/max accept mixed integer and float arguments.
template <typename A, typename B>
inline typename std::common_type<A, B>::type min(A a, B b) {
  return b < a ? b : a;
}
template <typename A, typename B>
inline typename std::common_type<A, B>::type max(A a, B b) {
  return a < b ? b : a;
}

// ---- launches: name<<<grid, block, smem, stream>>>(args) is rewritten by the build to
// ::emu::Launch(grid, block, smem, stream).run(name, args) ------------------------------------
namespace emu {

void run_launch(dim3 grid, dim3 block, void (*body)(void*), void* arg);

struct Launch {
  dim3 grid, block;
  Launch(dim3 g, dim3 b, size_t = 0, cudaStream_t = nullptr) : grid(g), block(b) {}
  template <typename... P, typename... A>
  void run(void (*kernel)(P...), A&&... args) {
    struct Call {
      void (*k)(P...);
      std::tuple<typename std::decay<P>::type...> a;
    } call{kernel, std::tuple<typename std::decay<P>::type...>(static_cast<P>(args)...)};
    run_launch(grid, block, [](void* p) {
      auto* c = static_cast<Call*>(p);
      std::apply(c->k, c->a);
    }, &call);
  }
};

}  // namespace emu
